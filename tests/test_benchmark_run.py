"""`pytest --benchmark-only` as a user runs it: only the benchmarks, a new saved run each time, and a report of it."""

import json
import os
import re
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.timed.bench_overheads import PROBES
from implementations import available
from implementations.registry import requirement_names
from tests.helpers import output_of, run_pytest

pytestmark = pytest.mark.slow


def benchmark_run(storage: Path):
    """Run the benchmarks in a fresh process, briefly, saving into `storage`."""
    return run_pytest("--benchmark-only", f"--benchmark-storage=file://{storage}", "--benchmark-min-rounds=2",
                      "--benchmark-max-time=0.02", env=os.environ | {"PYTHONHASHSEED": "0"})


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two benchmark runs into the same storage, and the files each left."""
    storage = tmp_path_factory.mktemp("results")
    first = benchmark_run(storage)
    after_first = {path: path.read_bytes() for path in storage.rglob("*.json")}
    second = benchmark_run(storage)
    return storage, first, after_first, second


def test_benchmark_only_runs_every_available_benchmark_and_nothing_else(two_runs):
    _, first, _, _ = two_runs
    assert first.returncode == 0, output_of(first)
    summary = first.stdout.strip().splitlines()[-1]
    expected = 2 * len(available()) + len(PROBES)  # every loop in float64 and float32, and the probes
    assert re.search(rf"\b{expected} passed", summary), summary
    assert re.search(r"\d+ deselected", summary), summary  # the tests were collected but not run
    assert "skipped" not in summary and "failed" not in summary, summary


def test_each_run_is_saved_as_a_new_file_and_earlier_runs_stay_untouched(two_runs):
    storage, _, after_first, second = two_runs
    assert second.returncode == 0, output_of(second)
    saved = sorted(storage.rglob("*.json"))
    assert len(after_first) == 1 and len(saved) == 2
    for path, content in after_first.items():
        assert path.read_bytes() == content
    run = json.loads(saved[-1].read_text())
    run["benchmarks"] = [bench for bench in run["benchmarks"] if "implementation" in bench["extra_info"]]
    assert {bench["extra_info"]["implementation"] for bench in run["benchmarks"]} == set(available())
    for bench in run["benchmarks"]:
        assert len(bench["stats"]["data"]) == bench["stats"]["rounds"] >= 2  # raw samples kept for statistics
        assert len(bench["extra_info"]["loss_history"]) == bench["extra_info"]["epochs"] == 1000
    jax = next(bench for bench in run["benchmarks"] if bench["extra_info"]["implementation"] == "jax")
    # compilation happened once, before the timed rounds, and costs more than one steady-state loop
    assert jax["extra_info"]["compiled"] and jax["extra_info"]["compile_s"] > 0
    assert run["machine_info"]["process_mode"] == "shared"
    every_framework = sorted(requirement_names(available()))
    for bench in run["benchmarks"]:  # shared mode: every framework loaded in the one process
        assert bench["extra_info"]["frameworks_loaded"] == every_framework
        assert bench["extra_info"]["threads"]["torch_intra_op"] == 1
    assert {bench["extra_info"]["pid"] for bench in run["benchmarks"]} == {run["benchmarks"][0]["extra_info"]["pid"]}


def test_report_of_the_newest_run_writes_a_table_and_figures(two_runs, tmp_path, capsys):
    storage, *_ = two_runs
    assert main(["report", "--results", str(storage), "--out", str(tmp_path)]) == 0
    newest = sorted(storage.rglob("*.json"))[-1]
    assert str(newest) in capsys.readouterr().out
    markdown = (tmp_path / "report.md").read_text()
    for name in available():
        assert re.search(rf"^\| `{name}` \| [\d.]+ [mµ]?s \|", markdown, re.MULTILINE), name
    for figure in re.findall(r"!\[[^]]*\]\(([^)]+)\)", markdown):
        assert (tmp_path / figure).read_bytes().startswith(b"\x89PNG")
    assert len(re.findall(r"!\[", markdown)) == 4  # time and loss figures for float64 and float32
    probes = markdown.split("## Where the time goes")[1]
    for probe, (framework, unit, _) in PROBES.items():
        assert re.search(rf"^\| {framework} \| {re.escape(probe)} \| [\d.]+ [mµn]?s {unit} \|", probes, re.MULTILINE), probe
