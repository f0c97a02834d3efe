"""A projected loop as every reader shows it: labelled in the report, its CSV and its figure, compared with a loop
timed at its full length, bootstrapped by compare, and slowed through its timings by calibrate."""

import json
import re

import pytest

from benchmarks.cli import main
from benchmarks.model.compare import BOOTSTRAP, compare_runs
from benchmarks.model.history import history_table
from benchmarks.model.runs import load_run
from benchmarks.presentation import figures
from benchmarks.presentation.history_page import trend_table
from tests.helpers import projection, saved_run, write

MEDIANS = {"numpy": 0.042, "native": 0.0001, "keras-tensorflow": 64.0}


def projected_run(path, per_epoch_s=0.064, seed=0):
    return write(
        path, saved_run(MEDIANS, seed=seed, projected={"keras-tensorflow": projection(per_epoch_s, 0.09, seed=seed)})
    )


def test_a_projection_is_labelled_in_the_report_its_csv_and_its_figure(tmp_path, monkeypatch):
    labels, save = [], figures.save_figure

    def read_then_save(figure, path, dpi=120):
        labels.extend(
            label.get_text() for ax in figure.axes for axis in (ax, *ax.child_axes) for label in axis.get_yticklabels()
        )
        return save(figure, path, dpi)

    monkeypatch.setattr(figures, "save_figure", read_then_save)
    run = projected_run(tmp_path / "results" / "m" / "0001_run.json")
    assert main(["report", str(run), "--out", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    fit = json.loads(run.read_text())["benchmarks"][2]["extra_info"]["projection"]
    row = (
        r"^\| `keras-tensorflow` \| 64\.\d s \(projected\) \| [\d.]+, [\d.]+ s \(95\.0%, bootstrap\) \| 20 at 4 "
        r"lengths \| "
        r"– \(interval ±[\d.]+%\) \|"
    )
    assert re.search(row, markdown, re.MULTILINE), markdown
    assert re.search(r"^\| `numpy` \| 42 ms \| [\d.]+, [\d.]+ ms \(95\.7%\) \| 25 \|", markdown, re.MULTILINE)
    # its fit
    assert f"| `keras-tensorflow` | 1, 2, 4, 8 | 20 | {figures.format_seconds(fit['per_epoch_s'])} [" in markdown
    assert "| `keras-tensorflow` (projected) |" in markdown  # time to result
    rows = (tmp_path / "report" / "report.csv").read_text().splitlines()
    assert sum(",keras-tensorflow,float64,3,3,2,1,1000,projected," in row for row in rows) == 1
    assert sum(",numpy,float64,3,3,2,1,1000,measured," in row for row in rows) == 1
    assert any(label.startswith("64.") and "(projected)" in label for label in labels), labels
    assert not any("(projected)" in label for label in labels if label.startswith("42 ms"))


def test_a_loop_at_full_length_is_compared_with_a_projected_numpy_over_the_epochs_both_recorded(tmp_path, monkeypatch):
    legends, save = [], figures.save_figure

    def read_then_save(figure, path, dpi=120):
        legends.extend(text.get_text() for legend in figure.legends for text in legend.get_texts())
        return save(figure, path, dpi)

    monkeypatch.setattr(figures, "save_figure", read_then_save)
    run = write(tmp_path / "0001_run.json", saved_run(MEDIANS, projected={"numpy": projection(0.000042, 0.0001)}))
    assert main(["report", str(run), "--out", str(tmp_path / "report")]) == 0
    assert "numpy (its first 8 epochs, projected)" in legends, legends
    assert "native  (max |Δ| vs NumPy 0.0e+00 over NumPy's first 8 epochs)" in legends, legends


def test_compare_and_history_label_projections_and_compare_bootstraps_them(tmp_path, capsys):
    base = projected_run(tmp_path / "a" / "0001_base.json")
    same = projected_run(tmp_path / "b" / "0002_same.json", seed=1)
    slower = projected_run(tmp_path / "c" / "0003_slower.json", per_epoch_s=0.064 * 1.3, seed=2)
    (kept,) = [c for c in compare_runs(load_run(base), load_run(same)) if c.implementation == "keras-tensorflow"]
    assert kept.method == BOOTSTRAP and kept.projected == (True, True) and kept.interval[0] < 1 < kept.interval[1]
    assert kept.verdict == "no significant change"
    (slow,) = [c for c in compare_runs(load_run(base), load_run(slower)) if c.implementation == "keras-tensorflow"]
    assert slow.verdict == "slower" and slow.interval[0] > 1.1
    assert main(["compare", str(base), str(slower), "--fail-above", "10"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^keras-tensorflow +~64\.\d s \[[\d.]+, [\d.]+ s\] +~8\d\.\d s \[", out, re.MULTILINE), out
    assert "~: projected from the loop timed at shorter lengths" in out and BOOTSTRAP in out
    assert "FAIL: keras-tensorflow (notebook problem, float64) is " in out
    table = history_table([load_run(path) for path in (base, same)])
    assert table.loc[table["implementation"] == "keras-tensorflow", "projected"].all()
    assert re.search(
        r"^\| `keras-tensorflow` \| \w+ \| 2 \| 64\.\d s \(projected\) \| 6\d\.\d s \(projected\) \|",
        trend_table(table),
        re.MULTILINE,
    )


def test_calibrate_slows_a_projected_loop_through_its_timings(tmp_path):
    from benchmarks.model.compare import slowed

    run = load_run(projected_run(tmp_path / "run.json"))
    twice = slowed(run, 2.0, "keras-tensorflow").benchmarks.set_index("implementation").loc["keras-tensorflow"]
    before = run.benchmarks.set_index("implementation").loc["keras-tensorflow"]
    assert twice["projection"]["seconds"] == pytest.approx([2 * value for value in before["projection"]["seconds"]])
    assert (
        twice["median"] == pytest.approx(2 * before["median"])
        and twice["projection"]["epochs"] == before["projection"]["epochs"]
    )
