"""The pytest plugin that measures (registered in pyproject.toml with `-p benchmarks.plugin`).

It adds the suite's options, sets one thread count for every framework before any is imported, and makes the run's one
BenchSession (session.py), which selects what runs, times every benchmark under the run's budget, runs benchmarks in
fresh processes where the mode asks, says how far the run has got, and saves every run atomically under results/ with
what it was measured on.
"""

import pytest
from pytest_benchmark.utils import get_tag

from .command_line import add_options
from .environment import configure_threads, requested_threads
from .session import NAME, BenchSession


def pytest_addoption(parser):
    add_options(parser)


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads its options
def pytest_configure(config):
    try:
        threads = requested_threads(config.getoption("threads"))
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    configure_threads(threads)
    config.addinivalue_line("markers", "sweep: a benchmark of the scaling sweep, run only with --sweep")
    session = BenchSession.from_config(config, threads)
    session.enforce_threads()
    option = config.option
    if option.benchmark_only and not (option.child or option.collectonly):
        option.benchmark_autosave = option.benchmark_autosave or get_tag()
        if option.benchmark_storage == "file://./.benchmarks":  # pytest-benchmark's default: keep runs in results/
            option.benchmark_storage = f"file://{config.rootpath / 'results'}"
    elif not option.benchmark_only and not option.benchmark_enable:
        # a plain test run calls each benchmarked loop once, for its correctness checks, and saves nothing
        option.benchmark_disable = True
    config.pluginmanager.register(session, NAME)


def pytest_unconfigure(config):
    if (session := config.pluginmanager.get_plugin(NAME)) is not None:
        config.pluginmanager.unregister(session)


def session_of(config: pytest.Config) -> BenchSession:
    """The run's session."""
    return config.pluginmanager.get_plugin(NAME)


@pytest.fixture
def measurement(pytestconfig) -> BenchSession:
    """The run's session, as the benchmarks use it: its budget, its thread knob, and the recording of their samples."""
    return session_of(pytestconfig)
