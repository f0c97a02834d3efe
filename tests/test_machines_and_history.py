"""Numbers that survive a second machine and a second day: fingerprints, replicate processes, report.csv, the history
page."""

import csv
import json
import os
import re
import subprocess
import sys

import cpuinfo
import pytest

from benchmarks.cli import main
from benchmarks.model.history import history_table
from benchmarks.model.machines import SPEED_FLAGS, fingerprint_id
from benchmarks.model.runs import load_run
from benchmarks.plugin.fingerprint import machine_fingerprint
from tests.helpers import (
    MACHINE_INFO,
    NEEDS_CHROMIUM,
    ROOT,
    fingerprint,
    output_of,
    rendered_dom,
    run_pytest,
    saved_run,
    short_notebook_problem,
    write,
)


def test_the_fingerprint_reads_the_same_cpu_as_py_cpuinfo():
    recorded = machine_fingerprint([{"library": "openblas", "architecture": "Haswell"}])
    other = cpuinfo.get_cpu_info()  # the library pytest-benchmark uses, reading the CPU its own way
    if "family" in other:
        assert (recorded["family"], recorded["model"], recorded["stepping"]) == (
            other["family"],
            other["model"],
            other["stepping"],
        )
        assert recorded["vendor"] == other["vendor_id_raw"]
    assert recorded["isa"] == [flag for flag in SPEED_FLAGS if flag in other.get("flags", [])]
    assert recorded["logical_cpus"] == os.cpu_count() and recorded["blas_kernel"] == "openblas Haswell"
    assert (
        recorded["id"]
        == fingerprint_id(recorded)
        == machine_fingerprint([{"library": "openblas", "architecture": "Haswell"}])["id"]
    )
    # the BLAS kernel counts
    assert recorded["id"] != machine_fingerprint([{"library": "openblas", "architecture": "Zen"}])["id"]
    assert re.fullmatch(r"[0-9a-f]{8}", recorded["id"])


@pytest.mark.slow
def test_replicates_run_every_benchmark_in_fresh_processes_in_shuffled_orders(tmp_path):
    problem = short_notebook_problem(tmp_path / "short.json")
    nodes = [f"benchmarks/timed/bench_training.py::test_training_loop[{name}-float64]" for name in ("numpy", "native")]
    done = run_pytest(
        *nodes,
        "--benchmark-only",
        "--replicates=3",
        f"--problem={problem}",
        "--budget=0.02",
        f"--benchmark-storage=file://{tmp_path / 'results'}",
    )
    assert done.returncode == 0, output_of(done)
    # the progress line: each benchmark of each replicate, n of N
    assert re.search(
        r"^\[6/6\] test_training_loop\[(numpy|native)-float64\] \(replicate 3/3\) · \d+:\d\d elapsed · about \d+:\d\d "
        r"left$",
        done.stdout,
        re.MULTILINE,
    ), done.stdout
    (path,) = (tmp_path / "results").rglob("*.json")
    saved = json.loads(path.read_text())
    info = saved["machine_info"]
    assert info["process_mode"] == "replicated" and info["replicates"]["count"] == 3
    names = ["test_training_loop[numpy-float64]", "test_training_loop[native-float64]"]
    # each replicate runs the whole selection
    assert all(sorted(order) == sorted(names) for order in info["replicates"]["orders"])
    assert info["fingerprint"]["id"] == fingerprint_id(info["fingerprint"])
    pids = set()
    for bench in saved["benchmarks"]:
        replicates = bench["extra_info"]["replicates"]
        assert len(replicates) == 3 and len({entry["pid"] for entry in replicates}) == 3
        # the saved run stays an ordinary pytest-benchmark run: its samples are the replicates' pooled
        assert bench["stats"]["rounds"] == len(bench["stats"]["data"]) == sum(entry["rounds"] for entry in replicates)
        assert (
            min(entry["median"] for entry in replicates)
            <= bench["stats"]["median"]
            <= max(entry["median"] for entry in replicates)
        )
        pids |= {entry["pid"] for entry in replicates}
    assert len(pids) == 6  # a fresh process for every benchmark in every replicate
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", "compare", str(path), str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    # a run against itself: ratio 1, in an interval as wide as its replicates disagree (disturbed ones set aside alike)
    for name in ("numpy", "native"):
        row = re.search(
            rf"^{name} .* 1\.00× \[(\d+\.\d\d), (\d+\.\d\d)\] .* no significant change( \(.* set aside\))?$",
            done.stdout,
            re.MULTILINE,
        )
        assert row and float(row.group(1)) <= 1 <= float(row.group(2)), done.stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--benchmark-only", "--replicates=0"], "argument --replicates: expected a whole number >= 1, got '0'"),
        (
            ["--replicates=2"],
            "--isolate, --replicates and --rigorous run benchmarks in child processes: use them with --benchmark-only",
        ),
    ],
)
def test_a_bad_replicate_count_is_a_usage_error(options, message):
    done = run_pytest(*options, "--co", "-q", timeout=120)
    assert done.returncode == 4 and message in done.stderr


def two_machine_runs(tmp_path):
    """Three runs: two on one machine (numpy's version changed between them), one on another, saved in time order."""
    zen5 = MACHINE_INFO | {"fingerprint": fingerprint(family=26, model=2)}
    runs = [
        saved_run({"numpy": 0.014, "torch": 0.065}, saved_at="2026-01-01T00:00:00"),
        saved_run({"numpy": 0.010, "torch": 0.060}, saved_at="2026-01-02T00:00:00", machine_info=zen5),
        saved_run(
            {"numpy": 0.015, "torch": 0.064},
            saved_at="2026-01-03T00:00:00",
            replicates={"numpy": [0.015, 0.016, 0.014], "torch": [0.064, 0.065, 0.063]},
        ),
    ]
    runs[2]["benchmarks"][0]["extra_info"]["versions"] = {"numpy": "1.1"}
    return [write(tmp_path / "results" / "m" / f"000{index}_run.json", run) for index, run in enumerate(runs, 1)]


def test_history_keeps_machines_apart_and_marks_version_changes(tmp_path):
    paths = two_machine_runs(tmp_path)
    table = history_table([load_run(path) for path in reversed(paths)])  # in time order, whatever the order given
    assert list(table.drop_duplicates("run")["run"]) == ["0001_run", "0002_run", "0003_run"]
    first_machine = fingerprint()["id"]
    numpy = table[(table["implementation"] == "numpy") & (table["machine"] == first_machine)]
    assert list(numpy["run"]) == ["0001_run", "0003_run"] and list(numpy["version_change"]) == ["", "numpy 1.0 -> 1.1"]
    assert (table[table["run"] == "0002_run"]["version_change"] == "").all()  # another machine: its first run there


def test_the_history_command_writes_one_self_contained_page(tmp_path, capsys):
    paths = two_machine_runs(tmp_path)
    assert main(["history", "--results", str(tmp_path / "results")]) == 0  # without files: every run under --results
    page = tmp_path / "results" / "history.html"
    assert capsys.readouterr().out == f"history of 3 runs from 2 machines written to {page}\n"
    text = page.read_text()
    assert (
        "<h1>backprop-bench history: 3 runs on 2 machines</h1>" in text
        and text.count('src="data:image/png;base64,') == 1
    )
    assert (
        f'<td>{fingerprint()["id"]}</td>\n<td>AMD family 25 model 17 (Zen 4)</td>\n<td style="text-align: '
        'right;">2</td>' in text
    )
    assert "<td>0003: numpy 1.0 -&gt; 1.1</td>" in text
    assert main(["history", str(paths[0]), "--out", str(tmp_path / "one.html")]) == 0
    assert "1 runs on 1 machine" in (tmp_path / "one.html").read_text()


@NEEDS_CHROMIUM
def test_the_history_page_renders_in_a_real_browser(tmp_path):
    two_machine_runs(tmp_path)
    assert main(["history", "--results", str(tmp_path / "results"), "--out", str(tmp_path / "history.html")]) == 0
    dom = rendered_dom(tmp_path / "history.html", tmp_path)
    assert "<title>backprop-bench history: 3 runs on 2 machines</title>" in dom
    figures = re.search(r'data-figures="(\d+)" data-figures-loaded="(\d+)"', dom)
    assert figures and figures.group(1) == figures.group(2) == "1", dom[:300]


def test_the_report_writes_every_benchmark_as_a_tidy_csv_row(tmp_path):
    paths = two_machine_runs(tmp_path)
    assert main(["report", str(paths[2]), "--out", str(tmp_path / "report")]) == 0
    rows = list(csv.DictReader((tmp_path / "report" / "report.csv").read_text().splitlines()))
    run = load_run(paths[2])
    assert [row["implementation"] for row in rows] == ["numpy", "torch"]
    for row, bench in zip(rows, run.benchmarks.itertuples(), strict=True):  # the same numbers read back two ways
        assert float(row["median_s"]) == pytest.approx(bench.median) and float(row["iqr_s"]) == pytest.approx(bench.iqr)
        assert row["machine_id"] == run.fingerprint["id"] and row["replicates"] == "3"
        assert [float(value) for value in row["replicate_medians_s"].split()] == [
            entry["median"] for entry in bench.replicates
        ]
        assert (row["dtype"], row["n_in"], row["n_hidden"], row["n_out"], row["batch"], row["epochs"]) == (
            "float64",
            "3",
            "3",
            "2",
            "1",
            "1000",
        )
    assert "[report.csv](report.csv)" in (tmp_path / "report" / "report.md").read_text()


def test_a_report_of_runs_from_two_machines_names_the_cpu_change_first(tmp_path):
    paths = two_machine_runs(tmp_path)
    assert main(["report", str(paths[0]), str(paths[1]), "--out", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    warning = markdown.index("⚠ **Different machines**")
    assert warning < markdown.index("What differs between the runs")
    assert "CPU: AMD family 25 model 17 (Zen 4) -> AMD family 26 model 2 (Zen 5)" in markdown[warning:]
