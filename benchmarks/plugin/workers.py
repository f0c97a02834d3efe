"""A plain test run in parallel (pytest-xdist): as many workers as the thread count leaves CPUs for, each worker and the
processes it starts pinned to CPUs of their own, and what a test measures measured alone, the other workers waiting."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from implementations.registry import REGISTRY, declaration, distribution_names

from .internals import put_in_group

# set by pytest-xdist in each worker; what a worker starts is an ordinary process (pytest-benchmark refuses to time in a
# worker)
XDIST_WORKER_ENV = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID")
ALONE = "alone"  # the fixture of a test that measures something with no other worker's test running
SHARED_DIR_ENV = "BACKPROP_BENCH_WORKERS_DIR"  # the run's folder that its workers share (locks, trainings)
CPUS_KEY = "backprop_bench_cpus"  # in each worker's input: the CPUs the first process may use


def in_a_parallel_run() -> bool:
    """Whether this process is a parallel run's, or was started by one of its processes (it then runs in one
    process)."""
    return SHARED_DIR_ENV in os.environ


def forget_being_a_worker() -> None:
    """In a worker: the processes it starts see no pytest-xdist worker in their environment."""
    for key in XDIST_WORKER_ENV:
        os.environ.pop(key, None)


def worker_input(config: pytest.Config) -> dict:
    """What the first process of a parallel run gave this worker (pytest-xdist's workerinput); {} outside a worker."""
    return getattr(config, "workerinput", {})


def worker_index(config: pytest.Config) -> int | None:
    """This worker's number (gw0 is 0); None outside a worker."""
    workerinput = getattr(config, "workerinput", None)
    return None if workerinput is None else int(workerinput["workerid"].removeprefix("gw"))


def parallel_by_default(config: pytest.Config) -> bool:
    """A plain test run started by a user, with pytest-xdist installed and no -n given: it runs in parallel. Benchmarks,
    their child processes, collection only, and whatever a worker starts run in one process."""
    option = config.option
    return (
        config.pluginmanager.has_plugin("xdist")
        and getattr(option, "numprocesses", None) is None
        and not in_a_parallel_run()
        and not (option.benchmark_only or option.collectonly or option.child or getattr(option, "usepdb", False))
    )


def workers_that_fit(threads: int, cpus: list[int]) -> int:
    """Workers for a parallel run: one per `threads` of the CPUs this process may use; 0 (no workers) where only one
    fits."""
    workers = len(cpus) // threads
    return workers if workers > 1 else 0


def own_cpus_last(cpus: list[int], worker: int, threads: int) -> list[int]:
    """The CPUs, turned so that worker k's `threads` (the k-th group from the end) come last: configure_threads pins a
    process to the last ones, and so does every benchmark's child the worker starts, which it passes the order to."""
    groups = max(1, len(cpus) // threads)
    shift = threads * (worker % groups)
    return cpus[len(cpus) - shift :] + cpus[: len(cpus) - shift] if shift else list(cpus)


def framework_family(name: str) -> str:
    """What an implementation's process imports to run it: its first requirement's framework, or, for one that runs
    in a process of its own, that process's environment. Implementations of one family share a worker, which imports
    it once."""
    declared = declaration(name)
    return (
        " ".join(f"{key}={value}" for key, value in sorted(declared.environment.items()))
        or distribution_names(declared.requires)[0]
    )


def group_by_training(items: list[pytest.Item], seconds: dict[str, float]) -> None:
    """Each test of one framework family (framework_family) to one worker, which imports the framework once and trains
    each implementation once for all their tests; the tests of an xdist_group mark (sharing an expensive fixture) to one
    worker. In the order the workers take them: the slow tests of no implementation (whole benchmark sessions in other
    processes) first, the longest first being the shortest way through; then the groups, the slowest families first (by
    `seconds`); then the tests of several (the pairs), when their trainings are done; the tests that measure something
    alone last, where the tests they wait for are short."""
    order = list(REGISTRY)
    family_seconds: dict[str, float] = {}
    for name in REGISTRY:
        family = framework_family(name)
        family_seconds[family] = family_seconds.get(family, 0.0) + seconds.get(name, 0.0)

    def place(item, parameters, name):
        if ALONE in item.fixturenames:
            return 3, 0.0, 0
        if name is not None:
            return 1, -family_seconds[framework_family(name)], order.index(name)
        if item.get_closest_marker("slow") and not {"first", "second"} & set(parameters):
            return 0, 0.0, 0
        return 2, 0.0, 0

    places = {}
    for item in items:
        parameters = getattr(getattr(item, "callspec", None), "params", {})
        name = parameters.get("name") if parameters.get("name") in REGISTRY else None
        marked = item.get_closest_marker("xdist_group")
        if (group := marked.args[0] if marked else name and framework_family(name)) is not None:
            put_in_group(item, group)
        places[item] = place(item, parameters, name)
    items.sort(key=places.__getitem__)


def training_seconds(results: Path) -> dict[str, float]:
    """Each implementation's time for the notebook's 1000 epochs in float64, from the newest saved run that timed them
    ({} if none did): what orders the parallel run's groups."""
    from benchmarks.model.runs import notebook_medians  # pandas, which a benchmark's child process need not import

    return {name: seconds for name, seconds in notebook_medians(results).items() if name in REGISTRY}


def make_shared_dir() -> None:
    """In the first process of a parallel run: the folder its workers share, named in their environment."""
    os.environ[SHARED_DIR_ENV] = tempfile.mkdtemp(prefix="backprop-bench-workers-")


def remove_shared_dir() -> None:
    if (folder := os.environ.pop(SHARED_DIR_ENV, None)) is not None:
        shutil.rmtree(folder, ignore_errors=True)


def shared_dir(config: pytest.Config) -> Path | None:
    """The folder the workers of this parallel run share, in a worker; None elsewhere."""
    folder = os.environ.get(SHARED_DIR_ENV)
    return Path(folder) if folder and worker_index(config) is not None else None


@contextmanager
def locked(path: Path, mode: int):
    """Hold an flock on path (made if missing) while inside."""
    with open(path, "a+b") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Turnstile:
    """In a worker: every test holds the run's room shared, and a test that measures holds it alone while it measures
    (`alone`). A test waiting to be alone holds the turnstile, so the other workers cannot keep the room busy past their
    current test."""

    def __init__(self, folder: Path):
        self.turnstile, self.room = folder / "turnstile.lock", folder / "room.lock"
        self.held = None  # this worker's hold on the room, shared, while a test runs

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem):
        with open(self.room, "a+b") as self.held:  # closing it releases the lock
            self.share()
            return (yield)

    def share(self) -> None:
        with locked(self.turnstile, fcntl.LOCK_EX):
            fcntl.flock(self.held, fcntl.LOCK_SH)

    @contextmanager
    def alone(self):
        """No other worker's test runs while inside (it waits for their current tests to end)."""
        fcntl.flock(self.held, fcntl.LOCK_UN)
        try:
            with locked(self.turnstile, fcntl.LOCK_EX), locked(self.room, fcntl.LOCK_EX):
                yield
        finally:
            self.share()
