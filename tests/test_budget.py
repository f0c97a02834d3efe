"""The budgeted run: the budget's rule, the median's order-statistic interval, the per-epoch fit and its projection,
the progress line, and the plugin's session; every timing here comes from a clock the test drives, so speed stays out
of it."""

import argparse
import dataclasses
import itertools
import json
import re
from functools import partial
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from benchmarks.cli import main
from benchmarks.model.compare import BOOTSTRAP, compare_runs
from benchmarks.model.history import history_table
from benchmarks.model.runs import load_run
from benchmarks.model.statistics import fit_epochs, median_interval
from benchmarks.plugin import budget as budgets
from benchmarks.plugin.budget import DEFAULT, RIGOROUS, Budget
from benchmarks.plugin.command_line import OPTIONS, forwarded_arguments
from benchmarks.plugin.estimate import Estimator, Step, fitted
from benchmarks.plugin.plan import Mode, Plan
from benchmarks.plugin.progress import Progress
from benchmarks.presentation import figures
from benchmarks.presentation.history_page import trend_table
from benchmarks.timed import loops
from benchmarks.timed.loops import sample, time_loop
from implementations import seed_problem
from tests.helpers import frozen_run, output_of, projection, run_pytest, saved_run, short_notebook_problem, write


class Clock:
    """A perf_counter that moves only when a fake loop says it spent time."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def independent_interval(n: int, confidence: float = 0.95) -> tuple[int, int, float]:
    """The order statistics (1-based) of the narrowest symmetric interval for the median with at least `confidence`
    coverage, from scipy's binomial: P(x_(j) <= median <= x_(n+1-j)) = P(j <= K <= n-j), K ~ Bin(n, 1/2)."""
    best = (1, n, binom.cdf(n - 1, n, 0.5) - binom.cdf(0, n, 0.5))
    for j in range(1, (n + 1) // 2 + 1):
        coverage = binom.cdf(n - j, n, 0.5) - binom.cdf(j - 1, n, 0.5)
        if j < n + 1 - j and coverage >= confidence:
            best = (j, n + 1 - j, coverage)
    return best


@pytest.mark.parametrize("n", [*range(2, 41), 60, 100, 250, 1000])
def test_the_median_interval_is_the_order_statistics_scipys_binomial_gives(n):
    samples = np.random.default_rng(n).lognormal(size=n)  # skewed, as timings are: the interval assumes no distribution
    low, high, coverage = independent_interval(n)
    interval = median_interval(samples)
    ordered = np.sort(samples)
    assert (interval.low, interval.high) == (ordered[low - 1], ordered[high - 1])
    assert interval.coverage == pytest.approx(coverage, abs=1e-12)
    assert interval.coverage >= 0.95 or (low, high) == (
        1,
        n,
    )  # too few samples for 95%: the widest, with what it covers


def test_six_samples_give_their_range_at_96_9_percent_and_five_fall_short():
    six = median_interval([3.0, 1.0, 2.0, 6.0, 5.0, 4.0])
    assert (six.low, six.high, six.coverage) == (1.0, 6.0, pytest.approx(1 - 2 / 64))
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]).coverage == pytest.approx(1 - 2 / 32)


def test_the_interval_covers_the_true_median_as_often_as_it_says():
    rng = np.random.default_rng(3)
    trials, n = 4000, 10
    true_median = np.exp(0.0)  # of a standard log-normal
    covered = sum(
        interval.low <= true_median <= interval.high
        for interval in (median_interval(rng.lognormal(size=n)) for _ in range(trials))
    )
    coverage = median_interval(np.arange(n)).coverage  # 97.85% for 10 samples
    assert abs(covered / trials - coverage) < 4 * np.sqrt(coverage * (1 - coverage) / trials)


def test_the_line_through_a_loop_without_noise_is_its_cost_exactly():
    lengths = [length for _ in range(5) for length in (3, 6, 12, 24)]
    fit = fit_epochs(lengths, [0.04 + 0.0021 * length for length in lengths], 1000)
    assert (fit.fixed_s, fit.per_epoch_s, fit.projected_s) == pytest.approx((0.04, 0.0021, 0.04 + 2.1))
    assert (fit.per_epoch.low, fit.per_epoch.high) == pytest.approx((0.0021, 0.0021)) and fit.lengths == (3, 6, 12, 24)


def test_the_fit_recovers_a_known_cost_per_epoch_within_its_interval_under_noise():
    lengths = [length for _ in range(5) for length in (1, 2, 4, 8)]
    hits = 0
    for seed in range(40):  # log-normal noise of median 1: the medians of each length lie on the true line
        noise = np.random.default_rng(seed).lognormal(0, 0.05, len(lengths))
        fit = fit_epochs(
            lengths, [(0.09 + 0.064 * length) * factor for length, factor in zip(lengths, noise, strict=True)], 1000
        )
        hits += fit.per_epoch.low <= 0.064 <= fit.per_epoch.high
        assert (
            fit.per_epoch.low <= fit.per_epoch_s <= fit.per_epoch.high
            and fit.projected.low <= fit.projected_s <= fit.projected.high
        )
        assert fit.projected_s == pytest.approx(fit.fixed_s + 1000 * fit.per_epoch_s)
    assert hits >= 30  # a bootstrap interval of 20 timings at 4 lengths holds the true cost in most of 40 trials


def test_a_line_needs_two_lengths():
    with pytest.raises(ValueError, match="two lengths"):
        fit_epochs([8, 8, 8], [1.0, 1.1, 0.9], 1000)


@given(call_s=st.floats(1e-6, 200.0), replicates=st.integers(1, 7))
@settings(max_examples=200, deadline=None)
def test_rigorous_gives_at_least_the_former_rounds_over_its_replicates(call_s, replicates):
    rounds = [RIGOROUS.samples_needed(call_s, replicate, replicates) for replicate in range(replicates)]
    if budgets.FORMER_MIN_ROUNDS * call_s <= budgets.FORMER_SLOW_LOOP_S:
        former = max(budgets.FORMER_MIN_ROUNDS, int(np.ceil(budgets.FORMER_MAX_TIME_S / call_s)))
    else:
        former = max(budgets.FORMER_SLOW_LOOP_ROUNDS, int(budgets.FORMER_SLOW_LOOP_S // call_s))
    if call_s >= RIGOROUS.sample_seconds:  # one call a sample: the samples are the rounds
        assert sum(rounds) >= former and max(rounds) - min(rounds) <= 1 and min(rounds) >= 1
    else:  # many calls a sample: each replicate samples a full second, every sample at least sample_seconds of calls
        calls_per_replicate = np.ceil(min(RIGOROUS.max_samples * RIGOROUS.sample_seconds, RIGOROUS.seconds) / call_s)
        assert calls_per_replicate * replicates >= former and RIGOROUS.seconds * replicates >= budgets.FORMER_MAX_TIME_S
    assert DEFAULT.samples_needed(call_s, 0, 1) == DEFAULT.min_samples


def test_the_default_budget_projects_a_loop_whose_minimum_samples_would_pass_five_budgets():
    assert DEFAULT.projection_above_s == 5 * DEFAULT.seconds
    assert not DEFAULT.projects(0.5) and DEFAULT.projects(0.51)
    assert DEFAULT.iterations(60e-6) == 84 and DEFAULT.iterations(0.02) == 1  # a sample lasts at least 5 ms
    # d: the lengths' timed epochs take about 3 budgets, and the longest stays under the full length
    step = DEFAULT.length_step(0.002, 1000)
    assert 3.0 * 0.9 <= step * sum(DEFAULT.lengths) * DEFAULT.samples_per_length * 0.002 <= 3.0 and step * 8 < 1000
    assert DEFAULT.length_step(0.08, 1000) == 1 and DEFAULT.length_step(1e-7, 100) == 12


def test_sampling_runs_until_the_budget_has_passed_and_enough_samples_are_taken(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(loops, "perf_counter", clock)
    checked = []

    def call(seconds):
        def spend():
            clock.now += seconds
            return seconds

        return spend

    budget = Budget("test", seconds=1.0, min_samples=10, max_samples=100)
    ten = lambda call_s: 10  # noqa: E731
    assert (
        len(sample(call(0.01), 1, budget, ten, 0.01, checked.append)) == 100
    )  # 1 s would take more than the most samples
    assert len(sample(call(0.05), 1, budget, ten, 0.05, checked.append)) == 20  # until the budget's second has passed
    assert len(sample(call(0.3), 1, budget, ten, 0.3, checked.append)) == 10  # at least the fewest samples
    durations = sample(call(0.001), 5, budget, ten, 0.001, checked.append)
    assert durations == pytest.approx([0.001] * 100)  # seconds per call, 5 calls a sample
    assert len(checked) == 100 + 20 + 10 + 100  # the result of every sample checked


def test_a_rigorous_loop_faster_than_its_first_call_said_gets_the_samples_its_median_needs(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(loops, "perf_counter", clock)

    def spend():
        clock.now += 0.3

    budget = dataclasses.replace(RIGOROUS, seconds=0.01)
    needed = partial(budget.samples_needed, replicate=0, replicates=3)
    # estimated at 1 s a call (the first call's warm-up): 4 of the 10 former rounds; at its 0.3 s a call, 7 of 20
    assert (needed(1.0), needed(0.3)) == (4, 7)
    assert len(sample(spend, 1, budget, needed, 1.0, lambda _: None)) == 7


class FakeLoop:
    """An implementation whose loop costs fixed + per_epoch x epochs on the test's clock, and says how many epochs it
    ran."""

    name = "fake"

    def __init__(self, clock, fixed_s, per_epoch_s, noise=0.0):
        self.clock, self.fixed_s, self.per_epoch_s = clock, fixed_s, per_epoch_s
        self.rng = np.random.default_rng(0) if noise else None
        self.noise, self.prepared = noise, []

    def prepare(self, problem):
        self.prepared.append(problem.epochs)

        def train():
            cost = self.fixed_s + self.per_epoch_s * problem.epochs
            self.clock.now += cost * (self.rng.lognormal(0, self.noise) if self.rng else 1)
            return problem.epochs

        return train


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(loops, "perf_counter", clock)
    return clock


def test_a_fast_loop_is_timed_at_its_full_length_after_a_first_call_at_ten_epochs(clock):
    loop, checked = FakeLoop(clock, 0.0001, 0.00002), []
    timing = time_loop(loop, seed_problem(), DEFAULT, lambda result, epochs: checked.append((result, epochs)))
    assert timing.timing == "measured" and timing.projection is None and timing.pilot_epochs == 10
    assert loop.prepared == [10, 1000]
    assert timing.durations == pytest.approx([0.0001 + 0.02] * len(timing.durations)) and len(timing.durations) == 50
    # the pilot's warm call, and every sample's last call
    assert checked[0] == (10, 10) and checked[1:] == [(1000, 1000)] * len(timing.durations)


def test_a_slow_loop_is_timed_per_epoch_and_its_full_length_projected(clock):
    loop, checked = FakeLoop(clock, 0.09, 0.064, noise=0.03), []
    timing = time_loop(loop, seed_problem(), DEFAULT, lambda result, epochs: checked.append((result, epochs)))
    assert timing.timing == "projected" and loop.prepared == [
        10,
        1,
        2,
        4,
        8,
    ]  # the pilot, then d = 1 for 64 ms an epoch
    fit = timing.projection
    assert sorted(fit["epochs"]) == sorted([1, 2, 4, 8] * 5) and fit["epochs"][:4] == [1, 2, 4, 8]  # interleaved
    assert fit["projected_interval"][0] <= fit["projected_s"] <= fit["projected_interval"][1]
    assert fit["per_epoch_s"] == pytest.approx(0.064, rel=0.15) and fit["projected_s"] == pytest.approx(64.09, rel=0.15)
    assert np.median(timing.durations) == pytest.approx(
        fit["projected_s"]
    )  # the calls saved are centred on the projection
    assert len(timing.durations) == 5 and 1000 not in loop.prepared
    assert sorted(epochs for _, epochs in checked) == sorted(
        [10] + [1, 2, 4, 8] * 5
    )  # every timed call checked at its length


def test_a_projected_loop_whose_calls_are_mostly_a_fixed_cost_keeps_every_call_above_zero(clock):
    # found in a default run: a loop that rebuilt its compiled step at every call (a quarter second, then a few ms an
    # epoch) had its short calls' spread scaled up to the full length, and saved calls of -4.9 s that its own report
    # refused
    loop = FakeLoop(clock, 0.25, 0.004, noise=0.1)
    timing = time_loop(loop, seed_problem(), DEFAULT, lambda result, epochs: None)
    assert timing.timing == "projected"
    timed = list(zip(timing.projection["epochs"], timing.projection["seconds"], strict=True))
    longest = [seconds for epochs, seconds in timed if epochs == max(timing.projection["epochs"])]
    assert min(timing.durations) > 0 and np.median(timing.durations) == pytest.approx(timing.projection["projected_s"])
    # the same relative spread as the calls at the longest length timed
    assert max(timing.durations) / min(timing.durations) == pytest.approx(max(longest) / min(longest))


class NoisyShortLoop(FakeLoop):
    """A slow loop whose short runs are timed shorter the longer they are (noise over a small cost per epoch, as on a
    busy machine): the line through them falls."""

    def prepare(self, problem):
        self.prepared.append(problem.epochs)

        def train():
            self.clock.now += 0.1 if problem.epochs == 1000 else 0.09 - 0.001 * problem.epochs
            return problem.epochs

        return train


def test_a_loop_whose_line_falls_is_timed_at_its_full_length_not_projected(clock):
    # found under a busy parallel test run: the line through a short problem's timings fell, and the run saved a
    # negative projection that its own report refused
    loop = NoisyShortLoop(clock, 0, 0)
    timing = time_loop(loop, seed_problem(), DEFAULT, lambda result, epochs: None)
    assert timing.timing == "measured" and timing.projection is None and loop.prepared[-1] == 1000
    assert (
        timing.durations == pytest.approx([0.1] * len(timing.durations))
        and len(timing.durations) >= DEFAULT.min_samples
    )


def test_rigorous_times_a_slow_loop_at_full_length_too_to_check_its_projection(clock):
    loop = FakeLoop(clock, 0.09, 0.064)
    timing = time_loop(loop, seed_problem(), RIGOROUS, lambda result, epochs: None, replicate=(0, 3))
    assert timing.timing == "measured" and timing.projection["projected_s"] == pytest.approx(64.09)
    assert loop.prepared == [10, 1, 2, 4, 8, 1000] and timing.durations == pytest.approx(
        [64.09] * 2
    )  # 5 former rounds: 2, 2, 1
    later = FakeLoop(clock, 0.09, 0.064)  # the first replicate checks the projection, the others only measure
    timing = time_loop(later, seed_problem(), RIGOROUS, lambda result, epochs: None, replicate=(2, 3))
    assert timing.projection is None and later.prepared == [10, 1000] and timing.durations == pytest.approx([64.09])


def test_the_progress_line_counts_benchmarks_and_estimates_what_is_left_at_the_pace_so_far():
    now, lines = [0.0], []
    progress = Progress([("a", 10.0), ("b", 10.0), ("c", 10.0), ("d", 10.0)], lines.append, now=lambda: now[0])
    progress.start("a", "test_a")
    now[0] = 12.0
    progress.start("b", "test_b", "in a fresh process")
    now[0] = 40.0  # a and b took 40 s for 20 s expected: twice as slow as expected
    progress.start("c", "test_c")
    progress.start("c", "test_c")  # a start told twice (by a child, and by pytest's loop) is one line
    assert lines == [
        "[1/4] test_a · 0:00 elapsed · about 0:40 left",
        "[2/4] test_b (in a fresh process) · 0:12 elapsed · about 0:30 left",
        "[3/4] test_c · 0:40 elapsed · about 0:40 left",
    ]


def options(**given) -> SimpleNamespace:
    """The plugin's options as pytest parses them: the defaults of the table, and pytest-benchmark's that the session
    reads."""
    values = {option.dest: option.settings.get("default") for option in OPTIONS}
    return SimpleNamespace(
        **values | {"benchmark_only": True, "collectonly": False, "benchmark_disable_gc": False} | given
    )


def fake_config(**given):
    option = options(**given)
    return SimpleNamespace(option=option, getoption=lambda name: getattr(option, name))


@pytest.mark.parametrize(
    ("given", "mode", "budget", "replicate"),
    [
        ({}, Mode.SHARED, "default", (0, 1)),
        ({"isolate": True}, Mode.ISOLATED, "default", (0, 1)),
        ({"replicates": 5}, Mode.REPLICATED, "default", (0, 5)),
        ({"rigorous": True}, Mode.REPLICATED, "rigorous", (0, 3)),
        ({"rigorous": True, "replicates": 4}, Mode.REPLICATED, "rigorous", (0, 4)),
        ({"rigorous": True, "child": (2, 3)}, Mode.CHILD, "rigorous", (2, 3)),
        ({"child": (0, 1)}, Mode.CHILD, "default", (0, 1)),
    ],
)
def test_the_session_takes_its_mode_and_budget_once_from_the_options(given, mode, budget, replicate):
    plan = Plan.from_options(options(**given))
    assert (plan.mode, plan.budget.name, plan.replicate) == (mode, budget, replicate)


def test_the_budget_option_scales_the_rule_and_bad_combinations_are_usage_errors():
    plan = Plan.from_options(options(budget=0.2))
    assert plan.budget.seconds == 0.2 and plan.budget.projection_above_s == pytest.approx(1.0)
    with pytest.raises(pytest.UsageError, match="with --benchmark-only"):
        Plan.from_options(options(rigorous=True, benchmark_only=False))
    with pytest.raises(pytest.UsageError, match="the sweep has its own budget"):
        Plan.from_options(options(rigorous=True, sweep=True))


def test_a_run_expected_past_its_time_samples_less_to_fit_and_never_below_the_shortest():
    def total(budget):  # what the run's fixed costs take, and its sampling
        return 40 + 100 * budget.seconds

    assert fitted(DEFAULT, total, 200, 0.2) is DEFAULT
    shortened = fitted(DEFAULT, total, 100, 0.2)
    assert total(shortened) <= 100 and shortened.seconds == pytest.approx(0.6, abs=1e-3)
    assert dataclasses.replace(shortened, seconds=DEFAULT.seconds) == DEFAULT  # only the sampling changed
    assert fitted(DEFAULT, total, 50, 0.2).seconds == 0.2  # cannot fit: as short as allowed
    assert DEFAULT.run_seconds == 300 and Plan.from_options(options(budget=0.5)).budget.run_seconds is None
    assert RIGOROUS.run_seconds is None  # publication: every loop at its full rounds, however long


def test_the_estimate_follows_this_machines_speed_and_a_slower_one_samples_less(tmp_path):
    run = load_run(write(tmp_path / "run.json", frozen_run("loops")))
    steps = [
        Step(f"loop {index}", (row.implementation, row.dtype, row.epochs, row.n_hidden, row.batch))
        for index, row in enumerate(run.benchmarks.itertuples())
    ]

    def total_at(scale):
        estimator = Estimator(run, False, steps, 1, 0.0, scale)
        return lambda budget: sum(estimator.seconds(budget).values())

    assert total_at(1.0)(DEFAULT) < total_at(2.0)(DEFAULT) <= 2 * total_at(1.0)(DEFAULT)
    within = total_at(1.0)(DEFAULT)
    assert fitted(DEFAULT, total_at(1.0), within, 0.2) is DEFAULT
    assert fitted(DEFAULT, total_at(2.0), within, 0.2).seconds < DEFAULT.seconds
    numpy = run.benchmarks[run.benchmarks["implementation"] == "numpy"].iloc[0]
    probed = tuple(numpy[key] for key in ("implementation", "dtype", "epochs", "n_hidden", "batch"))
    assert Estimator(run, False, steps, 1, 0.0).probe_seconds(probed) == numpy["median"]


def test_a_fitted_budget_says_so_in_its_rule():
    budget = dataclasses.replace(
        DEFAULT, seconds=0.5, fitted="here sampled 0.5 s a benchmark instead of 1 s, to end within 5:00"
    )
    assert budget.record()["rule"].endswith("; here sampled 0.5 s a benchmark instead of 1 s, to end within 5:00")
    assert "the whole run within 300 s" in budgets.describe(DEFAULT)


def test_a_child_gets_the_options_the_table_forwards_and_no_others():
    config = fake_config(
        budget=0.5,
        rigorous=True,
        problem="net.json",
        sweep_dtype="float32",
        isolate=True,
        replicates=3,
        threads=2,
        benchmark_disable_gc=True,
    )
    assert forwarded_arguments(config) == [
        "--budget=0.5",
        "--rigorous",
        "--problem=net.json",
        "--sweep-dtype=float32",
        "--benchmark-disable-gc",
    ]
    assert forwarded_arguments(fake_config()) == []
    flags = {option.flag for option in OPTIONS if option.forwarded}
    assert flags == {"--budget", "--rigorous", "--problem", "--sweep", "--sweep-points", "--sweep-dtype"}


@pytest.mark.parametrize("text", ["3/3", "-1/2", "a/b", "1", "0/0"])
def test_a_replicate_is_written_r_of_n(text):
    from benchmarks.options import replicate_of

    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(f"got {text!r}")):
        replicate_of(text)
    assert replicate_of("2/3") == (2, 3)


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
    assert (
        f"| `keras-tensorflow` | 1, 2, 4, 8 | 20 | {figures.format_seconds(fit['per_epoch_s'])} [" in markdown
    )  # its fit
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


def test_every_pair_of_budget_lengths_is_distinct_and_the_rule_is_saved_in_words():
    for budget in (DEFAULT, RIGOROUS):
        assert len(set(budget.lengths)) == len(budget.lengths) and all(
            a < b for a, b in itertools.pairwise(budget.lengths)
        )
        record = budget.record()
        assert (
            record["name"] == budget.name
            and record["rule"].startswith(f"{budget.name}: ")
            and record["seconds"] == budget.seconds
        )


SLOW_EPOCHS = 200


@pytest.mark.slow
def test_rigorous_times_every_loop_at_full_length_in_three_replicates_and_checks_the_projections(tmp_path):
    # micrograd's scalar graph: too slow at this length for 10 calls in 0.1 s, and no framework to import in each
    # replicate
    problem = short_notebook_problem(tmp_path / "short.json", SLOW_EPOCHS)
    nodes = [
        f"benchmarks/timed/bench_training.py::test_training_loop[{name}-float64]" for name in ("numpy", "micrograd")
    ]
    done = run_pytest(
        *nodes,
        "--benchmark-only",
        "--rigorous",
        "--budget=0.02",
        f"--problem={problem}",
        f"--benchmark-storage=file://{tmp_path / 'results'}",
    )
    assert done.returncode == 0, output_of(done)
    lines = done.stdout.splitlines()
    expected = next(
        index
        for index, line in enumerate(lines)
        if re.match(
            r"backprop-bench: 2 benchmarks x 3 replicates, rigorous budget, replicated processes: expected about "
            r"\d+:\d\d on this machine \(",
            line,
        )
    )
    assert expected < next(
        index for index, line in enumerate(lines) if line.startswith("[1/6] ")
    )  # said before it starts
    (path,) = (tmp_path / "results").rglob("*.json")
    saved = json.loads(path.read_text())
    info = saved["machine_info"]
    assert (
        info["process_mode"] == "replicated"
        and info["replicates"]["count"] == 3
        and info["budget"]["name"] == "rigorous"
    )
    for bench in saved["benchmarks"]:
        extra = bench["extra_info"]
        assert (
            extra["timing"] == "measured" and len(extra["loss_history"]) == extra["epochs"] == SLOW_EPOCHS
        )  # at full length
        assert len({replicate["pid"] for replicate in extra["replicates"]}) == 3
    slow = next(bench for bench in saved["benchmarks"] if bench["extra_info"]["implementation"] == "micrograd")
    # a loop the default budget projects: its projection kept beside the measurement, and the former rounds over the
    # replicates
    assert slow["extra_info"]["projection"]["projected_s"] > 0
    for index, replicate in enumerate(
        slow["extra_info"]["replicates"]
    ):  # each its share of the former rounds, at its median
        former = (
            max(20, int(np.ceil(1 / replicate["median"])))
            if 20 * replicate["median"] <= 10
            else max(5, int(10 // replicate["median"]))
        )
        assert replicate["rounds"] >= former // 3 + (index < former % 3), (index, replicate, former)
    assert main(["report", str(path), "--out", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    checked = (
        r"^\| `micrograd` \| \d+, \d+, \d+, \d+ \| 20 \| .* \| [\d.]+ ms \| [+-]\d+\.\d%( \(outside its "
        r"interval\))? \|$"
    )
    assert re.search(checked, markdown, re.MULTILINE), markdown  # the projection beside the measurement
