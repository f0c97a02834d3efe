"""What every training-loop benchmark does around its timed calls: a first call at a few epochs, from which its budget
decides how to time it (at full length, or at a few shorter lengths with the full length projected), every timed call's
result checked, and what the run records about it."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from time import perf_counter

import numpy as np

from benchmarks.model.statistics import fit_epochs
from benchmarks.plugin.budget import Budget
from implementations import Implementation, Problem, TrainResult, get
from implementations.problem import RESULT_FIELDS
from implementations.registry import REFERENCE

from .memory import peak_above, reset_peak


def timed(call: Callable[[], object]) -> tuple[float, object]:
    """Seconds one call takes, and what it returned."""
    start = perf_counter()
    result = call()
    return perf_counter() - start, result


def sample(
    call: Callable[[], object],
    iterations: int,
    budget: Budget,
    needed: Callable[[float], int],
    call_s: float,
    check: Callable[[object], None],
    disable_gc: bool = False,
) -> list[float]:
    """Seconds per call, one value per sample of `iterations` calls: samples until budget.seconds have passed and as
    many samples are taken as `needed` says for a call of call_s (the estimate), and for one of the median so far where
    that needs more, at most budget.max_samples; the last result of every sample is checked, outside the timing."""
    durations: list[float] = []
    min_samples = needed(call_s)
    started = perf_counter()
    while len(durations) < budget.max_samples and (
        len(durations) < min_samples or perf_counter() - started < budget.seconds
    ):
        if disable_gc:
            gc.disable()
        try:
            begin = perf_counter()
            for _ in range(iterations):
                result = call()
            durations.append((perf_counter() - begin) / iterations)
        finally:
            gc.enable()
        check(result)
        # a first call slower than the rest estimates too few
        min_samples = max(min_samples, needed(float(np.median(durations))))
    return durations


def calibrated_iterations(call: Callable[[], object], budget: Budget) -> tuple[int, float]:
    """Calls per sample, as many as last budget.sample_seconds, and the seconds of one warm call (the calls made here
    warm it up: a call of a second or more is made once)."""
    iterations, seconds = 1, timed(call)[0]
    while seconds < budget.sample_seconds:
        iterations *= 2
        start = perf_counter()
        for _ in range(iterations):
            call()
        seconds = perf_counter() - start
    return (1, seconds) if iterations == 1 else (budget.iterations(seconds / iterations), seconds / iterations)


@dataclass(frozen=True)
class LoopTiming:
    """A loop timed under its budget: the per-call times to save, and what it cost to get there."""

    durations: list[float]  # seconds per full-length call, per sample (projected ones for a loop timed per epoch)
    iterations: int  # calls per sample
    timing: str  # "measured" (at the full length) or "projected" (from shorter lengths)
    result: TrainResult  # the last result of the longest loop timed
    compile_s: float  # the first prepare(): conversion to the framework's arrays, and compilation
    first_call_s: float  # the first call, at pilot_epochs
    first_call_extra_s: float  # what the first call cost beyond a warm one: one-time work
    pilot_epochs: int
    peak_memory_bytes: int | None
    projection: dict | None = None  # the per-epoch fit (lengths, timings, fixed cost, per-epoch cost, projection)


@cache
def reference_result(problem: Problem, epochs: int | None = None) -> TrainResult:
    """The reference implementation's result on a problem (or its first `epochs` epochs), computed once."""
    shortened = problem if epochs in (None, problem.epochs) else dataclasses.replace(problem, epochs=epochs)
    return get(REFERENCE).train(shortened)


def assert_agrees(result: TrainResult, reference: TrainResult, tolerance: float) -> None:
    """Every field of a result within tolerance of the reference's: a fast wrong loop fails."""
    for name in RESULT_FIELDS:
        np.testing.assert_allclose(
            getattr(result, name), getattr(reference, name), rtol=0, atol=tolerance, err_msg=name
        )


@dataclass(frozen=True)
class Pilot:
    """A loop's first calls at a few epochs, from which its budget decides how it is timed."""

    train: Callable[[], TrainResult]  # the loop at `epochs`, warmed up
    epochs: int
    compile_s: float
    first_call_s: float
    warm_s: float
    result: TrainResult

    def per_epoch_lengths(self, problem: Problem, budget: Budget) -> list[int] | None:
        """The lengths at which the budget times this loop to project its full length; None where it times the full
        length."""
        # an overestimate: a call's fixed cost counted once per pilot
        full_call_s = self.warm_s * problem.epochs / self.epochs
        if not (budget.projects(full_call_s) and budget.can_project(problem.epochs)):
            return None
        step = budget.length_step(self.warm_s / self.epochs, problem.epochs)
        return [length * step for length in budget.lengths]


def fly_pilot(implementation: Implementation, problem: Problem, budget: Budget) -> Pilot:
    """Prepare the loop at budget.pilot_epochs (its compilation timed) and call it twice: the first call, and a warm
    one."""
    epochs = min(budget.pilot_epochs, problem.epochs)
    compile_s, train = timed(lambda: implementation.prepare(at_length(problem, epochs)))
    first_call_s, _ = timed(train)
    warm_s, result = timed(train)
    return Pilot(train, epochs, compile_s, first_call_s, warm_s, result)


def time_loop(
    implementation: Implementation,
    problem: Problem,
    budget: Budget,
    check: Callable[[TrainResult, int], None],
    replicate: tuple[int, int] = (0, 1),
    disable_gc: bool = False,
) -> LoopTiming:
    """Time a training loop under the budget. A first call at a few epochs (the pilot) estimates the full-length call; a
    loop the budget finds too slow is timed at budget.lengths x d epochs and its full length projected by least squares
    (under a full-length budget, --rigorous, also at its full length, to check the projection); any other is timed at
    its full length. `check(result, epochs)` holds every timed call's result; `replicate` is (this one, of how many),
    for the rounds and for which one times per epoch too."""
    epochs = problem.epochs
    pilot = fly_pilot(implementation, problem, budget)
    check(pilot.result, pilot.epochs)
    lengths = pilot.per_epoch_lengths(problem, budget)
    common = dict(
        compile_s=pilot.compile_s,
        first_call_s=pilot.first_call_s,
        first_call_extra_s=max(0.0, pilot.first_call_s - pilot.warm_s),
        pilot_epochs=pilot.epochs,
    )

    projection = None
    # under a full-length budget the first replicate checks the projection (its first process's record keeps the
    # first's)
    if lengths and (not budget.full_length or replicate[0] == 0):
        loops = {length: implementation.prepare(at_length(problem, length)) for length in lengths}
        mark = reset_peak()
        timings: list[tuple[int, float]] = []
        for _ in range(
            budget.samples_per_length
        ):  # interleaved, so that a drift of the machine falls on every length alike
            for length, loop in loops.items():
                seconds, result = timed(loop)
                check(result, length)
                timings.append((length, seconds))
        fit = fit_epochs([length for length, _ in timings], [seconds for _, seconds in timings], epochs)
        # a line that falls is the epochs' cost lost in the noise of the short lengths: no projection, the full length
        # timed
        if fit.per_epoch_s > 0 and fit.projected_s > 0:
            projection = {
                "epochs": [length for length, _ in timings],
                "seconds": [seconds for _, seconds in timings],
                "fixed_s": fit.fixed_s,
                "per_epoch_s": fit.per_epoch_s,
                "per_epoch_interval": [fit.per_epoch.low, fit.per_epoch.high],
                "projected_s": fit.projected_s,
                "projected_interval": [fit.projected.low, fit.projected.high],
                "confidence": fit.projected.coverage,
            }
        if projection and not budget.full_length:
            # one value per call at the longest length, centred on the projection with the same relative spread: an
            # absolute spread scaled up by epochs / length could take a call below zero where a fixed cost per call
            # dominates
            longest = [seconds for length, seconds in timings if length == lengths[-1]]
            durations = [fit.projected_s * seconds / float(np.median(longest)) for seconds in longest]
            return LoopTiming(
                durations, 1, "projected", result, peak_memory_bytes=peak_above(mark), projection=projection, **common
            )

    train = pilot.train if pilot.epochs == epochs else implementation.prepare(problem)
    mark = reset_peak()
    if lengths:  # rigorous, and too slow for a warm-up at full length: the pilot warmed the framework up
        iterations, call_s = 1, pilot.warm_s * epochs / pilot.epochs
    else:
        iterations, call_s = calibrated_iterations(train, budget)
    results: list[TrainResult] = []

    def check_full_length(result: TrainResult) -> None:
        check(result, epochs)
        results[:] = [result]

    durations = sample(
        train,
        iterations,
        budget,
        partial(budget.samples_needed, replicate=replicate[0], replicates=replicate[1]),
        call_s,
        check_full_length,
        disable_gc,
    )
    return LoopTiming(
        durations,
        iterations,
        "measured",
        results[-1],
        peak_memory_bytes=peak_above(mark),
        projection=projection,
        **common,
    )


def at_length(problem: Problem, epochs: int) -> Problem:
    """The same problem trained for another number of epochs."""
    return problem if epochs == problem.epochs else dataclasses.replace(problem, epochs=epochs)


def dtypes_computed(result: TrainResult) -> str:
    """The dtypes a result was really computed in (its weights, outputs and loss history), not the one requested."""
    return ", ".join(sorted({str(getattr(result, name).dtype) for name in RESULT_FIELDS}))


def loop_info(implementation: Implementation, problem: Problem, median: float, threads: dict) -> dict:
    """What a saved run records about any training-loop benchmark: what ran, at which sizes, and its time per epoch."""
    return dict(
        implementation=implementation.name,
        framework=implementation.framework,
        built_on=implementation.built_on,
        variant=implementation.variant,
        compiled=implementation.compiled,
        gradients=implementation.gradients,
        versions=implementation.versions(),
        dtype=problem.dtype,
        epochs=problem.epochs,
        **problem.sizes,
        time_per_epoch_s=median / problem.epochs,
        threads=threads,
        card=implementation.card,
    )


def timing_info(timing: LoopTiming) -> dict:
    """What a saved run records about how a loop was timed."""
    info = dict(
        timing=timing.timing,
        iterations=timing.iterations,
        compile_s=timing.compile_s,
        first_call_s=timing.first_call_s,
        first_call_extra_s=timing.first_call_extra_s,
        pilot_epochs=timing.pilot_epochs,
        peak_memory_bytes=timing.peak_memory_bytes,
    )
    return info | ({"projection": timing.projection} if timing.projection else {})
