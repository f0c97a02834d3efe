"""Comparing two runs: the statistics on samples where the answer is known, and the command's verdicts and exits."""

import json

import numpy as np
import pytest
from scipy.stats import ttest_ind

from benchmarks.cli import main
from benchmarks.model import compare as compare_model
from benchmarks.model import machines
from benchmarks.model import runs as runs_model
from benchmarks.model.calibration import calibrate
from benchmarks.model.compare import DEFAULT_ALPHA, MANN_WHITNEY, REPLICATES, compare_runs, compare_two, mann_whitney_p
from benchmarks.model.machines import cpu_words, fingerprint_id
from benchmarks.model.runs import RunFileError, load_run
from benchmarks.model.schema import VERSION_KEY
from benchmarks.presentation import comparison
from tests.helpers import MACHINE_INFO, fingerprint, one_line_error, saved_run, write

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


SIGNIFICANCE = (
    "Without replicates: no interval, as one process's samples miss the variation between processes. Significant: p < "
    "0.002 in a two-sided Mann-Whitney U on the raw samples of each benchmark, and medians 10% or more apart (asv's "
    "rule); `pytest --benchmark-only --replicates 3` makes runs this command can put an interval on."
)


def test_a_run_against_itself_shows_no_change_and_exits_0(tmp_path, capsys):
    path = write(tmp_path / "run.json", saved_run(MEDIANS))
    assert main(["compare", str(path), str(path), "--fail-above", "10%"]) == 0
    assert (
        capsys.readouterr().out
        == f"""\
base: {path}
new:  {path}

notebook problem, float64
implementation    base [95% interval]     new [95% interval]  ratio [95% CI]  p-value  verdict
numpy           14 ms [13.9, 14.1 ms]  14 ms [13.9, 14.1 ms]  1.000×                1  no significant change
torch           65 ms [64.5, 65.5 ms]  65 ms [64.5, 65.5 ms]  1.000×                1  no significant change
jax              9 ms [8.92, 9.07 ms]   9 ms [8.92, 9.07 ms]  1.000×                1  no significant change

{SIGNIFICANCE}
"""
    )


def test_a_deliberately_slower_implementation_is_named_and_fails_the_threshold(tmp_path, capsys):
    base = write(tmp_path / "base.json", saved_run(MEDIANS))
    slower = write(tmp_path / "new.json", saved_run(MEDIANS | {"torch": 0.065 * 1.25}, seed=1))
    assert main(["compare", str(base), str(slower), "--fail-above", "10"]) == 1
    # the same samples reordered give p = 1; torch's, all 25% higher, are completely separated from the base's
    assert (
        capsys.readouterr().out
        == f"""\
base: {base}
new:  {slower}

notebook problem, float64
implementation    base [95% interval]       new [95% interval]  ratio [95% CI]  p-value  verdict
numpy           14 ms [13.9, 14.1 ms]    14 ms [13.9, 14.1 ms]  1.000×                1  no significant change
torch           65 ms [64.5, 65.5 ms]  81.2 ms [80.6, 81.9 ms]  1.250×          1.4e-09  slower
jax              9 ms [8.92, 9.07 ms]     9 ms [8.92, 9.07 ms]  1.000×                1  no significant change

{SIGNIFICANCE}
FAIL: torch (notebook problem, float64) is 25.0% slower, significantly, above the 10% allowed
"""
    )
    assert main(["compare", str(base), str(slower), "--fail-above", "30"]) == 0  # slower, but within what is allowed
    assert main(["compare", str(base), str(slower)]) == 0  # without a threshold it only reports


def test_runs_from_different_machines_name_the_cpu_change_first_and_refuse_the_gate(tmp_path, capsys):
    base = write(tmp_path / "base.json", saved_run(MEDIANS))
    zen5 = MACHINE_INFO | {
        "fingerprint": fingerprint(family=26, model=2, isa=("avx2", "avx512f", "avx512_vp2intersect"), l1d="48K"),
        "versions": {"python": "3.11.7", "numpy": "2.5.0"},
    }
    new = write(tmp_path / "new.json", saved_run(MEDIANS, machine_info=zen5))
    assert main(["compare", str(base), str(new)]) == 0
    out = capsys.readouterr().out
    ids = f"{MACHINE_INFO['fingerprint']['id']} -> {zen5['fingerprint']['id']}"
    assert out.startswith(f"""\
base: {base}
new:  {new}
warning: different machines (fingerprint {ids}): the ratios measure the machines as much as the code:
  CPU: AMD family 25 model 17 (Zen 4) -> AMD family 26 model 2 (Zen 5)
  ISA extensions: gained avx512_vp2intersect
  caches per core: L1d 32K, L2 1024K -> L1d 48K, L2 1024K
warning: the runs were measured differently; the comparison mixes these with the code's own effect:
  numpy: 2.4.6 -> 2.5.0
""")
    # a gate across two CPUs judges the machines: refused, unless asked for
    assert main(["compare", str(base), str(new), "--fail-above", "10"]) == 2
    error = one_line_error(capsys, "compare", "--fail-above")
    assert (
        "measured on different machines (CPU: AMD family 25 model 17 (Zen 4) -> AMD family 26 model 2 (Zen 5))" in error
    )
    assert "--across-machines" in error
    assert main(["compare", str(base), str(new), "--fail-above", "10", "--across-machines"]) == 0


def test_runs_saved_before_fingerprints_get_one_from_pytest_benchmarks_cpu_record_when_upgraded(tmp_path):
    cpu = {
        "vendor_id_raw": "AuthenticAMD",
        "family": 25,
        "model": 17,
        "stepping": 1,
        "count": 2,
        "brand_raw": "AMD EPYC",
        "flags": ["avx2", "avx512f", "avx512vnni", "avx512_vnni"],
    }
    old = {key: value for key, value in MACHINE_INFO.items() if key != "fingerprint"} | {"cpu": cpu}
    path = write(
        tmp_path / "old.json",
        {key: value for key, value in saved_run(MEDIANS, machine_info=old).items() if key != VERSION_KEY},
    )
    assert main(["upgrade", str(path)]) == 0
    run = load_run(path)
    assert run.fingerprint["source"] == "py-cpuinfo" and run.fingerprint["isa"] == ["avx2", "avx512f", "avx512_vnni"]
    assert cpu_words(run.fingerprint) == "AMD family 25 model 17 (Zen 4)"
    # the id is made from what both kinds of record know: the same CPU, ISA, CPU count and BLAS kernel give the same id
    recorded = fingerprint(isa=("avx2", "avx512f", "avx512_vnni")) | {"blas_kernel": None}
    assert run.fingerprint["id"] == fingerprint_id(recorded)


def test_replicate_medians_give_a_ratio_with_a_confidence_interval(tmp_path, capsys):
    base_medians = {"numpy": [0.0140, 0.0142, 0.0139], "torch": [0.065, 0.066, 0.064], "jax": [0.0090, 0.0091, 0.0089]}
    new_medians = {"numpy": [0.0141, 0.0140, 0.0143], "torch": [0.081, 0.083, 0.080], "jax": [0.0090, 0.0092, 0.0090]}
    base = write(tmp_path / "base.json", saved_run(MEDIANS, replicates=base_medians))
    new = write(tmp_path / "new.json", saved_run(MEDIANS, replicates=new_medians, seed=1))
    comparisons = {c.implementation: c for c in compare_runs(load_run(base), load_run(new))}
    for name, c in comparisons.items():  # the interval computed a second way: scipy's own Welch interval on the logs
        welch = ttest_ind(np.log(new_medians[name]), np.log(base_medians[name]), equal_var=False)
        low, high = np.exp(welch.confidence_interval(0.95))
        assert c.interval == pytest.approx((low, high)) and c.p_value == pytest.approx(welch.pvalue)
        assert c.ratio == pytest.approx(
            np.exp(np.mean(np.log(new_medians[name])) - np.mean(np.log(base_medians[name])))
        )
    assert main(["compare", str(base), str(new), "--fail-above", "10"]) == 1
    assert (
        capsys.readouterr().out
        == f"""\
base: {base}
new:  {new}

notebook problem, float64
implementation   base      new  ratio [95% CI]      p-value  verdict
numpy           14 ms  14.1 ms  1.01× [0.98, 1.03]     0.47  no significant change
torch           65 ms  81.3 ms  1.25× [1.20, 1.30]  0.00011  slower
jax              9 ms  9.07 ms  1.01× [0.98, 1.04]     0.49  no significant change

With replicates (3 and 3 fresh processes per benchmark): base and new are the geometric means of the replicates' \
medians, and the 95% confidence interval of their ratio comes from Welch's t on the logarithms of the replicate \
medians (exact under log-normal noise between processes). Significant: the interval excludes 1, and the ratio is 10% \
or more from 1. A replicate more than 15% slower than the fastest of its benchmark in the same run is set aside as a \
disturbed process, and counted after the verdict (--set-aside).
FAIL: torch (notebook problem, float64) is 25.1% slower, significantly, above the 10% allowed
"""
    )


def test_a_disturbed_replicate_is_set_aside_and_counted(tmp_path, capsys):
    base_medians = {"numpy": [0.0140, 0.0142, 0.0139]}
    new_medians = {"numpy": [0.0170, 0.0171, 0.0300]}  # 20% slower, and one process disturbed to twice that
    base = write(tmp_path / "base.json", saved_run({"numpy": 0.014}, replicates=base_medians))
    new = write(tmp_path / "new.json", saved_run({"numpy": 0.017}, replicates=new_medians))
    (kept,) = compare_runs(load_run(base), load_run(new))
    welch = ttest_ind(np.log([0.0170, 0.0171]), np.log(base_medians["numpy"]), equal_var=False)
    assert kept.set_aside == (0, 1) and kept.interval == pytest.approx(tuple(np.exp(welch.confidence_interval(0.95))))
    assert kept.verdict == "slower"
    # the disturbed process widens the interval past 1
    (every,) = compare_runs(load_run(base), load_run(new), set_aside=None)
    assert every.set_aside == (0, 0) and every.interval[0] < 1 and every.verdict == "no significant change"
    # two of three disturbed: too few left to tell which, so every replicate is kept and the interval widens
    (unclear,) = compare_runs(
        load_run(base),
        load_run(
            write(tmp_path / "two.json", saved_run({"numpy": 0.017}, replicates={"numpy": [0.0170, 0.0300, 0.0310]}))
        ),
    )
    assert unclear.set_aside == (0, 0) and unclear.method == REPLICATES and unclear.verdict == "no significant change"
    assert main(["compare", str(base), str(new)]) == 0
    assert "  slower (0 of 3 base and 1 of 3 new replicates set aside)\n" in capsys.readouterr().out
    assert main(["compare", str(base), str(new), "--set-aside", "off"]) == 0
    assert (
        "no significant change\n" in (out := capsys.readouterr().out)
        and "Every replicate is kept (--set-aside off)." in out
    )


def test_without_replicates_in_both_runs_compare_falls_back_to_mann_whitney_and_says_so(tmp_path, capsys):
    base = write(
        tmp_path / "base.json", saved_run(MEDIANS, replicates={name: [median] * 3 for name, median in MEDIANS.items()})
    )
    new = write(tmp_path / "new.json", saved_run(MEDIANS, seed=1))
    assert all(c.method == MANN_WHITNEY and c.interval is None for c in compare_runs(load_run(base), load_run(new)))
    assert main(["compare", str(base), str(new)]) == 0
    assert capsys.readouterr().out.endswith(SIGNIFICANCE + "\n")


def calibration_runs(tmp_path, count=4, noise=0.01):
    """Runs of identical code with 3 replicates each, their medians 1% apart at random."""
    rng = np.random.default_rng(7)
    return [
        write(
            tmp_path / f"run{index}.json",
            saved_run(
                MEDIANS,
                seed=index,
                replicates={
                    name: list(median * (1 + noise * rng.standard_normal(3))) for name, median in MEDIANS.items()
                },
            ),
        )
        for index in range(count)
    ]


def test_calibration_counts_false_alarms_and_caught_slowdowns(tmp_path):
    runs = [load_run(path) for path in calibration_runs(tmp_path)]
    result = calibrate(runs, fail_above=10, slowdowns=[5, 20], alpha=DEFAULT_ALPHA, min_change=10)
    assert (result.runs, result.pairs, result.benchmarks, result.replicates) == (4, 12, 3, 3)
    assert list(result.false_alarms) == [("notebook problem, float64", name) for name in MEDIANS]
    assert result.false_alarm_rate == 0  # 1% noise never looks like 10%
    assert result.detection_rate(5) == 0  # under the 10% the gate allows: never its business
    assert result.detection_rate(20) == 1  # 20% against 1% noise: always
    # noise as large as the slowdown: some pairs of identical code fail, and the 20% slowdown is not always caught
    noisy = calibrate(
        [load_run(path) for path in calibration_runs(tmp_path / "noisy", count=6, noise=0.2)],
        10,
        [20],
        DEFAULT_ALPHA,
        10,
    )
    assert noisy.false_alarm_pairs > 0 and noisy.detection_rate(20) < 1


def test_the_calibrate_command_prints_the_rates(tmp_path, capsys):
    paths = calibration_runs(tmp_path)
    assert main(["calibrate", *map(str, paths), "--slowdowns", "5,20"]) == 0
    assert (
        capsys.readouterr().out
        == f"""\
`compare --fail-above 10` on 4 runs of identical code from one machine \
({MACHINE_INFO["fingerprint"]["id"]}: AMD family 25 model 17 (Zen 4)), 3 replicate processes per benchmark: \
12 ordered pairs of 3 benchmarks
false alarms: 0 of 12 pairs failed the gate (0.0%); 0 of 36 benchmarks called slower (0.0%)
5% slowdown of one benchmark: caught 0 of 36 (0.0%)
20% slowdown of one benchmark: caught 36 of 36 (100.0%)

benchmark                          false alarms   5% caught  20% caught
numpy (notebook problem, float64)          0.0%        0.0%      100.0%
torch (notebook problem, float64)          0.0%        0.0%      100.0%
jax (notebook problem, float64)            0.0%        0.0%      100.0%

A slowdown is injected by scaling every timing of one benchmark of the second run of a pair (its samples, median and \
replicate medians): real noise, a known change. The pairs share runs, so they are not independent trials.
"""
    )


def test_calibrate_refuses_one_run_runs_from_two_machines_and_runs_of_other_code(tmp_path, capsys):
    first, second, *_ = calibration_runs(tmp_path)
    assert main(["calibrate", str(first)]) == 2
    assert (
        capsys.readouterr().err
        == "backprop-bench calibrate: error: calibrate: expected at least two runs of identical code, got 1\n"
    )
    other = saved_run(MEDIANS, machine_info=MACHINE_INFO | {"fingerprint": fingerprint(family=26, model=2)})
    elsewhere = write(tmp_path / "elsewhere.json", other)
    assert main(["calibrate", str(first), str(elsewhere)]) == 2
    one_line_error(capsys, "calibrate", elsewhere)
    other_code = write(tmp_path / "other_code.json", saved_run(MEDIANS) | {"commit_info": {"id": "f7f1ae8"}})
    assert main(["calibrate", str(first), str(other_code)]) == 2
    assert "calibrate needs runs of identical code" in one_line_error(capsys, "calibrate", other_code)


def test_runs_with_no_implementation_in_common_are_refused(tmp_path, capsys):
    base = write(tmp_path / "base.json", saved_run({"numpy": 0.01}))
    new = write(tmp_path / "new.json", saved_run({"torch": 0.06}))
    with pytest.raises(RunFileError, match="no benchmark in common"):
        compare_runs(load_run(base), load_run(new))
    assert main(["compare", str(base), str(new)]) == 2
    assert capsys.readouterr().err == (
        f"backprop-bench compare: error: {new}: no benchmark in common with {base} (base has numpy; new has torch)\n"
    )


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


def test_benchmarks_moving_both_ways_get_a_warning_about_the_machine(tmp_path, capsys):
    base = write(tmp_path / "base.json", saved_run(MEDIANS))
    both = write(tmp_path / "both.json", saved_run(MEDIANS | {"torch": 0.065 * 1.5, "jax": 0.009 * 0.6}, seed=1))
    assert main(["compare", str(base), str(both)]) == 0
    assert (
        "warning: 1 benchmark significantly faster (up to 40%, jax) and 1 slower (up to 50%, torch): benchmarks "
        "moving both ways often mean the machine's speed changed"
    ) in capsys.readouterr().out
    one_way = write(tmp_path / "one.json", saved_run(MEDIANS | {"torch": 0.065 * 1.5}, seed=1))
    assert main(["compare", str(base), str(one_way)]) == 0
    assert "moving both ways" not in capsys.readouterr().out


def test_the_model_hands_compare_one_finished_comparison_and_the_presentation_only_renders_it(tmp_path, monkeypatch):
    base = load_run(write(tmp_path / "base.json", saved_run({"numpy": 0.010, "torch": 0.050}, seed=1)))
    new = load_run(
        write(
            tmp_path / "new.json",
            saved_run(
                {"numpy": 0.015, "torch": 0.030},
                seed=2,
                machine_info=MACHINE_INFO | {"fingerprint": fingerprint(model=1, isa=("avx2",))},
            ),
        )
    )
    result = compare_two(base, new, fail_above=10)
    assert [c.implementation for c in result.slower] == [c.implementation for c in result.regressions] == ["numpy"]
    assert [c.implementation for c in result.faster] == ["torch"] and result.moved_both_ways
    assert result.machine_changes[0].startswith("CPU: ") and "machine id" not in result.measured_differently
    for name in dir(compare_model) + dir(machines) + dir(runs_model):  # rendering calls nothing that decides
        if callable(getattr(comparison, name, None)) and getattr(comparison, name).__module__.startswith(
            "benchmarks.model"
        ):
            monkeypatch.setattr(
                comparison, name, lambda *args, **kwargs: pytest.fail("the presentation called the model")
            )
    lines = comparison.comparison_lines(result) + comparison.failure_lines(result)
    assert lines[2].startswith("warning: different machines") and any(
        line.startswith("warning: 1 benchmark significantly faster") for line in lines
    )
    assert lines[-1].startswith("FAIL: numpy (notebook problem, float64) is 50.")
