"""The scaling sweep (pytest --benchmark-only --sweep): the training loop at growing width and batch, and the peak."""

import math
from functools import cache
from operator import attrgetter

import numpy as np
import pytest

from benchmarks.model.roofline import EpochWork, roofline
from benchmarks.plugin.environment import enforce_threads
from benchmarks.plugin.parameters import implementation_times, skip_unless_available
from benchmarks.plugin.sweep_plan import MAX_ROUNDS, MIN_ROUNDS, N_IN, N_OUT, SEED, TARGET_SECONDS_PER_POINT, SweepPoint, swept_at
from implementations import get, random_problem
from implementations.agreement import result_tolerance

from .loops import assert_agrees, loop_info, prepare_loop, reference_result
from .roofline import MATMUL_SIZE, matmul, measured_rates

# the reduction order differs (BLAS blocks, XLA, scalar loops) over up to 2048 x 1024 terms per weight
SWEEP_AGREEMENT = 1e-10


def pytest_generate_tests(metafunc):
    if "sweep_point" in metafunc.fixturenames:
        points = metafunc.config.sweep_points
        metafunc.parametrize(("name", "sweep_point"),
                             implementation_times(points, attrgetter("benchmark_id"), wanted=swept_at))


@cache
def sweep_problem(point: SweepPoint, dtype: str):
    """The problem at one sweep point: the notebook's input and output sizes, random weights from a fixed seed."""
    return random_problem(SEED, n_in=N_IN, n_hidden=point.n_hidden, n_out=N_OUT, batch=point.batch,
                          learning_rate=0.1, epochs=point.epochs, dtype=dtype)


@pytest.mark.sweep
def test_sweep(benchmark, sweep_point, name, pytestconfig):
    """One implementation's training loop at one size, checked against the reference implementation's and held to
    the roofline: faster than the least time the machine allows would mean the roofline's model is wrong."""
    dtype = pytestconfig.getoption("sweep_dtype")
    implementation, problem = get(name), sweep_problem(sweep_point, dtype)
    threads = enforce_threads(pytestconfig.threads)
    limit = roofline(EpochWork.of(**problem.sizes, itemsize=np.dtype(dtype).itemsize),
                     measured_rates(dtype, pytestconfig.threads)) if benchmark.enabled else None
    loop = prepare_loop(implementation, problem, first_call=benchmark.enabled)

    benchmark.group = f"sweep, {dtype}"
    rounds = max(MIN_ROUNDS, min(MAX_ROUNDS, math.ceil(TARGET_SECONDS_PER_POINT / loop.first_call_s)))
    result = benchmark.pedantic(loop.train, rounds=rounds, iterations=1)
    peak_memory_bytes = loop.peak_memory_bytes()  # before the reference below allocates

    reference = reference_result(problem)
    # float32, and an implementation that says why it cannot be float64-exact, are held to float32's drift bound
    float64_exact = problem.dtype == "float64" and implementation.float64_exact
    assert_agrees(result, reference, SWEEP_AGREEMENT if float64_exact else result_tolerance(problem, reference, exact=False))
    info = loop_info(benchmark, implementation, problem, loop, threads, peak_memory_bytes)
    benchmark.extra_info.update(kind="sweep", **info, multiply_adds_per_epoch=sweep_point.multiply_adds,
                                flops_per_epoch=sweep_point.flops)
    if limit is not None:
        benchmark.extra_info.update(roofline_s=limit["seconds"], roofline=limit)
        assert benchmark.stats.stats.min / problem.epochs >= limit["seconds"], (
            f"{name} ran an epoch in {benchmark.stats.stats.min / problem.epochs:.3g} s, under the roofline's "
            f"{limit['seconds']:.3g} s: the roofline's model misses a faster way to compute, see benchmarks/model/roofline.py")


@pytest.mark.sweep
@pytest.mark.parametrize("library", [pytest.param(name, marks=skip_unless_available(name)) for name in ("numpy", "torch", "jax")])
def test_peak(benchmark, library, pytestconfig):
    """A large matrix product in the sweep's dtype, same thread count: the rate of dense math, a reference line."""
    dtype = pytestconfig.getoption("sweep_dtype")
    product = matmul(library, dtype)
    threads = enforce_threads(pytestconfig.threads)
    product()
    benchmark.group = f"peak, {dtype}"
    benchmark.pedantic(product, rounds=10, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(kind="peak", library=library, size=MATMUL_SIZE, dtype=dtype,
                                flops=2 * MATMUL_SIZE**3, threads=threads)

