"""Time each implementation's full training loop on the notebook's problem, or on a user's problem file."""

import os
from pathlib import Path

import pytest

from benchmarks.plugin import session_of
from benchmarks.plugin.notebook import check_notebook_result
from benchmarks.plugin.parameters import implementation_times
from implementations import get, seed_problem
from implementations.agreement import result_tolerance
from implementations.registry import frameworks_loaded

from .loops import (
    assert_agrees,
    at_length,
    dtypes_computed,
    fly_pilot,
    loop_info,
    reference_result,
    time_loop,
    timing_info,
)


def pytest_generate_tests(metafunc):
    if "dtype" in metafunc.fixturenames:
        problem = session_of(
            metafunc.config
        ).user_problem  # a user's problem comes in its own dtype; the notebook's in both
        dtypes = [problem.dtype] if problem else ["float64", "float32"]
        metafunc.parametrize(("name", "dtype"), implementation_times(dtypes, str))  # test_training_loop[numpy-float64]


@pytest.mark.slow  # in a plain test run, the notebook's 1000 epochs: the full suite's check, not the quick tier's
def test_training_loop(benchmark, name, dtype, pytestconfig, measurement):
    """The whole training loop under the run's budget, compilation and the first call kept out of the timed calls; every
    timed call's result checked: the notebook's printed digits at its full length, NumPy's first epochs at fewer."""
    user_problem = measurement.user_problem
    implementation, problem = get(name), user_problem or seed_problem(dtype)
    # the plugin runs an implementation that needs its own environment in a child process started with it
    assert implementation.in_this_process or not benchmark.enabled, f"{name} would be timed through a worker's pipe"
    threads = measurement.enforce_threads()

    def check(result, epochs):
        if epochs == problem.epochs and not user_problem:
            check_notebook_result(result, implementation.float64_exact)
        else:
            reference = reference_result(problem, epochs)
            assert_agrees(
                result, reference, result_tolerance(at_length(problem, epochs), reference, implementation.float64_exact)
            )

    source = f"problem {Path(pytestconfig.option.problem).name}" if user_problem else "notebook problem"
    benchmark.group = f"{source}, {problem.dtype}"
    if not benchmark.enabled:  # a plain test run: what a timed run checks, through the disabled fixture, untimed
        epochs = problem.epochs  # the notebook's float64 result: the run's one training of it, shared with the tests
        if (
            user_problem or problem.dtype != "float64"
        ):  # else at full length too, but a loop the budget times per epoch at
            pilot = fly_pilot(implementation, problem, measurement.budget)  # the longest length it times
            check(pilot.result, pilot.epochs)
            epochs = (pilot.per_epoch_lengths(problem, measurement.budget) or [problem.epochs])[-1]
        check(benchmark(lambda: measurement.trainings.of(name, at_length(problem, epochs))), epochs)
        return
    timing = time_loop(
        implementation, problem, measurement.budget, check, measurement.replicate, measurement.disable_gc
    )
    measurement.record(benchmark, timing.durations, timing.iterations)
    benchmark.extra_info.update(
        kind="loop",
        **loop_info(implementation, problem, benchmark.stats.stats.median, threads),
        **timing_info(timing),
        **measurement.import_record(name),
        dtype_computed=dtypes_computed(timing.result),
        float64_cause=implementation.float64_cause,
        pid=os.getpid(),
        frameworks_loaded=frameworks_loaded(),
        loss_history=timing.result.loss_history.tolist(),
    )
