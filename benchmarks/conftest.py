"""Benchmark runs: frameworks loaded together by default, or each benchmark in its own process with --isolate."""

import pytest

from implementations import available, get

from .isolation import record_samples, run_in_fresh_process


@pytest.fixture(scope="session", autouse=True)
def frameworks_loaded_together(request):
    """In the default mode every framework is imported before the first benchmark, so all run in the same process."""
    if not (request.config.getoption("isolate") or request.config.getoption("isolated_child")):
        for name in available():
            get(name)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """With --isolate, the parent runs each benchmark in a child process instead of calling it."""
    if pyfuncitem.config.getoption("isolate") and "benchmark" in pyfuncitem.funcargs:
        record_samples(pyfuncitem.funcargs["benchmark"], run_in_fresh_process(pyfuncitem))
        return True
    return None
