"""The machine's rates for what an epoch needs, measured at the run's thread count and dtype: the roofline's inputs.

Each rate is the fastest of a few tries and, for sigmoids and multiply-adds, of the ways this suite knows to compute
them, so that the roofline stays a lower bound: no implementation should beat the best measured way.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from time import perf_counter

import numba
import numpy as np
from numba import prange

from benchmarks.model.roofline import Rates
from benchmarks.plugin.fingerprint import caches
from benchmarks.plugin.sweep_plan import SEED
from implementations.with_numba import sigmoid

TRIES = 5
SIGMOID_ELEMENTS = 16_384  # per thread: large enough that a NumPy call's overhead is a few percent, small enough for L2
SIGMOID_PASSES = 20
MATMUL_SIZE = 1024  # square: large enough for BLAS to reach its steady rate, small enough for 2 cores
MEMORY_BYTES = 128 * 2**20  # a triad array past any cache of this machine
UNITS = {"K": 2**10, "M": 2**20, "G": 2**30}
# streamed by each timed triad in a cache: long enough to time, brief in an L3 of any size
TRIAD_BYTES_IN_CACHE = 2 * 2**30


@numba.njit(parallel=True, fastmath={"contract"}, error_model="numpy", cache=True)
def sigmoid_passes(z, passes):
    """s(z) in place, `passes` times, one row per thread, by the vectorized sigmoid of the native loop."""
    for row in prange(z.shape[0]):
        for _ in range(passes):
            for j in range(z.shape[1]):
                z[row, j] = sigmoid(z[row, j])


@numba.njit(parallel=True, cache=True)
def triad_passes(a, b, c, scalar, passes):
    """STREAM's triad, a = b + scalar·c, `passes` times, one row per thread."""
    for row in prange(a.shape[0]):
        for _ in range(passes):
            for i in range(a.shape[1]):
                a[row, i] = b[row, i] + scalar * c[row, i]


def fastest(run, *arguments, tries: int = TRIES) -> float:
    """The least time of a few calls of `run(*arguments)`, after one untimed call."""
    run(*arguments)
    times = []
    for _ in range(tries):
        start = perf_counter()
        run(*arguments)
        times.append(perf_counter() - start)
    return min(times)


def numpy_sigmoids(z: np.ndarray, threads: int):
    """s(z) in place with NumPy, one row per Python thread (its ufuncs release the GIL)."""

    def rows(row):
        for _ in range(SIGMOID_PASSES):
            np.negative(row, out=row)
            np.exp(row, out=row)
            row += 1
            np.reciprocal(row, out=row)

    if threads == 1:
        return lambda: rows(z[0])
    pool = ThreadPoolExecutor(threads)
    return lambda: list(pool.map(rows, z))


def matmul(library: str, dtype: str):
    """A MATMUL_SIZE x MATMUL_SIZE matrix product in one library (numpy, torch or jax), waiting for its result."""
    a = np.random.default_rng(SEED).uniform(-1, 1, (MATMUL_SIZE, MATMUL_SIZE)).astype(dtype)
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


def matmul_rates(dtype: str) -> dict[str, float]:
    """Multiply-adds per second of a large matrix product, by NumPy and, where it is loaded here, PyTorch (BLAS)."""
    libraries = ["numpy"] + ["torch"] * ("torch" in sys.modules)
    return {
        f"{library} {MATMUL_SIZE}² matmul": MATMUL_SIZE**3 / fastest(matmul(library, dtype)) for library in libraries
    }


def bandwidths(dtype: str, threads: int) -> dict[str, dict]:
    """Per level of the memory hierarchy: the bytes that fit in it (all threads together) and the triad's bytes per
    second there, each thread on arrays that fill a quarter of its share (all of memory: arrays past the caches)."""
    sizes = {level: int(text[:-1]) * UNITS[text[-1]] for level, text in caches().items() if text[-1:] in UNITS}
    levels = {level: sizes[level] * (threads if level == "L2" else 1) for level in ("L2", "L3") if level in sizes}
    levels["memory"] = None  # L2 is per core, L3 shared; memory holds everything
    found = {}
    for level, size in levels.items():
        array_bytes = MEMORY_BYTES if size is None else size // threads // 4
        n = array_bytes // np.dtype(dtype).itemsize
        a, b, c = np.zeros((threads, n), dtype), np.ones((threads, n), dtype), np.full((threads, n), 2, dtype)
        passes = 1 if size is None else max(1, TRIAD_BYTES_IN_CACHE // (3 * a.nbytes))
        scalar = np.dtype(dtype).type(3)
        found[level] = {
            "bytes": size,
            "bytes_per_s": 3 * a.nbytes * passes / fastest(triad_passes, a, b, c, scalar, passes),
        }
    return found


@cache
def measured_rates(dtype: str, threads: int) -> Rates:
    """The rates at `threads` threads (the pools already set to it) and `dtype`."""
    z = np.random.default_rng(0).uniform(-4, 4, (threads, SIGMOID_ELEMENTS)).astype(dtype)
    sigmoids = threads * SIGMOID_ELEMENTS * SIGMOID_PASSES
    sigmoid_rates = {
        "NumPy 1/(1+exp(-z))": sigmoids / fastest(numpy_sigmoids(z, threads)),
        "native's vectorized sigmoid": sigmoids / fastest(sigmoid_passes, z, SIGMOID_PASSES),
    }
    multiply_add_rates = matmul_rates(dtype)
    best_sigmoid, best_matmul = (
        max(sigmoid_rates, key=sigmoid_rates.get),
        max(multiply_add_rates, key=multiply_add_rates.get),
    )
    return Rates(
        sigmoids_per_s=sigmoid_rates[best_sigmoid],
        multiply_adds_per_s=multiply_add_rates[best_matmul],
        bandwidths=bandwidths(dtype, threads),
        sources={"sigmoids": best_sigmoid, "multiply_adds": best_matmul, "bandwidths": "STREAM triad"},
    )
