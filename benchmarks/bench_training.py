"""Time each implementation's full training loop on the notebook's problem."""

import os
import sys
from functools import cache
from pathlib import Path

import pytest

from conftest import implementation_params
from implementations import get, seed_problem

from .environment import enforce_threads
from .loops import assert_agrees, loop_info, prepare_loop
from .parity import default_tolerance


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
    loop = prepare_loop(implementation, problem)

    source = f"problem {Path(pytestconfig.option.problem).name}" if user_problem else "notebook problem"
    benchmark.group = f"{source}, {problem.dtype}"
    result = benchmark(loop.train)

    if user_problem:
        reference = numpy_result(problem)
        assert_agrees(result, reference, default_tolerance(problem, reference))
    else:
        check_notebook_result(result)
    benchmark.extra_info.update(
        **loop_info(benchmark, implementation, problem, loop, threads),
        pid=os.getpid(),
        frameworks_loaded=sorted(FRAMEWORK_MODULES & set(sys.modules)),
        loss_history=result.loss_history.tolist(),
    )
