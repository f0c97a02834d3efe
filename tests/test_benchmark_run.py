"""`pytest --benchmark-only` as a user runs it: only the benchmarks, a new saved run each time, and a report of it."""

import json
import os
import re
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.timed.bench_overheads import PROBES
from implementations import available
from implementations.registry import REGISTRY, requirement_names, runs_here
from tests.helpers import output_of, run_pytest, short_notebook_problem

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("two-benchmark-runs")]  # one worker makes the runs for all


EPOCHS = 20


def benchmark_run(storage: Path, problem: Path, *selection: str):
    """Run the benchmarks (all, or the selected ones) in a fresh process, briefly, on a short problem, saving into
    `storage`."""
    return run_pytest(
        *selection,
        "--benchmark-only",
        f"--benchmark-storage=file://{storage}",
        "--budget=0.02",
        f"--problem={problem}",
        env=os.environ | {"PYTHONHASHSEED": "0"},
    )


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two benchmark runs into the same storage, one benchmark then every one, and the files the first left."""
    storage = tmp_path_factory.mktemp("results")
    problem = short_notebook_problem(tmp_path_factory.mktemp("problem") / "short.json", EPOCHS)
    # the earlier run: one benchmark in a process of its own (a shared process would load every framework for it)
    first = benchmark_run(
        storage, problem, "benchmarks/timed/bench_training.py::test_training_loop[numpy-float64]", "--isolate"
    )
    after_first = {path: path.read_bytes() for path in storage.rglob("*.json")}
    second = benchmark_run(storage, problem)
    return storage, first, after_first, second


def test_benchmark_only_runs_every_available_benchmark_and_nothing_else(two_runs):
    _, _, _, second = two_runs
    assert second.returncode == 0, output_of(second)
    summary = second.stdout.strip().splitlines()[-1]
    expected = len(available()) + len(PROBES)  # every loop in the problem's dtype, and the probes
    assert re.search(rf"\b{expected} passed", summary), summary
    assert re.search(r"\d+ deselected", summary), summary  # the tests were collected but not run
    missing = len(REGISTRY) - len(available())  # each unavailable loop is skipped with its reason (what to install)
    assert "failed" not in summary and (f" {missing} skipped" in summary if missing else "skipped" not in summary), (
        summary
    )


# kept from now on (the README's "Benchmark names"): a renamed benchmark no longer pairs with the saved runs before it
PROBE_NAMES = [
    "numpy-exp-of-3-numbers",
    "torch-forward-loss-recording",
    "torch-forward-loss-no-grad",
    "torch-forward-loss-autograd-grad",
    "jax-compiled-step-call",
    *(
        f"jax-scan-{dtype}-{history}-history-lr-{lr}"
        for dtype in ("float64", "float32")
        for history in ("with", "no")
        for lr in ("compiled", "argument")
    ),
]


def test_benchmarks_keep_their_names(two_runs):
    storage, _, _, second = two_runs
    assert second.returncode == 0, output_of(second)
    run = json.loads(sorted(storage.rglob("*.json"))[-1].read_text())
    assert [bench["name"] for bench in run["benchmarks"]] == (
        [f"test_where_the_time_goes[{probe}]" for probe in PROBE_NAMES]
        + [f"test_training_loop[{name}-float64]" for name in available()]
    )


def test_each_run_is_saved_as_a_new_file_and_earlier_runs_stay_untouched(two_runs):
    storage, first, after_first, second = two_runs
    assert first.returncode == 0 and second.returncode == 0, output_of(first) + output_of(second)
    saved = sorted(storage.rglob("*.json"))
    assert len(after_first) == 1 and len(saved) == 2
    for path, content in after_first.items():
        assert path.read_bytes() == content
    run = json.loads(saved[-1].read_text())
    run["benchmarks"] = [bench for bench in run["benchmarks"] if "implementation" in bench["extra_info"]]
    assert {bench["extra_info"]["implementation"] for bench in run["benchmarks"]} == set(available())
    assert run["machine_info"]["budget"]["name"] == "default" and run["machine_info"]["budget"]["seconds"] == 0.02
    # how long the session took, as pytest counts it (from a little earlier, at configure, to the save); its estimate
    pytest_seconds = float(re.findall(r" in ([\d.]+)s", second.stdout)[-1])
    assert 0.8 * pytest_seconds - 1 < run["machine_info"]["session_seconds"] < pytest_seconds + 5, pytest_seconds
    assert run["machine_info"]["expected_seconds"] > 0
    for bench in run["benchmarks"]:
        info = bench["extra_info"]
        assert len(bench["stats"]["data"]) == bench["stats"]["rounds"] >= 2  # raw samples kept for statistics
        if info["timing"] == "projected":  # timed at shorter lengths: its loss history is its longest run's
            assert len(info["loss_history"]) == max(info["projection"]["epochs"]) < info["epochs"] == EPOCHS
        else:
            assert info["timing"] == "measured" and len(info["loss_history"]) == info["epochs"] == EPOCHS
            assert bench["stats"]["rounds"] >= 10  # the default budget's fewest samples
        assert info["pilot_epochs"] == 10 and info["first_call_extra_s"] >= 0
    timings = {bench["extra_info"]["implementation"]: bench["extra_info"]["timing"] for bench in run["benchmarks"]}
    # decided per benchmark from its first call: a 20-epoch loop of eager tinygrad takes more than a tenth of the 0.1 s
    # a loop of this budget may spend on its 10 calls at full length, NumPy's far less
    assert timings["numpy"] == "measured" and timings.get("tinygrad", "projected") == "projected"
    jax = next(bench for bench in run["benchmarks"] if bench["extra_info"]["implementation"] == "jax")
    # compilation happened once, before the timed rounds, and costs more than one steady-state loop
    assert jax["extra_info"]["compiled"] and jax["extra_info"]["compile_s"] > 0
    assert run["machine_info"]["process_mode"] == "shared"
    shared = [name for name in available() if runs_here(name)]
    pids = {bench["extra_info"]["implementation"]: bench["extra_info"]["pid"] for bench in run["benchmarks"]}
    loaded = {
        bench["extra_info"]["implementation"]: bench["extra_info"]["frameworks_loaded"] for bench in run["benchmarks"]
    }
    for bench in run["benchmarks"]:
        info = bench["extra_info"]
        if (
            info["implementation"] in shared
        ):  # shared mode: every framework loaded in the one process (TensorFlow brings Keras)
            assert (
                set(info["frameworks_loaded"]) >= set(requirement_names(shared))
                and info["frameworks_loaded"] == loaded["numpy"]
            )
            assert info["pid"] == pids["numpy"]
            assert info["threads"]["torch_intra_op"] == 1
        else:  # one that needs its own environment (Keras's backend) ran in a child process started with it
            assert (
                set(requirement_names([info["implementation"]])) <= set(info["frameworks_loaded"])
                and info["pid"] != pids["numpy"]
            )


def test_the_run_says_how_far_it_has_got_and_where_it_saved(two_runs):
    storage, _, _, second = two_runs
    total = len(available()) + len(PROBES)
    expected = (
        rf"^backprop-bench: {total} benchmarks, default budget, shared processes: expected about \d+:\d\d on "
        r"this machine \("
    )
    assert re.search(expected, second.stdout, re.MULTILINE), second.stdout
    step = (
        rf"^\[(\d+)/{total}\] (test_\w+\[[\w-]+\])( \(in a process with KERAS_BACKEND=\w+\))? · (\d+):(\d\d) "
        r"elapsed · about \d+:\d\d left$"
    )
    steps = re.findall(step, second.stdout, re.MULTILINE)
    assert [int(step[0]) for step in steps] == list(range(1, total + 1))  # every benchmark, in order, once
    assert all(bool(environment) == ("keras" in name) for _, name, environment, *_ in steps)
    saved = sorted(storage.rglob("*.json"))[-1]
    assert second.stdout.count(f"saved {saved}; report it with: backprop-bench report {saved}") == 1


def test_report_of_the_newest_run_writes_a_table_and_figures(two_runs, tmp_path, capsys):
    storage, *_ = two_runs
    assert main(["report", "--results", str(storage), "--out", str(tmp_path)]) == 0
    newest = sorted(storage.rglob("*.json"))[-1]
    assert str(newest) in capsys.readouterr().out
    markdown = (tmp_path / "report.md").read_text()
    for name in available():
        assert re.search(
            rf"^\| `{name}` \| [\d.]+ [mµ]?s( \(projected\))? \| [\d.]+, [\d.]+ [mµ]?s \(\d+\.\d%",
            markdown,
            re.MULTILINE,
        ), name
    assert "(projected)" in markdown and "### Timed per epoch" in markdown
    for figure in re.findall(r"!\[[^]]*\]\(([^)]+)\)", markdown):
        assert (tmp_path / figure).read_bytes().startswith(b"\x89PNG")
    assert len(re.findall(r"!\[", markdown)) == 2  # time and loss figures for the problem's one dtype
    probes = markdown.split("## Where the time goes")[1]
    for framework, unit, description, _ in PROBES.values():
        assert re.search(
            rf"^\| {framework} \| {re.escape(description)} \| [\d.]+ [mµn]?s {unit} \|", probes, re.MULTILINE
        ), description
