"""Time each implementation's full training loop on the notebook's problem."""

import os
import sys
from time import perf_counter

import pytest

from conftest import implementation_params
from implementations import get, seed_problem

from .environment import enforce_threads


FRAMEWORK_MODULES = {"numpy", "torch", "jax", "numba"}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", implementation_params())
def test_training_loop(benchmark, name, dtype, check_notebook_result, pytestconfig):
    """1000 epochs of the notebook's problem, compilation and the first call kept out of the timed rounds."""
    implementation, problem = get(name), seed_problem(dtype)
    threads = enforce_threads(pytestconfig.threads)
    start = perf_counter()
    train = implementation.prepare(problem)
    prepared = perf_counter()
    train()
    first_call_s = perf_counter() - prepared

    benchmark.group = f"notebook problem, {problem.dtype}"
    result = benchmark(train)

    check_notebook_result(result)
    median = benchmark.stats.stats.median if benchmark.enabled else float("nan")
    benchmark.extra_info.update(
        implementation=name,
        framework=implementation.framework,
        variant=implementation.variant,
        compiled=implementation.compiled,
        gradients=implementation.gradients,
        versions=implementation.versions(),
        dtype=problem.dtype,
        epochs=problem.epochs,
        **problem.sizes,
        compile_s=prepared - start,
        first_call_s=first_call_s,
        time_per_epoch_s=median / problem.epochs,
        threads=threads,
        pid=os.getpid(),
        frameworks_loaded=sorted(FRAMEWORK_MODULES & set(sys.modules)),
        loss_history=result.loss_history.tolist(),
    )
