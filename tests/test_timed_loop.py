"""What is timed: sampling until the budget has passed, a fast loop at its full length, a slow one per epoch and
projected; every timing here comes from a clock the test drives, so speed stays out of it."""

import dataclasses
from functools import partial

import numpy as np
import pytest

from benchmarks.plugin.budget import DEFAULT, RIGOROUS, Budget
from benchmarks.timed import loops
from benchmarks.timed.loops import sample, time_loop
from implementations import seed_problem


class Clock:
    """A perf_counter that moves only when a fake loop says it spent time."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


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
    # 1 s would take more than the most samples
    assert len(sample(call(0.01), 1, budget, ten, 0.01, checked.append)) == 100
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
    # the calls saved are centred on the projection
    assert np.median(timing.durations) == pytest.approx(fit["projected_s"])
    assert len(timing.durations) == 5 and 1000 not in loop.prepared
    # every timed call checked at its length
    assert sorted(epochs for _, epochs in checked) == sorted([10] + [1, 2, 4, 8] * 5)


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
    # 5 former rounds: 2, 2, 1
    assert loop.prepared == [10, 1, 2, 4, 8, 1000] and timing.durations == pytest.approx([64.09] * 2)
    later = FakeLoop(clock, 0.09, 0.064)  # the first replicate checks the projection, the others only measure
    timing = time_loop(later, seed_problem(), RIGOROUS, lambda result, epochs: None, replicate=(2, 3))
    assert timing.projection is None and later.prepared == [10, 1000] and timing.durations == pytest.approx([64.09])
