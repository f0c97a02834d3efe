"""The scaling sweep: the work it counts, the plans it refuses up front, and a small sweep run end to end."""

import re

import numpy as np
import pytest

from benchmarks.cli import main
from benchmarks.model.runs import load_run
from benchmarks.plugin.sweep_plan import SweepPoint, SweepRefused, check_plan, default_points, parse_points, swept_at
from implementations import available
from implementations.registry import REFERENCE
from tests.helpers import frozen_run, output_of, run_pytest, write


def test_multiply_adds_count_forward_backward_and_updates():
    point = SweepPoint(n_hidden=5, batch=7)
    b, h, n_in, n_out = 7, 5, 3, 2
    forward = b * h * n_in + b * n_out * h  # Wh x, Wo h
    backward = b * n_out * h  # Wo^T dO
    updates = n_out * h * b + h * n_in * b  # dO h^T, dH x^T
    assert point.multiply_adds == forward + backward + updates == 420
    assert point.flops == 840


def test_the_default_sweep_covers_width_to_2048_and_batch_to_1024_with_fewer_epochs_when_large():
    points = default_points()
    assert SweepPoint(3, 1) in points and SweepPoint(2048, 1) in points and SweepPoint(3, 1024) in points
    assert SweepPoint(2048, 1024) in points
    assert SweepPoint(3, 1).epochs == 1000 and SweepPoint(2048, 1024).epochs == 10
    assert [p.multiply_adds for p in points] == sorted(p.multiply_adds for p in points)


@pytest.mark.parametrize(
    ("text", "message"), [("3x", "'3x' is not WIDTHxBATCH"), ("0x4", "at least 1"), (" , ", "no sweep points")]
)
def test_malformed_points_are_refused(text, message):
    with pytest.raises(SweepRefused, match=message):
        parse_points(text)


def test_a_sweep_that_cannot_fit_in_memory_is_refused_with_an_estimate():
    with pytest.raises(SweepRefused, match=r"sweep point 100000x100000 needs about 1788\.2 GiB per implementation"):
        check_plan([SweepPoint(100000, 100000)], ["numpy"], budget_s=600)


def test_a_sweep_past_its_budget_is_refused_with_an_estimate():
    with pytest.raises(
        SweepRefused, match=r"the sweep would take about \d+ s, over its budget of 10 s .*4096x4096 ~\d+ s"
    ):
        check_plan(parse_points("3x1,4096x4096"), ["numpy", "native"], budget_s=10)
    assert check_plan(default_points(), available(), budget_s=600) < 600


def test_the_command_line_refuses_before_running_anything(tmp_path):
    done = run_pytest(
        "--benchmark-only",
        "--sweep",
        "--sweep-points=3x1,4096x4096",
        "--sweep-budget=10",
        f"--benchmark-storage=file://{tmp_path}",
        timeout=120,
    )
    assert done.returncode == 4 and "sweep refused: the sweep would take about" in done.stderr
    assert not list(tmp_path.rglob("*.json"))


@pytest.mark.slow
def test_a_small_sweep_runs_checked_points_and_reports_them(tmp_path):
    # the reference, the speed of light, and the oracle and micrograd, whose ranges end between the two points; the
    # peaks
    chosen = [name for name in (REFERENCE, "native", "python", "micrograd") if name in available()]
    done = run_pytest(
        "--benchmark-only",
        "--sweep",
        "--sweep-points=3x1,64x32",
        f"--benchmark-storage=file://{tmp_path}",
        "-k",
        " or ".join(["test_peak", *(f"test_sweep[{name}-" for name in chosen)]),
    )
    assert done.returncode == 0, output_of(done)
    # each implementation at the sizes of its range: micrograd's and the oracle's end below 64x32
    pairs = [
        (name, point) for name in chosen for point in (SweepPoint(3, 1), SweepPoint(64, 32)) if swept_at(name, point)
    ]
    assert ("python", SweepPoint(3, 1)) in pairs and ("python", SweepPoint(64, 32)) not in pairs
    assert re.search(
        rf"^\[1/{len(pairs) + 3}\] test_sweep\[{pairs[0][0]}-hidden3-batch1\] · 0:\d\d elapsed · about \d+:\d\d left$",
        done.stdout,
        re.MULTILINE,
    ), done.stdout  # progress
    (saved,) = tmp_path.rglob("*.json")
    run = load_run(saved)
    names = [f"test_sweep[{name}-{point.benchmark_id}]" for name, point in pairs]
    assert list(run.sweep["name"]) == names and list(run.peak["name"]) == [
        f"test_peak[{library}]" for library in run.peak["library"]
    ]
    assert len(run.benchmarks) == 0 and len(run.sweep) == len(pairs)
    assert set(run.peak["library"]) == {"numpy", "torch", "jax"} & set(available())
    point = run.sweep[run.sweep["n_hidden"] == 64].iloc[0]
    assert point["flops_per_epoch"] == SweepPoint(64, 32).flops and point["epochs"] == SweepPoint(64, 32).epochs
    assert np.allclose(run.sweep["time_per_epoch_s"], run.sweep["median"] / run.sweep["epochs"])
    assert main(["report", str(saved), "--out", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "## Scaling sweep" in markdown and (tmp_path / "report" / "sweep_0.png").read_bytes().startswith(b"\x89PNG")
    for name in (name for name, point in pairs if point == SweepPoint(64, 32)):  # their largest size
        assert re.search(
            rf"^\| `{name}` \| (width \d+, batch \d+ \([\d,]+ flop\)|never) \| 64x32 \| [\d.]+ [mµn]?s \| [\d.]+ \| "
            r"[\d.]+% \| [\d.]+% \| ([\d.]+ [KMG]iB|\d+ B) \|$",
            markdown,
            re.MULTILINE,
        ), name
    # every point held to its roofline, its peak memory measured
    assert (run.sweep["time_per_epoch_s"] >= run.sweep["roofline_s"]).all()
    assert (run.sweep["min"] / run.sweep["epochs"] >= run.sweep["roofline_s"]).all()
    assert run.sweep["peak_memory_bytes"].notna().all() and (run.sweep["peak_memory_bytes"] >= 0).all()
    assert (tmp_path / "report" / "sweep_memory_0.png").read_bytes().startswith(b"\x89PNG")
    assert (
        "is within 1.25× of the fastest at every size swept" in markdown
        or "is more than 1.25× the fastest at" in markdown
    )


def test_a_sweep_of_one_size_is_reported_in_one_panel(tmp_path):
    sweep = frozen_run("sweep")
    one_size = [
        bench
        for bench in sweep["benchmarks"]
        if bench["extra_info"]["kind"] == "peak"
        or (bench["extra_info"]["n_hidden"], bench["extra_info"]["batch"]) == (3, 1)
    ]
    # as `--sweep --sweep-points 3x1` saves it
    run = write(tmp_path / "one-size.json", sweep | {"benchmarks": one_size})
    assert main(["report", str(run), "--out", str(tmp_path / "report")]) == 0
    assert "![Scaling sweep](sweep_0.png)" in (tmp_path / "report" / "report.md").read_text()
    assert (tmp_path / "report" / "sweep_0.png").stat().st_size > 10_000
