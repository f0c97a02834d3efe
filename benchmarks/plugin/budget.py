"""How long each benchmark is timed: the budget rule of the default run and of --rigorous, saved with every run.

Default (an answer in minutes): a loop is sampled until `seconds` have passed and `min_samples` are taken, at most
`max_samples`; a call shorter than `sample_seconds` is repeated within one sample. The whole run is to end within
`run_seconds`: where it is expected to take longer on this machine (a saved run's times, scaled by a speed probe run
here), `seconds` is shortened to fit, never below `shortest_seconds`. A loop whose `min_samples` full-length
calls would take longer than `project_above` times the budget is timed instead at a few shorter lengths and its
full-length time projected from a line fitted through them (criterion's linear sampling).

Rigorous (for publication): every loop at its full length, in `replicates` fresh processes, its samples over all of them
at least the rounds the suite gave before it had budgets (20 and a second of them; a loop too slow for 20 rounds in
10 seconds as many as fit, at least 5); the slow loops are timed per epoch as well, to check the projections.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

# the rounds a loop got before budgets (pytest-benchmark's --benchmark-min-rounds=20 and its 1-second
# --benchmark-max-time; a loop too slow for 20 rounds in 10 seconds as many rounds as fit, never fewer than 5):
# --rigorous gives at least these
FORMER_MIN_ROUNDS, FORMER_MAX_TIME_S, FORMER_SLOW_LOOP_S, FORMER_SLOW_LOOP_ROUNDS = 20, 1.0, 10.0, 5


@dataclass(frozen=True)
class Budget:
    """The rule that decides how many samples each benchmark gets, and whether a slow loop is projected."""

    name: str  # "default" or "rigorous"
    seconds: float  # a benchmark samples until this long has passed...
    min_samples: int  # ...and it has at least this many samples...
    max_samples: int  # ...but never more than this many
    sample_seconds: float = (
        0.005  # a call shorter than this is repeated within one sample, so the timer's resolution is no matter
    )
    # x seconds: a loop whose min_samples full-length calls would take longer is timed per epoch
    project_above: float = 5.0
    lengths: tuple[int, ...] = (1, 2, 4, 8)  # per epoch: the loop timed at these multiples of a length d...
    samples_per_length: int = (
        5  # ...each this many times, interleaved, and a line fitted through each length's median...
    )
    projection_seconds_factor: float = 3.0  # ...with d chosen so that the timed epochs take about this x seconds
    full_length: bool = False  # time every loop at its full length too (rigorous)
    replicates: int | None = None  # fresh processes per benchmark (rigorous); None: one shared process
    pilot_epochs: int = 10  # the first call, from which the decision is made, is at most this many epochs
    # the whole run is to end within this many seconds of pytest's time (None: no limit): before it starts, its sampling
    # seconds are shortened to fit what it is expected to take on this machine, never below shortest_seconds
    run_seconds: float | None = None
    shortest_seconds: float = 0.2
    fitted: str | None = None  # how the sampling was shortened to fit run_seconds, and from what estimate

    @property
    def projection_above_s(self) -> float:
        """A loop whose min_samples full-length calls would take longer than this is timed per epoch."""
        return self.project_above * self.seconds

    def projects(self, full_call_s: float) -> bool:
        """Whether a loop whose full-length call takes about full_call_s is timed per epoch (with a projection)."""
        return DEFAULT_MIN_SAMPLES * full_call_s > self.projection_above_s

    def iterations(self, call_s: float) -> int:
        """Calls per sample: enough that a sample lasts sample_seconds."""
        return max(1, math.ceil(self.sample_seconds / max(call_s, 1e-9)))

    def length_step(self, epoch_s: float, epochs: int) -> int:
        """d: the shortest length timed per epoch, so that every length's samples take about the projection's budget,
        and the longest length stays under the full length."""
        total_multiples = sum(self.lengths) * self.samples_per_length
        step = math.floor(self.projection_seconds_factor * self.seconds / (total_multiples * max(epoch_s, 1e-9)))
        return max(1, min(step, (epochs - 1) // max(self.lengths)))

    def can_project(self, epochs: int) -> bool:
        """Whether a loop of this many epochs has room for every length below it."""
        return epochs > max(self.lengths)

    def samples_needed(self, call_s: float, replicate: int = 0, replicates: int = 1) -> int:
        """The fewest samples of a loop whose call takes call_s, in replicate `replicate` (from 0) of `replicates`: the
        budget's minimum; under a full-length budget, the rounds the loop had before budgets, shared out over the
        replicates (a call shorter than a sample is repeated within one: every replicate's `seconds` of samples hold
        more calls than those rounds, and more time)."""
        if not self.full_length or call_s < self.sample_seconds:
            return self.min_samples
        former = (
            max(FORMER_MIN_ROUNDS, math.ceil(FORMER_MAX_TIME_S / call_s))
            if FORMER_MIN_ROUNDS * call_s <= FORMER_SLOW_LOOP_S
            else max(FORMER_SLOW_LOOP_ROUNDS, math.floor(FORMER_SLOW_LOOP_S / call_s))
        )
        return max(1, former // replicates + (replicate < former % replicates))

    def record(self) -> dict:
        """The rule as saved with a run (machine_info["budget"]; JSON has no infinity: a rule that never projects says
        None)."""
        return {key: None if value == math.inf else value for key, value in asdict(self).items()} | {
            "rule": describe(self)
        }


DEFAULT_MIN_SAMPLES = 10  # also what decides a projection under --rigorous: the same loops as the default run projects
DEFAULT = Budget("default", seconds=1.0, min_samples=DEFAULT_MIN_SAMPLES, max_samples=100, run_seconds=300.0)
RIGOROUS = Budget("rigorous", seconds=1.0, min_samples=1, max_samples=200, full_length=True, replicates=3)
# the sweep: about 0.3 s of samples per point, 3 to 30 of them, never projected (a point's epochs are sized to its work)
SWEEP = Budget("sweep", seconds=0.3, min_samples=3, max_samples=30, project_above=math.inf)


def describe(budget: Budget) -> str:
    """The rule in one sentence, as the README and the report state it."""
    sampling = (
        f"each benchmark sampled for at least {budget.seconds:g} s and {budget.min_samples} samples, at most "
        f"{budget.max_samples}; a call under {budget.sample_seconds * 1e3:g} ms repeated within a sample"
    )
    per_epoch = (
        f"a loop whose {DEFAULT_MIN_SAMPLES} full-length calls would pass {budget.projection_above_s:g} s timed at "
        f"{', '.join(f'{length}d' for length in budget.lengths)} epochs, {budget.samples_per_length} times each, d "
        f"sized to about {budget.projection_seconds_factor * budget.seconds:g} s, and its full length projected by "
        "least squares"
    )
    if budget.full_length:
        return (
            f"{budget.name}: every loop at its full length in {budget.replicates} fresh processes, with at least "
            f"{FORMER_MIN_ROUNDS} rounds and {FORMER_MAX_TIME_S:g} s of them over all (a loop too slow for that, as "
            f"many as fit in {FORMER_SLOW_LOOP_S:g} s, at least {FORMER_SLOW_LOOP_ROUNDS}), each process sampling at "
            f"least {budget.seconds:g} s; and, to check the projections in the first process, {per_epoch}"
        )
    whole = (
        f"; the whole run within {budget.run_seconds:g} s (where it is expected to take longer, every benchmark "
        f"sampled for less, never under {budget.shortest_seconds:g} s)"
        if budget.run_seconds
        else ""
    )
    return f"{budget.name}: {sampling}; {per_epoch}{whole}{f'; {budget.fitted}' if budget.fitted else ''}"
