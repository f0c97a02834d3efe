"""Reading saved runs back, and the report's arithmetic, on runs built here where the answer is known."""

import json
import re

import numpy as np
import pytest

from benchmarks.cli import main
from benchmarks.report import format_seconds, markdown_table, summary
from benchmarks.runs import RunFileError, load_run, newest_run


def saved_run(medians: dict[str, float], saved_at="2026-01-01T00:00:00") -> dict:
    """A pytest-benchmark run with the given median per implementation (seconds)."""
    benchmarks = []
    for name, median in medians.items():
        data = list(median * np.array([0.98, 0.99, 1.0, 1.01, 1.02]))
        stats = {"min": data[0], "max": data[-1], "median": median, "q1": data[1], "q3": data[3], "iqr": data[3] - data[1],
                 "rounds": 5, "ld15iqr": data[0], "hd15iqr": data[-1], "data": data}
        extra = {"implementation": name, "framework": name, "compiled": name == "jax", "versions": {name: "1.0"},
                 "dtype": "float64", "epochs": 1000, "n_in": 3, "n_hidden": 3, "n_out": 2, "batch": 1,
                 "compile_s": 0.1, "first_call_s": 2 * median, "loss_history": [0.3, 0.2, 0.1]}
        benchmarks.append({"name": f"test_training_loop[{name}]", "group": "notebook problem, float64",
                           "stats": stats, "extra_info": extra})
    return {"machine_info": {"cpu": {"brand_raw": "Test CPU", "count": 2}}, "commit_info": {}, "datetime": saved_at,
            "benchmarks": benchmarks, "version": "5.3.1"}


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_summary_ratios_and_per_epoch_times(tmp_path):
    run = load_run(write(tmp_path / "run.json", saved_run({"torch": 0.06, "numpy": 0.012, "jax": 0.003})))
    table = summary(run.benchmarks)
    assert list(table["implementation"]) == ["jax", "numpy", "torch"]
    assert table["vs_numpy"].tolist() == pytest.approx([0.25, 1.0, 5.0])
    assert table["per_epoch"].tolist() == pytest.approx([3e-6, 12e-6, 60e-6])
    assert np.isnan(table.loc[table["implementation"] == "numpy", "compile"]).all()  # not a compiled implementation
    assert table.loc[table["implementation"] == "jax", "compile"].item() == 0.1
    assert "| `jax` | 3 ms | 60 µs (2.0%) | 5 | 3 µs | 0.25× | 100 ms | 6 ms |" in markdown_table(table)


@pytest.mark.parametrize(("seconds", "text"), [(1.5, "1.5 s"), (0.0123, "12.3 ms"), (4.56e-5, "45.6 µs"), (3e-9, "3 ns"), (float("nan"), "–")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_newest_run_is_the_latest_saved_not_the_latest_named(tmp_path):
    write(tmp_path / "machine-a" / "0002_x.json", saved_run({"numpy": 0.01}, saved_at="2026-01-01T00:00:00"))
    newer = write(tmp_path / "machine-b" / "0001_y.json", saved_run({"numpy": 0.01}, saved_at="2026-02-01T00:00:00"))
    write(tmp_path / "machine-b" / "0003_broken.json", "{")
    assert newest_run(tmp_path) == newer


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ('{"machine_info": {}, "benchmarks": [', "not valid JSON .* truncated"),
        ('{"hello": "world"}', "not a pytest-benchmark run"),
        ('{"machine_info": {}, "benchmarks": []}', "the run holds no benchmarks"),
        ('{"machine_info": {}, "benchmarks": [{"name": "test_other", "stats": {}}]}', "benchmark 'test_other' was not saved by backprop-bench"),
    ],
)
def test_unreadable_runs_are_refused_naming_the_file(tmp_path, content, message):
    path = write(tmp_path / "run.json", content)
    with pytest.raises(RunFileError, match=f"^{re.escape(str(path))}: {message}"):
        load_run(path)


def test_cli_reports_bad_input_in_one_line_with_exit_status_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err == f"backprop-bench report: error: {tmp_path / 'missing.json'}: no such file\n"
    assert main(["report", "--results", str(tmp_path)]) == 2
    assert "no saved runs; run `pytest --benchmark-only` first" in capsys.readouterr().err
