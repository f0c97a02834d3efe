"""How far to trust `compare --fail-above` on one machine: its false alarms on runs of identical code, and the share
of known slowdowns it catches, the slowdowns injected into real runs by scaling their timings."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .compare import DEFAULT_SET_ASIDE, compare_runs, regressions, slowed
from .errors import BadInput
from .machines import machine_changes
from .runs import Run

Benchmark = tuple[str, str]  # (group, implementation)


@dataclass(frozen=True)
class Calibration:
    """The gate's error rates over every ordered pair of runs of identical code, in all and per benchmark."""

    runs: int
    pairs: int
    replicates: int  # per benchmark in each run (0: one process, pytest-benchmark's rounds)
    false_alarm_pairs: int  # pairs in which the gate failed (any benchmark)
    false_alarms: dict[Benchmark, int]  # per benchmark: the pairs in which the gate called it slower
    caught: dict[
        float, dict[Benchmark, int]
    ]  # per slowdown and benchmark: the pairs in which its injected slowdown was caught

    @property
    def benchmarks(self) -> int:
        """How many benchmarks every pair compares."""
        return len(self.false_alarms)

    @property
    def false_alarm_rate(self) -> float:
        """The share of pairs of identical code that the gate fails."""
        return self.false_alarm_pairs / self.pairs

    @property
    def per_benchmark_false_alarm_rate(self) -> float:
        """The share of benchmarks, over all pairs, that the gate calls slower."""
        return sum(self.false_alarms.values()) / (self.pairs * self.benchmarks)

    def detection_rate(self, slowdown: float) -> float:
        """The share of injected slowdowns of this size that the gate calls slower."""
        return sum(self.caught[slowdown].values()) / (self.pairs * self.benchmarks)


def replicate_count(run: Run) -> int:
    """How many replicate processes each benchmark of the run had (0 without --replicates)."""
    return int(run.machine_info.get("replicates", {}).get("count", 0))


def calibrate(
    runs: list[Run],
    fail_above: float,
    slowdowns: list[float],
    alpha: float,
    min_change: float,
    set_aside: float | None = DEFAULT_SET_ASIDE,
) -> Calibration:
    """The gate on every ordered pair of the runs, as they are (false alarms) and with each benchmark of the second run
    slowed by each factor in turn (detections)."""
    if len(runs) < 2:
        raise BadInput("calibrate: expected at least two runs of identical code, got " + str(len(runs)))
    for run in runs[1:]:
        if changes := machine_changes(runs[0].fingerprint, run.fingerprint):
            raise BadInput(
                f"{run.path}: measured on another machine than {runs[0].path} ({changes[0]}); calibrate one machine at "
                "a time"
            )
        if run.commit_info.get("id") != runs[0].commit_info.get("id"):
            raise BadInput(
                f"{run.path}: commit {run.commit_info.get('id')}, {runs[0].path} {runs[0].commit_info.get('id')}; "
                "calibrate needs runs of identical code"
            )
        if replicate_count(run) != replicate_count(runs[0]):
            raise BadInput(
                f"{run.path}: {replicate_count(run)} replicates, {runs[0].path} {replicate_count(runs[0])}; calibrate "
                "runs measured alike"
            )
    pairs = list(itertools.permutations(runs, 2))
    common = set.intersection(
        *(set(zip(run.benchmarks["group"], run.benchmarks["implementation"], strict=True)) for run in runs)
    )
    benchmarks = sorted(
        common, key=lambda benchmark: (benchmark[0], list(runs[0].benchmarks["implementation"]).index(benchmark[1]))
    )
    false_pairs, false_alarms = 0, dict.fromkeys(benchmarks, 0)
    caught = {slowdown: dict.fromkeys(benchmarks, 0) for slowdown in slowdowns}
    for base, new in pairs:
        flagged = [
            c
            for c in regressions(compare_runs(base, new, alpha, min_change, set_aside), fail_above)
            if (c.group, c.implementation) in common
        ]
        false_pairs += bool(flagged)
        for c in flagged:
            false_alarms[(c.group, c.implementation)] += 1
        for slowdown, name in itertools.product(slowdowns, dict.fromkeys(name for _, name in benchmarks)):
            for c in regressions(
                compare_runs(base, slowed(new, 1 + slowdown / 100, name), alpha, min_change, set_aside), fail_above
            ):
                if c.implementation == name and (c.group, name) in common:
                    caught[slowdown][(c.group, name)] += 1
    return Calibration(len(runs), len(pairs), replicate_count(runs[0]), false_pairs, false_alarms, caught)
