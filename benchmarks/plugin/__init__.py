"""The pytest plugin that measures (registered in pyproject.toml with `-p benchmarks.plugin`).

It adds the suite's options, sets one thread count for every framework before any is imported, and makes the run's one
BenchSession (session.py), which selects what runs, times every benchmark under the run's budget, runs benchmarks in
fresh processes where the mode asks, says how far the run has got, and saves every run atomically under results/ with
what it was measured on.
"""

import argparse
import signal
from contextlib import nullcontext
from functools import partial

import pytest
from pytest_benchmark.utils import get_tag

from benchmarks.options import output_folder
from implementations.registry import check_declarations

from .command_line import add_options
from .environment import configure_threads, requested_threads
from .machine_lock import MachineBusy, hold_machine, release_machine
from .session import NAME, BenchSession
from .trainings import Trainings
from .workers import (
    ALONE,
    Turnstile,
    forget_being_a_worker,
    make_shared_dir,
    own_cpus_last,
    parallel_by_default,
    remove_shared_dir,
    shared_dir,
    worker_index,
    workers_that_fit,
)


def pytest_addoption(parser):
    add_options(parser)


@pytest.hookimpl(wrapper=True)  # around pytest-xdist's, which reads -n
def pytest_cmdline_main(config):
    if parallel_by_default(config):
        # by group, in the order the workers' collection puts them (see group_by_training)
        config.option.numprocesses, config.option.dist, config.option.loadscopereorder = "auto", "loadgroup", False
    return (yield)


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # a hook of pytest-xdist's, where it is installed; ours answers first
def pytest_xdist_auto_num_workers(config):
    try:
        return workers_that_fit(requested_threads(config.getoption("threads")))
    except ValueError:
        return 0  # pytest_configure refuses the thread count


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads its options
def pytest_configure(config):
    try:
        check_declarations()  # a module with a declaration missing or wrong: one line, before a test is collected
        threads = requested_threads(config.getoption("threads"))
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    option = config.option
    machine_lock = None
    if option.benchmark_only and not (option.child or option.collectonly):  # a session that measures; plain test runs go on
        try:
            machine_lock = hold_machine(option.wait, say=lambda line: print(line, flush=True))
        except MachineBusy as busy:
            raise pytest.UsageError(str(busy)) from None
        signal.signal(signal.SIGTERM, interrupted)  # a session told to stop saves what finished, as after Ctrl-C
        if option.tbstyle == "auto" and option.verbose <= 0:  # a failed benchmark is its one line; --tb or -v shows the traceback
            option.tbstyle = "no"
    worker = worker_index(config)
    configure_threads(threads, partial(own_cpus_last, worker=worker or 0, threads=threads))
    config.addinivalue_line("markers", "sweep: a benchmark of the scaling sweep, run only with --sweep")
    config.addinivalue_line("markers", "xdist_group(name): in a parallel run, to the worker of every test of that group (pytest-xdist's)")
    if worker is not None:
        forget_being_a_worker()
        if (folder := shared_dir(config)) is not None:
            config.pluginmanager.register(Turnstile(folder), "backprop-bench-turnstile")
    elif getattr(config.option, "numprocesses", None):
        make_shared_dir()
    session = BenchSession.from_config(config, threads)
    session.machine_lock = machine_lock
    session.enforce_threads()
    if option.benchmark_only and not (option.child or option.collectonly):
        option.benchmark_autosave = option.benchmark_autosave or get_tag()
        if option.benchmark_storage == "file://./.benchmarks":  # pytest-benchmark's default: keep runs in results/
            option.benchmark_storage = f"file://{config.rootpath / 'results'}"
        if "://" not in (storage := option.benchmark_storage.removeprefix("file://")):
            try:  # before anything is measured
                output_folder(storage)
            except argparse.ArgumentTypeError as refused:
                raise pytest.UsageError(f"--benchmark-storage: {refused}") from None
    elif not option.benchmark_only and not option.benchmark_enable:
        # a plain test run calls each benchmarked loop once, for its correctness checks, and saves nothing
        option.benchmark_disable = True
    config.pluginmanager.register(session, NAME)


def interrupted(signum, frame):
    """SIGTERM as Ctrl-C: the session stops, saves the benchmarks that finished and marks the run interrupted."""
    raise KeyboardInterrupt


def pytest_unconfigure(config):
    if (session := config.pluginmanager.get_plugin(NAME)) is not None:
        config.pluginmanager.unregister(session)
        if session.machine_lock is not None:
            release_machine(session.machine_lock)
    if worker_index(config) is None and getattr(config.option, "numprocesses", None):  # the parallel run's first process made it
        remove_shared_dir()


def session_of(config: pytest.Config) -> BenchSession:
    """The run's session."""
    return config.pluginmanager.get_plugin(NAME)


@pytest.fixture
def measurement(pytestconfig) -> BenchSession:
    """The run's session, as the benchmarks use it: its budget, its thread knob, and the recording of their samples."""
    return session_of(pytestconfig)


@pytest.fixture(name=ALONE)
def alone(request):
    """A context in which no other worker's test runs, for a test that measures CPU use or speed (in one process: nothing)."""
    turnstile = request.config.pluginmanager.get_plugin("backprop-bench-turnstile")
    return turnstile.alone if turnstile is not None else nullcontext


@pytest.fixture(scope="session")
def trainings(pytestconfig) -> Trainings:
    """The run's trainings: each implementation's result on a problem, trained once and shared by every test that asks."""
    return session_of(pytestconfig).trainings
