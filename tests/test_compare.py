"""Comparing two runs: the statistics on samples where the answer is known, and the command's verdicts and exits."""

import json

import numpy as np
import pytest

from benchmarks.cli import main
from benchmarks.model.compare import DEFAULT_ALPHA, compare_runs, mann_whitney_p
from benchmarks.model.runs import RunFileError, load_run
from tests.helpers import MACHINE_INFO, saved_run, write

MEDIANS = {"numpy": 0.014, "torch": 0.065, "jax": 0.009}


def test_identical_samples_are_not_significantly_different():
    samples = list(np.linspace(1.0, 1.1, 30))
    assert mann_whitney_p(samples, samples) == pytest.approx(1.0)


def test_a_clear_shift_is_significant_and_noise_is_not():
    rng = np.random.default_rng(1)
    base = rng.normal(10.0, 0.2, 40)
    assert mann_whitney_p(list(base), list(base * 1.05)) < 1e-6  # 5% slower, spread 2%: unmistakable
    same_distribution = rng.normal(10.0, 0.2, 40)
    assert mann_whitney_p(list(base), list(same_distribution)) > DEFAULT_ALPHA
    # completely separated samples of 5 each: the exact two-sided p-value is 2 / C(10, 5) = 1/126
    assert mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)
    assert np.isnan(mann_whitney_p(None, [1.0]))


def test_verdicts_follow_the_direction_of_a_significant_change(tmp_path):
    base = load_run(write(tmp_path / "base.json", saved_run(MEDIANS)))
    new = load_run(write(tmp_path / "new.json", saved_run(MEDIANS | {"torch": 0.080, "jax": 0.006}, seed=1)))
    verdicts = {c.implementation: c.verdict for c in compare_runs(base, new)}
    assert verdicts == {"numpy": "no significant change", "torch": "slower", "jax": "faster"}


def test_a_significant_but_small_difference_needs_min_change_to_count(tmp_path):
    base = load_run(write(tmp_path / "base.json", saved_run(MEDIANS, spread=0.005)))
    new = load_run(write(tmp_path / "new.json", saved_run(MEDIANS | {"numpy": 0.014 * 1.03}, spread=0.005, seed=1)))
    (numpy,) = [c for c in compare_runs(base, new) if c.implementation == "numpy"]
    assert numpy.p_value < DEFAULT_ALPHA and numpy.verdict == "no significant change"
    (numpy,) = [c for c in compare_runs(base, new, min_change=2) if c.implementation == "numpy"]
    assert numpy.verdict == "slower"


SIGNIFICANCE = ("Significant: p < 0.002 in a two-sided Mann-Whitney U test on the raw samples of each benchmark, "
                "and medians 10% or more apart (asv's rule).")


def test_a_run_against_itself_shows_no_change_and_exits_0(tmp_path, capsys):
    path = write(tmp_path / "run.json", saved_run(MEDIANS))
    assert main(["compare", str(path), str(path), "--fail-above", "10%"]) == 0
    assert capsys.readouterr().out == f"""\
base: {path}
new:  {path}

notebook problem, float64
implementation        base         new    ratio   p-value  verdict
numpy                14 ms       14 ms   1.000×         1  no significant change
torch                65 ms       65 ms   1.000×         1  no significant change
jax                   9 ms        9 ms   1.000×         1  no significant change

{SIGNIFICANCE}
"""


def test_a_deliberately_slower_implementation_is_named_and_fails_the_threshold(tmp_path, capsys):
    base = write(tmp_path / "base.json", saved_run(MEDIANS))
    slower = write(tmp_path / "new.json", saved_run(MEDIANS | {"torch": 0.065 * 1.25}, seed=1))
    assert main(["compare", str(base), str(slower), "--fail-above", "10"]) == 1
    # the same samples reordered give p = 1; torch's, all 25% higher, are completely separated from the base's
    assert capsys.readouterr().out == f"""\
base: {base}
new:  {slower}

notebook problem, float64
implementation        base         new    ratio   p-value  verdict
numpy                14 ms       14 ms   1.000×         1  no significant change
torch                65 ms     81.2 ms   1.250×   1.4e-09  slower
jax                   9 ms        9 ms   1.000×         1  no significant change

{SIGNIFICANCE}
FAIL: torch (notebook problem, float64) is 25.0% slower, significantly, above the 10% allowed
"""
    assert main(["compare", str(base), str(slower), "--fail-above", "30"]) == 0  # slower, but within what is allowed
    assert main(["compare", str(base), str(slower)]) == 0  # without a threshold it only reports


def test_runs_from_different_machines_and_versions_warn_and_show_what_differs(tmp_path, capsys):
    base = write(tmp_path / "base.json", saved_run(MEDIANS))
    other = MACHINE_INFO | {"node": "laptop", "versions": {"python": "3.11.7", "numpy": "2.5.0"}}
    new = write(tmp_path / "new.json", saved_run(MEDIANS, machine_info=other))
    assert main(["compare", str(base), str(new)]) == 0
    out = capsys.readouterr().out
    assert "warning: the runs were measured differently" in out
    assert "  machine: test-machine (Test CPU, 2 cores) -> laptop (Test CPU, 2 cores)" in out
    assert "  numpy: 2.4.6 -> 2.5.0" in out


def test_runs_with_no_implementation_in_common_are_refused(tmp_path, capsys):
    base = write(tmp_path / "base.json", saved_run({"numpy": 0.01}))
    new = write(tmp_path / "new.json", saved_run({"torch": 0.06}))
    with pytest.raises(RunFileError, match="no benchmark in common"):
        compare_runs(load_run(base), load_run(new))
    assert main(["compare", str(base), str(new)]) == 2
    assert capsys.readouterr().err == (f"backprop-bench compare: error: {new}: no benchmark in common with {base} "
                                       "(base has numpy; new has torch)\n")


@pytest.mark.parametrize("content", ["", '{"machine_info": {}, "benchmarks": [{"na', json.dumps({"results": []})])
def test_a_bad_file_exits_2_naming_it_and_leaves_it_alone(tmp_path, capsys, content):
    good = write(tmp_path / "good.json", saved_run(MEDIANS))
    bad = write(tmp_path / "bad.json", content)
    assert main(["compare", str(good), str(bad)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"backprop-bench compare: error: {bad}: ") and error.count("\n") == 1
    assert bad.read_text() == content


def test_fail_above_must_be_a_percentage(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["compare", "a.json", "b.json", "--fail-above", "lots"])
    assert exit.value.code == 2
    assert "expected a percentage such as 10 or 10%, got 'lots'" in capsys.readouterr().err
