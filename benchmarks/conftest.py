"""Benchmark runs: frameworks loaded together by default, or each benchmark in its own process with --isolate."""

import pytest

from implementations import available, get

from .isolation import record_samples, run_in_fresh_process
from .sweep import estimated_seconds


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


@pytest.hookimpl(tryfirst=True)  # before the test's output is captured
def pytest_runtest_protocol(item, nextitem):
    """During a sweep, say which size and implementation runs now, how many are left, and roughly how long."""
    if not (item.config.option.sweep and "sweep_point" in getattr(item, "callspec", pytest.Function).params):
        return
    if not hasattr(item.config, "sweep_queue"):
        item.config.sweep_queue = [i for i in item.session.items if "sweep_point" in getattr(i, "callspec", pytest.Function).params]
    queue = item.config.sweep_queue
    point, name = item.callspec.params["sweep_point"], item.callspec.params["name"]
    left = queue[queue.index(item):]
    eta = sum(estimated_seconds(i.callspec.params["sweep_point"], i.callspec.params["name"]) for i in left)
    reporter = item.config.pluginmanager.get_plugin("terminalreporter")
    reporter.ensure_newline()
    reporter.write_line(f"sweep {len(queue) - len(left) + 1}/{len(queue)}: width {point.n_hidden}, batch {point.batch}, "
                        f"{point.epochs} epochs, {name} ({len(left) - 1} left, about {eta:.0f} s)")
