"""The scaling sweep (pytest --benchmark-only --sweep): the training loop at growing width and batch, and the peak."""

import math
from functools import cache
from operator import attrgetter

import numpy as np
import pytest

from benchmarks.plugin.environment import enforce_threads
from benchmarks.plugin.parameters import implementation_times, skip_unless_available
from benchmarks.plugin.sweep_plan import (
    MAX_ROUNDS,
    MIN_ROUNDS,
    N_IN,
    N_OUT,
    NOT_SWEPT,
    SEED,
    SWEEP_DTYPE,
    TARGET_SECONDS_PER_POINT,
    SweepPoint,
)
from implementations import get, random_problem

from .loops import assert_agrees, loop_info, prepare_loop, reference_result

PEAK_SIZE = 1024  # square matrices: large enough for BLAS to reach its steady rate, small enough for 2 cores
# the reduction order differs (BLAS blocks, XLA, scalar loops) over up to 2048 x 1024 terms per weight
SWEEP_AGREEMENT = 1e-10


def pytest_generate_tests(metafunc):
    if "sweep_point" in metafunc.fixturenames:
        points = metafunc.config.sweep_points
        metafunc.parametrize(("name", "sweep_point"), implementation_times(points, attrgetter("benchmark_id"), exclude=NOT_SWEPT))


@cache
def sweep_problem(point: SweepPoint):
    """The problem at one sweep point: the notebook's input and output sizes, random weights from a fixed seed."""
    return random_problem(SEED, n_in=N_IN, n_hidden=point.n_hidden, n_out=N_OUT, batch=point.batch,
                          learning_rate=0.1, epochs=point.epochs, dtype=SWEEP_DTYPE)


@pytest.mark.sweep
def test_sweep(benchmark, sweep_point, name, pytestconfig):
    """One implementation's training loop at one size, checked against the reference implementation's."""
    implementation, problem = get(name), sweep_problem(sweep_point)
    threads = enforce_threads(pytestconfig.threads)
    loop = prepare_loop(implementation, problem, first_call=benchmark.enabled)

    benchmark.group = f"sweep, {SWEEP_DTYPE}"
    rounds = max(MIN_ROUNDS, min(MAX_ROUNDS, math.ceil(TARGET_SECONDS_PER_POINT / loop.first_call_s)))
    result = benchmark.pedantic(loop.train, rounds=rounds, iterations=1)

    assert_agrees(result, reference_result(problem), SWEEP_AGREEMENT)
    benchmark.extra_info.update(
        kind="sweep", **loop_info(benchmark, implementation, problem, loop, threads),
        multiply_adds_per_epoch=sweep_point.multiply_adds, flops_per_epoch=sweep_point.flops,
    )


def matmul(library: str):
    """A float64 PEAK_SIZE x PEAK_SIZE matrix product in one library, waiting for its result."""
    a = np.random.default_rng(SEED).uniform(-1, 1, (PEAK_SIZE, PEAK_SIZE))
    if library == "numpy":
        return lambda: a @ a
    if library == "torch":
        import torch

        t = torch.from_numpy(a)
        return lambda: t @ t
    import jax

    with jax.enable_x64(True):
        j = jax.device_put(a)
        product = jax.jit(lambda m: m @ m).lower(j).compile()
    return lambda: product(j).block_until_ready()


@pytest.mark.sweep
@pytest.mark.parametrize("library", [pytest.param(name, marks=skip_unless_available(name)) for name in ("numpy", "torch", "jax")])
def test_peak(benchmark, library, pytestconfig):
    """The machine's limit: a large float64 matrix product, same thread count; the sweep's fractions use the best."""
    product = matmul(library)
    threads = enforce_threads(pytestconfig.threads)
    product()
    benchmark.group = f"peak, {SWEEP_DTYPE}"
    benchmark.pedantic(product, rounds=10, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(kind="peak", library=library, size=PEAK_SIZE, dtype=SWEEP_DTYPE,
                                flops=2 * PEAK_SIZE**3, threads=threads)

