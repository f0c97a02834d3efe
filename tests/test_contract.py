"""Every command keeps one contract, whatever it is given: exit 0 on success, 1 for a finding, 2 for bad input with one
line naming it and nothing written, never a traceback, and no saved run touched. Driven by hypothesis with generated
argument lists, and with run and problem files made by mutating real ones."""

import copy
import hashlib
import json
import shlex
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from benchmarks.cli import main, parser
from benchmarks.model.problem_file import problem_to_json
from benchmarks.model.schema import kind_of
from implementations import seed_problem
from tests.helpers import JSON_VALUES, frozen_run, write

FUZZ = settings(
    deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def small_real_run() -> dict:
    """A run made of real saved records, few of them: two training loops and a probe of the frozen run with loops, two
    implementations at three sizes and a peak of the frozen sweep, under the loops' machine record."""
    loops, sweep = frozen_run("loops"), frozen_run("sweep")
    quickest_probe = min(
        (bench for bench in loops["benchmarks"] if kind_of(bench["extra_info"]) == "probe"),
        key=lambda bench: bench["stats"]["rounds"],
    )

    def kept(bench):
        extra, kind = bench["extra_info"], kind_of(bench["extra_info"])
        if kind == "sweep":
            return extra["implementation"] in ("numpy", "native") and (extra["n_hidden"], extra["batch"]) in (
                (3, 1),
                (8, 1),
                (3, 4),
            )
        if kind == "peak":
            return extra["library"] == "numpy"
        if kind == "probe":
            return bench is quickest_probe
        return extra["implementation"] in ("numpy", "python") and extra["dtype"] == "float64"

    return loops | {"benchmarks": [bench for run in (loops, sweep) for bench in run["benchmarks"] if kept(bench)]}


def one_of_each(run: dict) -> dict:
    """The run with one benchmark of each kind: a table of one row, a sweep of one size."""
    firsts = {}
    for bench in run["benchmarks"]:
        firsts.setdefault(kind_of(bench["extra_info"]), bench)
    return run | {"benchmarks": list(firsts.values())}


@cache
def runs_to_mutate() -> tuple[dict, dict]:
    """The small real run, and one of each kind of benchmark from it; saved as the newest, which `report` and `history`
    read without naming a run (made when first needed: a copy of the repository without results/ collects this file)."""
    real = small_real_run()
    return tuple(run | {"datetime": "2026-11-29T21:00:00"} for run in (real, one_of_each(real)))


SHORT_NOTEBOOK = json.loads(problem_to_json(seed_problem())) | {"epochs": 20}


def key_paths(value, path=()) -> list[tuple]:
    """Every key path into a JSON value; of a list, its first and last item stand for the rest."""
    paths = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += key_paths(item, (*path, key))
    elif isinstance(value, list):
        for index in sorted({0, len(value) - 1}) if value else ():
            paths += key_paths(value[index], (*path, index))
    return paths


def same_type(a, b) -> bool:
    """Whether two JSON values are of one JSON type (true is no number)."""

    def kind(value):
        if isinstance(value, bool):
            return "bool"
        return "number" if isinstance(value, int | float) else type(value).__name__

    return kind(a) == kind(b)


@st.composite
def mutations(draw, original: dict) -> tuple:
    """One mutation of a file: ("truncated", at), ("retyped", key path, a value of another JSON type), or ("dropped",
    key path)."""
    how = draw(st.sampled_from(["truncated", "retyped", "dropped"]))
    if how == "truncated":
        return how, draw(st.integers(0, len(json.dumps(original)) - 1))
    path = draw(st.sampled_from([path for path in key_paths(original) if path]))
    if how == "dropped":
        return how, path
    return how, path, draw(JSON_VALUES.filter(lambda value: not same_type(value, value_at(original, path))))


def value_at(data, path: tuple):
    """The value at a key path."""
    for key in path:
        data = data[key]
    return data


def mutated(original: dict, mutation: tuple) -> str:
    """The JSON text of the file after the mutation."""
    how, where, *value = mutation
    if how == "truncated":
        return json.dumps(original)[:where]
    data = copy.deepcopy(original)
    *parents, last = where
    if how == "dropped":
        del value_at(data, parents)[last]
    else:
        value_at(data, parents)[last] = value[0]
    return json.dumps(data)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A folder to run commands in: two saved real runs under results/ and a problem file."""
    real = runs_to_mutate()[0]
    write(tmp_path / "results" / "machine" / "0001_real.json", real | {"datetime": "2026-11-29T19:00:00"})
    write(tmp_path / "results" / "machine" / "0002_again.json", real | {"datetime": "2026-11-29T20:00:00"})
    write(tmp_path / "problem.json", SHORT_NOTEBOOK)
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under the folder, with a hash of its content."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def check_contract(argv: list[str], workspace: Path, capsys) -> int:
    """Run the command and check the contract; return its exit status."""
    runs_before = snapshot(workspace / "results")
    everything_before = snapshot(workspace)
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's usage errors, and --help
        status = exit.code
    captured = capsys.readouterr()
    # pytest --hypothesis-show-statistics: how often each was reached
    event(f"{argv[0] if argv else 'no command'}: exit {status}")
    assert status in (0, 1, 2), f"{argv}: exit status {status}\n{captured.err}"
    assert "Traceback" not in captured.out + captured.err, argv
    if status == 2:
        assert captured.err.count("\n") == 1 and captured.err.startswith("backprop-bench"), f"{argv}: {captured.err}"
        # the line names what it refuses: an option or file of the command line, or the default results folder
        named = [token.split("=")[0] for token in argv if token.startswith("-")] + [
            token for token in argv if not token.startswith("-")
        ]
        assert any(
            token and token in captured.err or shlex.quote(token) in captured.err for token in [*named, "results"]
        ), f"{argv}: {captured.err}"
        assert snapshot(workspace) == everything_before, f"{argv} wrote files although it refused its input"
    new_runs = {name: digest for name, digest in snapshot(workspace / "results").items() if name.endswith(".json")}
    assert new_runs == {name: digest for name, digest in runs_before.items() if name.endswith(".json")}, (
        f"{argv} touched a saved run"
    )
    return status


RUN_COMMANDS = {
    "report": lambda run: ["report", run, "--out", "out/report"],
    "report of the newest": lambda run: ["report"],
    "report side by side": lambda run: ["report", "results/machine/0001_real.json", run, "--out", "out/both"],
    "compare": lambda run: ["compare", "results/machine/0001_real.json", run],
    "compare as base, gated": lambda run: ["compare", run, "results/machine/0001_real.json", "--fail-above", "10"],
    "history": lambda run: ["history", "--out", "out/history.html"],
    "calibrate": lambda run: ["calibrate", "results/machine/0001_real.json", run],
}


@pytest.mark.slow  # a report of each mutated run takes about a second: the full suite's fuzz, not the quick tier's
@settings(FUZZ, max_examples=30)
@given(data=st.data(), index=st.sampled_from([0, 1]), command=st.sampled_from(list(RUN_COMMANDS)))
def test_every_command_keeps_the_contract_on_mutated_runs(workspace, capsys, data, index, command):
    original = runs_to_mutate()[index]
    mutation = data.draw(mutations(original), label="mutation")
    run = write(workspace / "results" / "machine" / "0003_mutated.json", mutated(original, mutation))
    check_contract(RUN_COMMANDS[command](str(run.relative_to(workspace))), workspace, capsys)


@settings(FUZZ, max_examples=25)
@given(mutation=mutations(SHORT_NOTEBOOK))
def test_parity_keeps_the_contract_on_mutated_problems(workspace, capsys, mutation):
    problem = write(workspace / "mutated.json", mutated(SHORT_NOTEBOOK, mutation))
    check_contract(
        ["parity", "--problem", str(problem.name), "--implementations", "numpy,python", "--out", "out/parity"],
        workspace,
        capsys,
    )


def command_options() -> dict[str, dict[str, bool]]:
    """Per command, its options and whether each takes a value, read from the parser itself."""
    (commands,) = [action for action in parser()._actions if action.choices]
    return {
        name: {
            option: action.nargs != 0
            for action in command._actions
            for option in action.option_strings
            if option not in ("-h", "--help")
        }
        for name, command in commands.choices.items()
    }


OPTIONS = command_options()
VALUES = [
    "0",
    "-1",
    "1",
    "0.5",
    "10",
    "10%",
    "1e309",
    "nan",
    "inf",
    "-inf",
    "abc",
    "",
    "off",
    "5,10",
    "5,5",
    "0,10",
    "float32",
    "float16",
    "numpy,python",
    "python",
    "numpy",
    "numpy,numpy",
    "nosuch",
    ",",
    "results",
    "results/machine/0001_real.json",
    "results/machine/0002_again.json",
    "problem.json",
    "missing.json",
    "out/new",
    "out/page.html",
    "problem.json/below",
    "out",
]
# parity trains what it is given: the fast implementations only, named every time (without, it trains every framework)
IMPLEMENTATIONS = ["numpy,python", "python", "numpy", "numpy,numpy", "nosuch", "", ","]
POSITIONALS = {
    "report": 2,
    "compare": 3,
    "history": 2,
    "calibrate": 3,
    "list": 0,
    "parity": 0,
    "upgrade": 2,
    "index": 0,
}


def test_every_command_is_in_the_fuzzing():
    assert set(POSITIONALS) == set(OPTIONS)  # a new command names how many positional arguments to draw for it


@st.composite
def argument_lists(draw) -> list[str]:
    """A command, positional arguments drawn from files and junk, and options of that command with good and bad
    values."""
    command = draw(st.sampled_from(list(OPTIONS)))
    argv = [command, *draw(st.lists(st.sampled_from(VALUES), max_size=POSITIONALS[command]))]
    for option in draw(st.lists(st.sampled_from(list(OPTIONS[command])), max_size=3)):
        argv += [option, draw(st.sampled_from(VALUES))] if OPTIONS[command][option] else [option]
    if command == "parity":
        argv += ["--implementations", draw(st.sampled_from(IMPLEMENTATIONS))]
    return argv


@settings(FUZZ, max_examples=60)
@given(argv=argument_lists())
def test_every_command_keeps_the_contract_on_generated_arguments(workspace, capsys, argv):
    check_contract(argv, workspace, capsys)
