"""Time each implementation's full training loop on the notebook's problem, or on a user's problem file."""

import math
import os
from pathlib import Path

from benchmarks.plugin.environment import enforce_threads
from benchmarks.plugin.notebook import check_notebook_result
from benchmarks.plugin.parameters import implementation_times
from implementations import get, seed_problem
from implementations.agreement import result_tolerance
from implementations.registry import frameworks_loaded

from .loops import assert_agrees, dtypes_computed, import_seconds, loop_info, prepare_loop, reference_result

# the timed rounds of a loop too slow for pytest-benchmark's minimum in this many seconds are cut down to fit
# it, but never below SLOW_LOOP_ROUNDS; the report marks them
SLOW_LOOP_BUDGET_S = 10.0
SLOW_LOOP_ROUNDS = 5


def pytest_generate_tests(metafunc):
    if "dtype" in metafunc.fixturenames:
        problem = metafunc.config.user_problem  # a user's problem comes in its own dtype; the notebook's in both
        dtypes = [problem.dtype] if problem else ["float64", "float32"]
        metafunc.parametrize(("name", "dtype"), implementation_times(dtypes, str))  # test_training_loop[numpy-float64]


def test_training_loop(benchmark, name, dtype, pytestconfig):
    """The whole training loop, compilation and the first call kept out of the timed rounds."""
    user_problem = pytestconfig.user_problem
    implementation, problem = get(name), user_problem or seed_problem(dtype)
    # the plugin runs an implementation that needs its own environment in a child process started with it
    assert implementation.in_this_process or not benchmark.enabled, f"{name} would be timed through a worker's pipe"
    threads = enforce_threads(pytestconfig.threads)
    loop = prepare_loop(implementation, problem, first_call=benchmark.enabled)

    source = f"problem {Path(pytestconfig.option.problem).name}" if user_problem else "notebook problem"
    benchmark.group = f"{source}, {problem.dtype}"
    min_rounds = pytestconfig.getoption("benchmark_min_rounds")
    if loop.first_call_s * min_rounds > SLOW_LOOP_BUDGET_S:  # a slow loop: fewer rounds, never under SLOW_LOOP_ROUNDS
        rounds = max(SLOW_LOOP_ROUNDS, math.floor(SLOW_LOOP_BUDGET_S / loop.first_call_s))
        result = benchmark.pedantic(loop.train, rounds=rounds, iterations=1)
    else:
        result = benchmark(loop.train)
    peak_memory_bytes = loop.peak_memory_bytes()  # before the checks below allocate

    if user_problem:
        reference = reference_result(problem)
        assert_agrees(result, reference, result_tolerance(problem, reference, implementation.float64_exact))
    else:
        check_notebook_result(result, implementation.float64_exact)
    benchmark.extra_info.update(
        **loop_info(benchmark, implementation, problem, loop, threads, peak_memory_bytes),
        import_s=import_seconds(name) if benchmark.enabled else None,
        few_rounds=benchmark.enabled and benchmark.stats.stats.rounds < min_rounds,
        dtype_computed=dtypes_computed(result),
        float64_cause=implementation.float64_cause,
        pid=os.getpid(),
        frameworks_loaded=frameworks_loaded(),
        loss_history=result.loss_history.tolist(),
    )
