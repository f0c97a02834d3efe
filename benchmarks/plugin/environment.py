"""The conditions of a measurement: one thread count for every framework, and a record of what was in force."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from importlib import metadata

from benchmarks.options import checked
from implementations.registry import loaded_modules, requirement_names

THREADS_ENV = "BACKPROP_BENCH_THREADS"  # a user's default thread count; a benchmark's child process gets its parent's
ALLOWED_CPUS_ENV = "BACKPROP_BENCH_ALLOWED_CPUS"  # in a child process's environment: the CPUs its parent could use
# besides the frameworks of the registry, the packages that shape how a run is measured and reported
MEASUREMENT_PACKAGES = ("pytest-benchmark", "pandas", "matplotlib", "threadpoolctl")
# environment variables that change what the frameworks do, recorded with every run
RELEVANT_ENVIRONMENT = (
    "XLA_FLAGS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    THREADS_ENV,
)
_XLA_SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false"


def allowed_cpus(passed: str | None = None) -> list[int]:
    """The CPUs this process may use: those the process that started it passed on (`passed`, else
    $BACKPROP_BENCH_ALLOWED_CPUS in its environment), for a worker or a benchmark's child that it pinned to fewer; else
    the process's affinity."""
    if passed := passed or os.environ.get(ALLOWED_CPUS_ENV):
        return [int(cpu) for cpu in passed.split(",")]
    return sorted(os.sched_getaffinity(0))


def thread_count(text: str) -> int:
    """A thread count: a whole number from 1 to the CPUs this process may use (more threads than CPUs would time their
    contention, not the framework)."""
    cpus = len(allowed_cpus())
    return checked(
        text,
        int,
        f"a whole number of threads from 1 to {cpus} (the CPUs this process may use)",
        lambda threads: 1 <= threads <= cpus,
    )


def requested_threads(option: int | None = None) -> int:
    """The thread count asked for: the option (checked by its parser), else $BACKPROP_BENCH_THREADS, else 1."""
    if option is not None:
        return option
    try:
        return thread_count(os.environ.get(THREADS_ENV, "1"))
    except argparse.ArgumentTypeError as error:
        raise ValueError(f"${THREADS_ENV}: {error}") from None


def configure_threads(threads: int, cpus: list[int]) -> None:
    """Before any framework is imported: pin the process to `threads` CPUs, the last of `cpus` (those it may use, in the
    order a parallel run's worker turns to its own), and set XLA's flags."""
    if "jax" in sys.modules:
        raise RuntimeError("configure_threads must run before jax is imported: XLA reads its flags once")
    # XLA sizes its pool from the CPUs it may run on, so affinity is what limits it; the flag also keeps
    # single-threaded runs off Eigen's intra-op pool
    for thread in os.listdir("/proc/self/task"):  # every thread, also those a library started at import
        os.sched_setaffinity(int(thread), cpus[-threads:])
    flags = [
        flag for flag in os.environ.get("XLA_FLAGS", "").split() if not flag.startswith("--xla_cpu_multi_thread_eigen")
    ]
    if threads == 1:
        flags.append(_XLA_SINGLE_THREAD)
    os.environ["XLA_FLAGS"] = " ".join(flags)  # XLA's own setting, read by XLA alone


class ThreadKnob:
    """One thread count for every framework, after they are imported: each one's own pools and every BLAS/OpenMP pool
    set, and what each framework reported kept for the record."""

    def __init__(self, threads: int, cpus: list[int]):
        self.threads = threads
        self.cpus = cpus  # the CPUs the process may use, its own `threads` last
        self.pool_limits = None  # threadpoolctl keeps a limit only while its object lives
        self.framework_threads: dict[str, object] = {}  # what each framework's own set_threads last reported

    def enforce(self) -> dict[str, object]:
        """Set every loaded framework's pools and every BLAS/OpenMP pool now; return what is in force."""
        import threadpoolctl

        for module in loaded_modules():
            if hasattr(module, "set_threads"):
                self.framework_threads.update(module.set_threads(self.threads))
        self.pool_limits = threadpoolctl.threadpool_limits(self.threads)
        return self.in_force()

    def spare_cpus(self) -> list[int]:
        """The CPUs the process may use that it is not pinned to (where its import timers run)."""
        return [cpu for cpu in self.cpus if cpu not in set(self.in_force()["cpus"])]

    def passed_on(self) -> dict[str, str]:
        """What a benchmark's child process is given in its environment: this thread count and these CPUs."""
        return {THREADS_ENV: str(self.threads), ALLOWED_CPUS_ENV: ",".join(map(str, self.cpus))}

    def in_force(self) -> dict[str, object]:
        """The thread settings each loaded framework reports now, and the CPUs the process may use."""
        import threadpoolctl

        info: dict[str, object] = {
            "requested": self.threads,
            "cpus": sorted(os.sched_getaffinity(0)),
            "pools": [
                {
                    "library": pool["internal_api"],
                    "threads": pool["num_threads"],
                    "version": pool.get("version"),
                    "architecture": pool.get("architecture"),
                }
                for pool in threadpoolctl.threadpool_info()
            ],
            "xla_flags": os.environ.get("XLA_FLAGS", ""),
        }
        return info | self.framework_threads


def versions() -> dict[str, str | None]:
    """Versions of Python and of every package whose speed the run depends on (None: not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in (*requirement_names(), *MEASUREMENT_PACKAGES):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def relevant_environment() -> dict[str, str]:
    """The environment variables set now that change what the frameworks do."""
    return {name: os.environ[name] for name in RELEVANT_ENVIRONMENT if name in os.environ}
