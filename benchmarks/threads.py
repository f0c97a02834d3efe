"""One thread count for every framework's pool: NumPy's BLAS, PyTorch's intra- and inter-op, and XLA."""

from __future__ import annotations

import os
import sys

THREADS_ENV = "BACKPROP_BENCH_THREADS"
_XLA_SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false"

_blas_limiter = None  # threadpoolctl keeps the limit only while this object lives


def requested_threads(option: int | None = None) -> int:
    """The thread count asked for: the option, else $BACKPROP_BENCH_THREADS, else 1."""
    value = option if option is not None else os.environ.get(THREADS_ENV, "1")
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"thread count must be an integer >= 1, got {value!r} (from --threads or ${THREADS_ENV})")
    return threads


def limit_threads(threads: int) -> dict[str, object]:
    """Set every framework's thread pool to `threads`; return what is in force."""
    global _blas_limiter
    if "jax" in sys.modules:
        raise RuntimeError("limit_threads must run before jax is imported: XLA reads its flags once")
    flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if not f.startswith("--xla_cpu_multi_thread_eigen")]
    if threads == 1:
        flags.append(_XLA_SINGLE_THREAD)
    os.environ["XLA_FLAGS"] = " ".join(flags)

    import numpy  # noqa: F401  threadpoolctl limits only the pools already loaded
    import threadpoolctl

    try:
        import torch
    except ImportError:
        pass
    else:
        torch.set_num_threads(threads)
        if torch.get_num_interop_threads() != threads:
            torch.set_num_interop_threads(threads)
    _blas_limiter = threadpoolctl.threadpool_limits(threads)
    return threads_in_force()


def threads_in_force() -> dict[str, object]:
    """The thread settings each framework reports now."""
    import threadpoolctl

    info: dict[str, object] = {
        "pools": [
            {"library": pool["internal_api"], "threads": pool["num_threads"], "version": pool.get("version")}
            for pool in threadpoolctl.threadpool_info()
        ],
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info["torch_intra_op"] = torch.get_num_threads()
        info["torch_inter_op"] = torch.get_num_interop_threads()
    return info
