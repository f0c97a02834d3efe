"""The pytest plugin that measures (registered in pyproject.toml with `-p benchmarks.plugin`).

Its hooks are the module functions below, each a few lines over the run's one BenchSession (session.py), as
pytest-benchmark's plugin.py is over its BenchmarkSession. It adds the suite's options, sets one thread count for every
framework before any is imported, makes the session, selects what runs, has the plan (plan.py) say where and in what
order, runs benchmarks in child processes where it says so (children.py), says how far the run has got (progress.py),
and saves every run atomically under results/ with what it was measured on (run_record.py, storage.py).
"""

import argparse
import signal
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest
from pytest_benchmark.utils import get_tag

from benchmarks.options import output_folder
from implementations.registry import check_declarations

from .budget import SWEEP, describe
from .children import Failed, tell_failed, tell_started
from .command_line import add_options
from .environment import ThreadKnob, allowed_cpus, configure_threads, requested_threads
from .internals import fixture_used, mark_used_without_result, replace_file_storage
from .machine_lock import MachineBusy, hold_machine, release_machine
from .plan import Mode, is_benchmark, needed_environment
from .run_record import failure_line
from .session import BenchSession
from .storage import AtomicFileStorage
from .trainings import Trainings
from .workers import (
    ALONE,
    CPUS_KEY,
    Turnstile,
    forget_being_a_worker,
    group_by_training,
    make_shared_dir,
    own_cpus_last,
    parallel_by_default,
    remove_shared_dir,
    shared_dir,
    training_seconds,
    worker_index,
    worker_input,
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


# a hook of pytest-xdist's, where it is installed; ours answers first
@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config):
    try:
        return workers_that_fit(requested_threads(config.getoption("threads")), allowed_cpus())
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
    if option.benchmark_only and not (
        option.child or option.collectonly
    ):  # a session that measures; plain test runs go on
        try:
            machine_lock = hold_machine(option.wait, say=lambda line: print(line, flush=True))
        except MachineBusy as busy:
            raise pytest.UsageError(str(busy)) from None
        signal.signal(signal.SIGTERM, interrupted)  # a session told to stop saves what finished, as after Ctrl-C
        if (
            option.tbstyle == "auto" and option.verbose <= 0
        ):  # a failed benchmark is its one line; --tb or -v shows the traceback
            option.tbstyle = "no"
    worker = worker_index(config)
    cpus = own_cpus_last(allowed_cpus(worker_input(config).get(CPUS_KEY)), worker=worker or 0, threads=threads)
    configure_threads(threads, cpus)
    config.addinivalue_line("markers", "sweep: a benchmark of the scaling sweep, run only with --sweep")
    config.addinivalue_line(
        "markers", "xdist_group(name): in a parallel run, to the worker of every test of that group (pytest-xdist's)"
    )
    if worker is not None:
        forget_being_a_worker()
        if (folder := shared_dir(config)) is not None:
            config.pluginmanager.register(Turnstile(folder), "backprop-bench-turnstile")
    elif getattr(config.option, "numprocesses", None):
        make_shared_dir()
    session = BenchSession.from_config(config, ThreadKnob(threads, cpus))
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
    config.stash[SESSION] = session


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist's
def pytest_configure_node(node):
    """Each worker is given the CPUs this process may use, in their order (it is pinned to fewer, as the worker will
    be)."""
    node.workerinput[CPUS_KEY] = ",".join(map(str, session_of(node.config).knob.cpus))


def interrupted(signum, frame):
    """SIGTERM as Ctrl-C: the session stops, saves the benchmarks that finished and marks the run interrupted."""
    raise KeyboardInterrupt


def pytest_unconfigure(config):
    if (session := config.stash.get(SESSION, None)) is not None:
        del config.stash[SESSION]
        if session.machine_lock is not None:
            release_machine(session.machine_lock)
    if worker_index(config) is None and getattr(
        config.option, "numprocesses", None
    ):  # the parallel run's first process made it
        remove_shared_dir()


SESSION = pytest.StashKey[BenchSession]()


def session_of(config: pytest.Config) -> BenchSession:
    """The run's session."""
    return config.stash[SESSION]


@pytest.fixture
def measurement(pytestconfig) -> BenchSession:
    """The run's session, as the benchmarks use it: its budget, its thread knob, and the recording of their samples."""
    return session_of(pytestconfig)


@pytest.fixture(name=ALONE)
def alone(request):
    """A context in which no other worker's test runs, for a test that measures CPU use or speed (in one process:
    nothing)."""
    turnstile = request.config.pluginmanager.get_plugin("backprop-bench-turnstile")
    return turnstile.alone if turnstile is not None else nullcontext


@pytest.fixture(scope="session")
def trainings(pytestconfig) -> Trainings:
    """The run's trainings: each implementation's result on a problem, trained once and shared by every test that
    asks."""
    return session_of(pytestconfig).trainings


# the session's hooks, in the order pytest calls them


def pytest_sessionstart(session: pytest.Session) -> None:
    """Save runs atomically, under names no other run holds (pytest-benchmark made its storage at configure)."""
    record = session_of(session.config).run_record
    replace_file_storage(
        session.config,
        lambda storage: AtomicFileStorage(
            storage.path,
            storage.logger,
            storage.default_machine_id,
            on_save=record.remember_saved,
            on_fail=record.remember_save_failure,
        ),
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Under pytest-benchmark's own defaults (which the budget replaces for the suite's benchmarks), the rule in
    force."""
    bench = session_of(config)
    if not config.option.benchmark_only or bench.mode is Mode.CHILD:
        return []
    return [
        f"backprop-bench: {describe(bench.budget)}; {bench.mode.value} processes, {bench.threads} "
        f"thread{'s' * (bench.threads > 1)}"
    ]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """--benchmark-only runs the benchmarks and nothing else: the tests' folder is not even collected."""
    if config.option.benchmark_only and collection_path.is_relative_to(config.rootpath / "tests"):
        return True
    return None


def wanted(item: pytest.Item, config: pytest.Config) -> bool:
    """Whether the selection keeps a test: --benchmark-only the benchmarks and nothing else; --sweep the sweep and
    nothing else; without it, no sweep."""
    if config.option.benchmark_only and not is_benchmark(item):
        return False
    return config.option.sweep == (item.get_closest_marker("sweep") is not None)


@pytest.hookimpl(tryfirst=True)  # in a parallel run's worker, before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if worker_index(config) is not None:
        group_by_training(items, training_seconds(config.rootpath / "results"))
    deselected = [item for item in items if not wanted(item, config)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if wanted(item, config)]


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Before pytest's own loop: the plan's estimate and its line, the imports timed meanwhile, and with replicates
    every replicate, whose results pytest's loop then records benchmark by benchmark."""
    bench = session_of(session.config)
    if session.testsfailed or session.config.option.collectonly or bench.mode is Mode.CHILD:
        return  # after a collection error pytest runs nothing
    if items := bench.measured(session.items):
        bench.begin(items)


@pytest.hookimpl(tryfirst=True)  # before the test's output is captured
def pytest_runtest_protocol(item: pytest.Item, nextitem) -> None:
    """Say which benchmark runs now, n of N, and about how long is left (a child tells its first process instead)."""
    bench = session_of(item.config)
    if bench.mode is not Mode.CHILD:
        bench.announce(item)
    elif is_benchmark(item):
        tell_started(item.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    if is_benchmark(item):
        session_of(item.config).import_frameworks(item)
    with unused_benchmark_marked(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    with unused_benchmark_marked(item):
        return (yield)


@contextmanager
def unused_benchmark_marked(item: pytest.Item):
    """A benchmark that raised, failed, skipped or was stopped by Ctrl-C or SIGTERM before it was timed, in its setup or
    its call: used, so that its teardown (or the session's end, after an interrupt) does not fail a second time with
    pytest-benchmark's warning that it was not, and nothing of it saved."""
    try:
        yield
    except BaseException as error:
        if (benchmark := getattr(item, "funcargs", {}).get("benchmark")) is not None and not fixture_used(benchmark):
            mark_used_without_result(benchmark, "interrupted" if isinstance(error, KeyboardInterrupt) else "failed")
        raise


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):
    """The first process does not call a benchmark measured elsewhere: with replicates it records the replicates'
    results; with --isolate, and for the implementations needing an environment this process lacks (Keras's backend), it
    runs the benchmarks in child processes started with that environment (one per benchmark isolated, one per
    environment shared)."""
    bench = session_of(pyfuncitem.config)
    benchmark = pyfuncitem.funcargs.get("benchmark")
    if benchmark is None or bench.mode is Mode.CHILD or not benchmark.enabled:
        return None
    if bench.mode is Mode.SHARED and not needed_environment(pyfuncitem):
        return None
    outcome = bench.outcome_elsewhere(pyfuncitem)
    if isinstance(outcome, Failed):
        mark_used_without_result(benchmark, "a child process, which failed")
        pytest.fail(outcome.why, pytrace=False)
    bench.adopt(pyfuncitem, benchmark, outcome)
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Why a benchmark failed, in one line, for the saved run to say (the others go on); a child tells its first
    process."""
    report = yield
    if report.failed and call.excinfo is not None and is_benchmark(item) and item.config.option.benchmark_only:
        why = failure_line(call.excinfo, item.config.rootpath)
        if session_of(item.config).mode is Mode.CHILD:
            tell_failed(item.nodeid, why)
        else:
            session_of(item.config).run_record.failures.setdefault(item.name, why)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_benchmark_generate_machine_info(config) -> dict | None:
    """A child's machine is its first process's, which records it: pytest-benchmark's py-cpuinfo is not run again in
    every child process."""
    return {"node": "a child process"} if session_of(config).mode is Mode.CHILD else None


def pytest_benchmark_update_machine_info(config, machine_info) -> None:
    bench = session_of(config)
    if bench.mode is not Mode.CHILD:  # a child's first process records the run's machine and versions
        budget = SWEEP if config.option.sweep else bench.budget  # the sweep's points have a budget of their own
        took = time.monotonic() - bench.started_at
        bench.run_record.update_machine_info(
            machine_info, bench.plan, bench.knob.in_force(), budget, config.option.sweep, took
        )


def pytest_benchmark_update_json(config, benchmarks, output_json) -> None:
    session_of(config).run_record.update_json(output_json, session_of(config).mode)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """At the end: the failures, one line each, where the run was saved and the command that reports it; with
    --fail-on-skip, the tests skipped."""
    bench = session_of(config)
    if bench.mode is not Mode.CHILD:
        for line, markup in bench.run_record.summary(tracebacks_hidden=config.option.tbstyle == "no"):
            terminalreporter.write_line(line, **markup)
    if config.option.fail_on_skip and (skipped := terminalreporter.stats.get("skipped")):
        terminalreporter.write_line(
            f"--fail-on-skip: {len(skipped)} skipped, the first: {skipped[0].nodeid}", red=True, bold=True
        )


@pytest.hookimpl(wrapper=True, tryfirst=True)  # around pytest-benchmark's, which saves the run
def pytest_sessionfinish(session: pytest.Session, exitstatus):
    """A run saved after Ctrl-C or SIGTERM says it is incomplete. Then, with --fail-on-skip, a run that skipped a test
    fails (CI installs every framework, so every test must run); so does a run that could not be saved. An interrupted
    run's imports still to be timed are no longer waited for."""
    bench = session_of(session.config)
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        bench.run_record.interrupted = True
    try:
        return (yield)
    finally:
        bench.imports.stop()
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if (
            session.config.option.fail_on_skip
            and reporter is not None
            and reporter.stats.get("skipped")
            and exitstatus == 0
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if bench.run_record.save_failure is not None and exitstatus == 0:  # pytest-benchmark's saving, inside, failed
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
