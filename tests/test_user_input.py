"""Bad input from a user: each gets one line naming the file and the problem, exit status 2, and loses nothing."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.cli import main
from benchmarks.model import problem_file
from benchmarks.model.problem_file import ProblemFileError, load_problem, problem_to_json
from implementations import seed_problem
from implementations.registry import REGISTRY
from tests.helpers import JSON_VALUES, ROOT, one_line_error, saved_run, write

NOTEBOOK = json.loads(problem_to_json(seed_problem()))


BAD_PROBLEMS = {
    "not JSON": ('{"inputs": [0.5, 0.9', "not valid JSON (Expecting ',' delimiter at line 1"),
    "not an object": ("[1, 2, 3]", "expected an object with the fields inputs, targets"),
    "missing a field": ({k: v for k, v in NOTEBOOK.items() if k != "weights_output"}, "missing field weights_output"),
    "unknown field": (NOTEBOOK | {"weight_hidden": [[1.0]]}, "unknown field weight_hidden"),
    "shapes do not chain": (
        NOTEBOOK | {"weights_output": [[-3.0, 0.0], [1.0, 1.0], [-3.0, 2.0]]},
        "weights_output has shape (3, 2) but must be (n_out, n_hidden)",
    ),
    "NaN": (NOTEBOOK | {"inputs": [0.5, math.nan, -0.3]}, "inputs must be finite, but inputs[1] is nan"),
    "infinite": (NOTEBOOK | {"targets": [math.inf, 0.3]}, "targets must be finite, but targets[0] is inf"),
    "zero learning rate": (NOTEBOOK | {"learning_rate": 0}, "learning_rate must be a finite number > 0, got 0"),
    "negative learning rate": (
        NOTEBOOK | {"learning_rate": -0.1},
        "learning_rate must be a finite number > 0, got -0.1",
    ),
    "zero epochs": (NOTEBOOK | {"epochs": 0}, "epochs must be an integer >= 1, got 0"),
    "fractional epochs": (NOTEBOOK | {"epochs": 2.5}, "epochs must be an integer >= 1, got 2.5"),
    "unknown dtype": (NOTEBOOK | {"dtype": "float16"}, "dtype must be one of float64, float32, got 'float16'"),
    "absurd epochs": (NOTEBOOK | {"epochs": 10**12}, "epochs must be at most 10,000,000"),
    "true is no number": (NOTEBOOK | {"learning_rate": True}, "learning_rate must be a number, got bool True"),
    "a string is no number": (NOTEBOOK | {"learning_rate": "0.1"}, "learning_rate must be a number, got str '0.1'"),
    "a string in an array": (NOTEBOOK | {"inputs": [0.5, "0.9", -0.3]}, "inputs[1] must be a number, got str '0.9'"),
    "false in a matrix": (
        NOTEBOOK | {"weights_output": [[-3.0, False, 1.0], [1.0, 1.0, 1.0]]},
        "weights_output[0][1] must be a number, got bool False",
    ),
    "empty": ("", "not valid JSON (Expecting value at line 1"),
}


@pytest.mark.parametrize("case", BAD_PROBLEMS)
def test_a_bad_problem_file_is_one_line_exit_2(tmp_path, capsys, case):
    content, message = BAD_PROBLEMS[case]
    path = write(tmp_path / "problem.json", content)
    assert main(["parity", "--problem", str(path), "--out", str(tmp_path / "out")]) == 2
    assert message in one_line_error(capsys, "parity", path)
    assert not (tmp_path / "out").exists()  # nothing was trained or written


def test_a_missing_problem_file(tmp_path, capsys):
    path = tmp_path / "nowhere.json"
    assert main(["parity", "--problem", str(path)]) == 2
    assert one_line_error(capsys, "parity", path).endswith("no such file\n")


def test_an_absurdly_large_problem_is_refused_before_it_is_built(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(problem_file, "MAX_NUMBERS", 1000)
    path = write(tmp_path / "big.json", NOTEBOOK | {"inputs": [[0.1, 0.2, 0.3]] * 400, "targets": [[0.5, 0.5]] * 400})
    assert main(["parity", "--problem", str(path)]) == 2
    assert "the problem holds 2,015 numbers; at most 1,000" in one_line_error(capsys, "parity", path)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["parity", "--implementations", "numpy,no-such-framework"],
            "argument --implementations: unknown implementation 'no-such-framework'; expected names from: "
            f"{', '.join(REGISTRY)}",
        ),
        (
            ["parity", "--implementations", "numpy,python,numpy"],
            "argument --implementations: 'numpy' is named twice; expected each implementation once",
        ),
        (["parity", "--tolerance", "nan"], "argument --tolerance: expected a finite number > 0, got 'nan'"),
        (["parity", "--tolerance", "inf"], "argument --tolerance: expected a finite number > 0, got 'inf'"),
        (["parity", "--tolerance", "-1"], "argument --tolerance: expected a finite number > 0, got '-1'"),
        (["parity", "--out", "README.md"], "argument --out: expected a folder, but 'README.md' is a file"),
        (["report", "--out", "README.md"], "argument --out: expected a folder, but 'README.md' is a file"),
        (
            ["report", "--out", "README.md/report"],
            f"argument --out: expected a folder that can be created, but {ROOT / 'README.md'} is a file",
        ),
        (["history", "--out", "tests"], "argument --out: expected a file to write, but 'tests' is a folder"),
        # tried, not asked: as root os.access says yes to /proc, where nothing can be created
        (
            ["parity", "--out", "/proc/parity"],
            "argument --out: expected a folder that can be created, but writing in /proc fails: No such file or "
            "directory",
        ),
        (
            ["report", "--out", "/proc/report"],
            "argument --out: expected a folder that can be created, but writing in /proc fails: No such file or "
            "directory",
        ),
        (
            ["history", "--out", "/proc/history.html"],
            "argument --out: expected a file that can be created, but writing in /proc fails: No such file or "
            "directory",
        ),
        (
            ["compare", "a.json", "b.json", "--alpha", "1"],
            "argument --alpha: expected a significance level between 0 and 1, such as 0.002, got '1'",
        ),
        (
            ["compare", "a.json", "b.json", "--min-change", "nan%"],
            "argument --min-change: expected a percentage such as 10 or 10%, got 'nan'",
        ),
        (
            ["calibrate", "a.json", "--slowdowns", "5,5"],
            "argument --slowdowns: expected distinct percentages above 0 such as 5,10,20, got '5,5'",
        ),
    ],
)
def test_a_bad_option_is_refused_by_its_parser_in_one_line(capsys, monkeypatch, argv, message):
    monkeypatch.chdir(ROOT)
    before = [*ROOT.iterdir(), *(ROOT / "results").rglob("*")]
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    assert (
        capsys.readouterr().err == f"backprop-bench {argv[0]}: error: {message} (see backprop-bench {argv[0]} --help)\n"
    )
    assert [*ROOT.iterdir(), *(ROOT / "results").rglob("*")] == before


@pytest.mark.parametrize(
    "argv",
    [["history", "--out"], ["report", "--out"], ["parity", "--out"], ["index", "--readme"], ["history", "--results"]],
)
def test_an_output_path_in_a_symlink_loop_is_refused_in_one_line(tmp_path, capsys, argv):
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "back")
    (tmp_path / "back").symlink_to(loop)
    with pytest.raises(SystemExit) as exit:
        main([*argv, str(loop)])
    assert exit.value.code == 2
    assert capsys.readouterr().err.startswith(
        f"backprop-bench {argv[0]}: error: argument {argv[1]}: '{loop}' cannot be used as a path"
    )
    assert sorted(tmp_path.iterdir()) == [tmp_path / "back", loop]


def test_numpy_alone_has_nothing_to_be_compared_with(capsys):
    assert main(["parity", "--implementations", "numpy"]) == 2
    assert capsys.readouterr().err == (
        "backprop-bench parity: error: --implementations: numpy alone has nothing to be compared with; name two or "
        "more, or one other, which is compared with numpy\n"
    )


def test_one_implementation_is_compared_with_numpy(tmp_path, capsys):
    assert main(["parity", "--implementations", "python", "--out", str(tmp_path / "parity")]) == 0
    assert "1 pair of 2 implementations" in capsys.readouterr().out
    assert "| `numpy` – `python` |" in (tmp_path / "parity" / "parity.md").read_text()


@pytest.mark.parametrize("command", ["report", "compare", "history", "calibrate"])
def test_a_run_whose_benchmarks_are_strings_is_refused_naming_the_key_path(tmp_path, capsys, command):
    path = write(
        tmp_path / "run.json", saved_run({"numpy": 0.01}) | {"benchmarks": ["test_training_loop[numpy-float64]"]}
    )
    argv = {
        "report": [str(path), "--out", str(tmp_path / "report")],
        "compare": [str(path), str(path)],
        "history": [str(path), "--out", str(tmp_path / "history.html")],
        "calibrate": [str(path), str(path)],
    }[command]
    assert main([command, *argv]) == 2
    assert one_line_error(capsys, command, path) == (
        f"backprop-bench {command}: error: {path}: benchmarks[0]: expected an object, got str "
        "'test_training_loop[numpy-float64]'\n"
    )
    assert sorted(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("command", ["report", "history", "calibrate"])
def test_a_run_named_twice_is_refused_and_copies_in_two_folders_are_told_apart(tmp_path, capsys, command):
    # found by the contract's generated arguments: `report RUN RUN` labelled both columns alike and ended in a
    # ValueError (exit 3)
    run = write(tmp_path / "a" / "0001_run.json", saved_run({"numpy": 0.01}))
    out = {
        "report": ["--out", str(tmp_path / "out")],
        "history": ["--out", str(tmp_path / "history.html")],
        "calibrate": [],
    }[command]
    assert main([command, str(run), str(tmp_path / "a" / ".." / "a" / "0001_run.json"), *out]) == 2
    assert one_line_error(capsys, command, tmp_path / "a" / ".." / "a" / "0001_run.json").endswith(
        ": given twice; expected each run once\n"
    )
    assert sorted(tmp_path.iterdir()) == [tmp_path / "a"]
    copy = write(tmp_path / "b" / "0001_run.json", run.read_text())
    assert main([command, str(run), str(copy), *out]) in (0, 1)  # calibrate: 1 when a pair is a false alarm
    if command == "report":
        markdown = (tmp_path / "out" / "report.md").read_text()
        assert (
            f"| implementation | {run} | {copy} |" in markdown
            and "What differs between the runs: nothing recorded but the file." in markdown
        )


@pytest.mark.parametrize("named", [True, False])
def test_the_history_page_never_overwrites_a_saved_run(tmp_path, capsys, named):
    # found by the contract's generated arguments: `history --out results/machine/0001_real.json` wrote the page over
    # the run
    run = write(tmp_path / "results" / "machine" / "0001_run.json", saved_run({"numpy": 0.01}))
    before = run.read_bytes()
    assert main(["history", *[str(run)] * named, "--results", str(tmp_path / "results"), "--out", str(run)]) == 2
    assert one_line_error(capsys, "history", run).endswith(
        "a saved run, which the page would overwrite; expected the HTML file to write (--out)\n"
    )
    assert run.read_bytes() == before and sorted(tmp_path.rglob("*.*")) == [run]


def test_a_run_path_below_a_file_is_bad_input_not_a_bug(tmp_path, capsys):
    # found by the contract's generated arguments: `report problem.json/below` ended in NotADirectoryError (exit 3)
    below = write(tmp_path / "problem.json", "{}") / "below"
    assert main(["report", str(below), "--out", str(tmp_path / "report")]) == 2
    assert "cannot be read" in one_line_error(capsys, "report", below)


def test_a_problem_path_below_a_file_is_bad_input_not_a_bug(tmp_path, capsys):
    # found by the contract's generated arguments: `parity --problem problem.json/below` ended in NotADirectoryError
    # (exit 3)
    below = write(tmp_path / "problem.json", "{}") / "below"
    assert main(["parity", "--problem", str(below), "--implementations", "numpy", "--out", str(tmp_path / "out")]) == 2
    assert one_line_error(capsys, "parity", below).endswith("cannot be read (Not a directory)\n")
    assert not (tmp_path / "report").exists()


def test_ctrl_c_is_one_line_and_exit_130(tmp_path, capsys, monkeypatch):
    def interrupted(runs, out_dir):
        raise KeyboardInterrupt

    monkeypatch.setattr("benchmarks.presentation.report.write_report", interrupted)
    assert (
        main(["report", str(write(tmp_path / "run.json", saved_run({"numpy": 0.01}))), "--out", str(tmp_path / "out")])
        == 130
    )
    assert capsys.readouterr().err == "backprop-bench report: interrupted\n"


def test_output_cut_short_by_its_reader_is_exit_141_without_a_traceback():
    unread, writer = os.pipe()
    os.close(unread)  # the reader has gone before anything is written, as `| head -1` is after its line
    try:
        ended = subprocess.run(
            [sys.executable, "-m", "benchmarks.cli", "list"],
            cwd=ROOT,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(writer)
    assert (ended.returncode, ended.stderr) == (141, "")


def test_a_bug_is_one_line_naming_the_saved_traceback(tmp_path, capsys, monkeypatch):
    def broken(run):
        raise KeyError("median")

    monkeypatch.setattr("benchmarks.presentation.report.write_report", lambda runs, out_dir: broken(runs))
    run = write(tmp_path / "run.json", saved_run({"numpy": 0.01}))
    assert main(["report", str(run), "--out", str(tmp_path / "out")]) == 3
    message = capsys.readouterr().err
    assert message.count("\n") == 1 and message.startswith(
        "backprop-bench report: internal error (KeyError: 'median'), a bug: the traceback is in "
    )
    saved = Path(message.split("the traceback is in ")[1].split(";")[0])
    assert 'raise KeyError("median")' in saved.read_text() and message.endswith("; --debug shows it instead\n")
    saved.unlink()
    with pytest.raises(KeyError, match="median"):  # --debug: the exception itself, with its traceback
        main(["report", "--debug", str(run), "--out", str(tmp_path / "out")])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ('{"machine_info": {}, "bench', "truncated?"),
        ('{"data": [1, 2]}', "not a pytest-benchmark run"),
    ],
)
def test_a_bad_results_file_is_one_line_exit_2_and_left_alone(tmp_path, capsys, content, message):
    path = write(tmp_path / "run.json", content)
    assert main(["report", str(path), "--out", str(tmp_path / "report")]) == 2
    assert message in one_line_error(capsys, "report", path)
    assert path.read_text() == content and not (tmp_path / "report").exists()


def test_a_toml_problem_file_works_like_json(tmp_path):
    toml = "\n".join(f"{key} = {json.dumps(value)}" for key, value in NOTEBOOK.items())
    problem = load_problem(write(tmp_path / "problem.toml", toml))
    assert problem.sizes == seed_problem().sizes and problem.epochs == 1000


# any JSON value where a field should be: loading either gives a valid Problem or a ProblemFileError, nothing else
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.dictionaries(st.sampled_from([*NOTEBOOK, "extra"]), JSON_VALUES, min_size=1, max_size=3),
    dropped=st.sets(st.sampled_from(list(NOTEBOOK)), max_size=2),
)
def test_malformed_problems_never_escape_as_anything_but_a_clear_error(tmp_path, changes, dropped):
    data = {key: value for key, value in (NOTEBOOK | changes).items() if key not in dropped}
    path = write(tmp_path / "fuzzed.json", json.dumps(data))
    problem, refusal = load_or_refusal(path)
    if refusal is None:
        assert problem.epochs >= 1
        assert problem.learning_rate > 0
    else:
        assert refusal.startswith(f"{path}: ")
        assert "\n" not in refusal


def load_or_refusal(path):
    """The problem in a file and None, or None and the message that refused it."""
    try:
        return load_problem(path), None
    except ProblemFileError as error:
        return None, str(error)
