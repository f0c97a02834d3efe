"""The scaling sweep (pytest --benchmark-only --sweep): the training loop at growing width and batch, and the peak."""

from functools import cache
from operator import attrgetter

import numpy as np
import pytest

from benchmarks.model.roofline import EpochWork, roofline
from benchmarks.plugin import session_of
from benchmarks.plugin.budget import SWEEP
from benchmarks.plugin.parameters import implementation_times, skip_unless_available
from benchmarks.plugin.sweep_plan import N_IN, N_OUT, SEED, SweepPoint, swept_at
from implementations import get, random_problem
from implementations.agreement import result_tolerance

from .loops import assert_agrees, at_length, loop_info, reference_result, time_loop, timing_info
from .roofline import MATMUL_SIZE, matmul, measured_rates

# the reduction order differs (BLAS blocks, XLA, scalar loops) over up to 2048 x 1024 terms per weight
SWEEP_AGREEMENT = 1e-10


def pytest_generate_tests(metafunc):
    if "sweep_point" in metafunc.fixturenames:
        points = session_of(metafunc.config).sweep_points
        metafunc.parametrize(
            ("name", "sweep_point"), implementation_times(points, attrgetter("benchmark_id"), wanted=swept_at)
        )


@cache
def sweep_problem(point: SweepPoint, dtype: str):
    """The problem at one sweep point: the notebook's input and output sizes, random weights from a fixed seed."""
    return random_problem(
        SEED,
        n_in=N_IN,
        n_hidden=point.n_hidden,
        n_out=N_OUT,
        batch=point.batch,
        learning_rate=0.1,
        epochs=point.epochs,
        dtype=dtype,
    )


@pytest.mark.sweep
def test_sweep(benchmark, sweep_point, name, pytestconfig, measurement):
    """One implementation's training loop at one size under the sweep's budget, every timed call checked against the
    reference implementation's, and held to the roofline: faster than the least time the machine allows would mean the
    roofline's model is wrong."""
    dtype = pytestconfig.getoption("sweep_dtype")
    implementation, problem = get(name), sweep_problem(sweep_point, dtype)
    threads = measurement.enforce_threads()
    # float32, and an implementation that says why it cannot be float64-exact, are held to float32's drift bound
    float64_exact = problem.dtype == "float64" and implementation.float64_exact

    def check(result, epochs):
        reference = reference_result(problem, epochs)
        assert_agrees(
            result,
            reference,
            SWEEP_AGREEMENT if float64_exact else result_tolerance(at_length(problem, epochs), reference, exact=False),
        )

    benchmark.group = f"sweep, {dtype}"
    if not benchmark.enabled:  # a plain test run: the loop once, through the disabled fixture, as a check
        check(benchmark(implementation.prepare(problem)), problem.epochs)
        return
    limit = roofline(
        EpochWork.of(**problem.sizes, itemsize=np.dtype(dtype).itemsize), measured_rates(dtype, measurement.threads)
    )
    timing = time_loop(implementation, problem, SWEEP, check, disable_gc=measurement.disable_gc)
    measurement.record(benchmark, timing.durations, timing.iterations)
    benchmark.extra_info.update(
        kind="sweep",
        **loop_info(implementation, problem, benchmark.stats.stats.median, threads),
        **timing_info(timing),
        multiply_adds_per_epoch=sweep_point.multiply_adds,
        flops_per_epoch=sweep_point.flops,
        roofline_s=limit["seconds"],
        roofline=limit,
    )
    assert benchmark.stats.stats.min / problem.epochs >= limit["seconds"], (
        f"{name} ran an epoch in {benchmark.stats.stats.min / problem.epochs:.3g} s, under the roofline's "
        f"{limit['seconds']:.3g} s: the roofline's model misses a faster way to compute, see "
        "benchmarks/model/roofline.py"
    )


@pytest.mark.sweep
@pytest.mark.parametrize(
    "library", [pytest.param(name, marks=skip_unless_available(name)) for name in ("numpy", "torch", "jax")]
)
def test_peak(benchmark, library, pytestconfig, measurement):
    """A large matrix product in the sweep's dtype, same thread count: the rate of dense math, a reference line."""
    dtype = pytestconfig.getoption("sweep_dtype")
    product = matmul(library, dtype)
    threads = measurement.enforce_threads()
    product()
    benchmark.group = f"peak, {dtype}"
    benchmark.pedantic(product, rounds=10, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(
        kind="peak", library=library, size=MATMUL_SIZE, dtype=dtype, flops=2 * MATMUL_SIZE**3, threads=threads
    )
