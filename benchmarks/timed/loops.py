"""What every training-loop benchmark does around its timed rounds: prepare apart, check the result, describe it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from time import perf_counter

import numpy as np

from implementations import Implementation, Problem, TrainResult, get
from implementations.problem import RESULT_FIELDS
from implementations.registry import REFERENCE, REGISTRY

from .memory import peak_above, reset_peak


@dataclass(frozen=True)
class PreparedLoop:
    """A training loop ready to time, with what it cost to get there."""

    train: Callable[[], TrainResult]
    compile_s: float  # prepare(): conversion to the framework's arrays, and compilation
    first_call_s: float  # the first, untimed call
    memory_mark: int | None = None  # the resident set after prepare() (KiB), the high-water mark reset to it

    def peak_memory_bytes(self) -> int | None:
        """What the loop has needed beyond the prepared process since its first call: the high-water mark's rise."""
        return peak_above(self.memory_mark)


def prepare_loop(implementation: Implementation, problem: Problem, first_call: bool = True) -> PreparedLoop:
    """Prepare and call the loop once, timing both, so neither lands in the timed rounds (without `first_call`, as
    in a plain test run where the one call is the check, the first call is left to the caller)."""
    start = perf_counter()
    train = implementation.prepare(problem)
    prepared = perf_counter()
    if not first_call:
        return PreparedLoop(train, prepared - start, float("nan"))
    mark = reset_peak()
    called = perf_counter()
    train()
    return PreparedLoop(train, prepared - start, perf_counter() - called, mark)


def assert_agrees(result: TrainResult, reference: TrainResult, tolerance: float) -> None:
    """Every field of a result within tolerance of the reference's: a fast wrong loop fails."""
    for name in RESULT_FIELDS:
        np.testing.assert_allclose(getattr(result, name), getattr(reference, name), rtol=0, atol=tolerance, err_msg=name)


IMPORT_TIMER = "import importlib, sys, time; start = time.perf_counter(); importlib.import_module(sys.argv[1]); print(time.perf_counter() - start)"


@cache
def import_seconds(name: str) -> float:
    """Seconds to import the implementation, its framework with it, in a fresh interpreter with the environment it needs
    (what a user's script pays before anything else)."""
    entry = REGISTRY[name]
    done = subprocess.run([sys.executable, "-c", IMPORT_TIMER, f"implementations.{entry.module}"], capture_output=True,
                          text=True, check=True, cwd=Path(__file__).parents[2], env=os.environ | entry.environment)
    return float(done.stdout.split()[-1])


@cache
def reference_result(problem: Problem) -> TrainResult:
    """The reference implementation's result on a problem, which every other must match (computed once per problem)."""
    return get(REFERENCE).train(problem)


def loop_info(benchmark, implementation: Implementation, problem: Problem, loop: PreparedLoop, threads: dict,
              peak_memory_bytes: int | None) -> dict:
    """What a saved run records about one training-loop benchmark (its peak memory read as its timed rounds ended)."""
    median = benchmark.stats.stats.median if benchmark.enabled else float("nan")
    return dict(
        implementation=implementation.name, framework=implementation.framework, variant=implementation.variant,
        compiled=implementation.compiled, gradients=implementation.gradients, versions=implementation.versions(),
        dtype=problem.dtype, epochs=problem.epochs, **problem.sizes, compile_s=loop.compile_s,
        first_call_s=loop.first_call_s, time_per_epoch_s=median / problem.epochs, threads=threads, card=implementation.card,
        peak_memory_bytes=peak_memory_bytes,
    )


def dtypes_computed(result: TrainResult) -> str:
    """The dtypes a result was really computed in (its weights, outputs and loss history), not the one requested."""
    return ", ".join(sorted({str(getattr(result, name).dtype) for name in RESULT_FIELDS}))
