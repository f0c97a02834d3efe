"""Time each implementation's full training loop on the notebook's problem."""

import os
import sys
from functools import cache
from pathlib import Path
from time import perf_counter

import numpy as np
import pytest

from conftest import implementation_params
from implementations import get, seed_problem

from .environment import enforce_threads
from .parity import FIELDS, default_tolerance


FRAMEWORK_MODULES = {"numpy", "torch", "jax", "numba"}


def pytest_generate_tests(metafunc):
    if "dtype" in metafunc.fixturenames:  # a user's problem comes in its own dtype; the notebook's in both
        problem = metafunc.config.user_problem
        metafunc.parametrize("dtype", [problem.dtype] if problem else ["float64", "float32"])


@cache
def numpy_result(problem):
    """NumPy's result on a user's problem: the reference the other implementations must match."""
    return get("numpy").train(problem)


@pytest.mark.parametrize("name", implementation_params())
def test_training_loop(benchmark, name, dtype, check_notebook_result, pytestconfig):
    """The whole training loop, compilation and the first call kept out of the timed rounds."""
    user_problem = pytestconfig.user_problem
    implementation, problem = get(name), user_problem or seed_problem(dtype)
    threads = enforce_threads(pytestconfig.threads)
    start = perf_counter()
    train = implementation.prepare(problem)
    prepared = perf_counter()
    train()
    first_call_s = perf_counter() - prepared

    source = f"problem {Path(pytestconfig.option.problem).name}" if user_problem else "notebook problem"
    benchmark.group = f"{source}, {problem.dtype}"
    result = benchmark(train)

    if user_problem:  # a fast wrong loop fails: every implementation must match NumPy's result
        reference = numpy_result(problem)
        tolerance = default_tolerance(problem, reference)
        for field in FIELDS:
            np.testing.assert_allclose(getattr(result, field), getattr(reference, field), rtol=0, atol=tolerance, err_msg=field)
    else:
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
