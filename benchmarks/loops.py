"""What every training-loop benchmark does around its timed rounds: prepare apart, check the result, describe it."""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter
from typing import Callable

import numpy as np

from implementations import Implementation, Problem, TrainResult

from .parity import FIELDS


@dataclass(frozen=True)
class PreparedLoop:
    """A training loop ready to time, with what it cost to get there."""

    train: Callable[[], TrainResult]
    compile_s: float  # prepare(): conversion to the framework's arrays, and compilation
    first_call_s: float  # the first, untimed call


def prepare_loop(implementation: Implementation, problem: Problem) -> PreparedLoop:
    """Prepare and call the loop once, timing both, so neither lands in the timed rounds."""
    start = perf_counter()
    train = implementation.prepare(problem)
    prepared = perf_counter()
    train()
    return PreparedLoop(train, prepared - start, perf_counter() - prepared)


def assert_agrees(result: TrainResult, reference: TrainResult, tolerance: float) -> None:
    """Every field of a result within tolerance of the reference's: a fast wrong loop fails."""
    for field in FIELDS:
        np.testing.assert_allclose(getattr(result, field), getattr(reference, field), rtol=0, atol=tolerance, err_msg=field)


def loop_info(benchmark, implementation: Implementation, problem: Problem, loop: PreparedLoop, threads: dict) -> dict:
    """What a saved run records about one training-loop benchmark."""
    median = benchmark.stats.stats.median if benchmark.enabled else float("nan")
    return dict(
        implementation=implementation.name, framework=implementation.framework, variant=implementation.variant,
        compiled=implementation.compiled, gradients=implementation.gradients, versions=implementation.versions(),
        dtype=problem.dtype, epochs=problem.epochs, **problem.sizes, compile_s=loop.compile_s,
        first_call_s=loop.first_call_s, time_per_epoch_s=median / problem.epochs, threads=threads,
    )
