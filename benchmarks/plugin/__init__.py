"""The pytest plugin that measures (registered in pyproject.toml with `-p benchmarks.plugin`).

It adds the suite's options, sets one thread count for every framework before any is imported, selects
what runs (the benchmarks with --benchmark-only, the sweep with --sweep), runs benchmarks in fresh processes
with --isolate or --replicates, and saves every run atomically under results/ with what it was measured on (the
machine's fingerprint among it).
"""

import math
import random

import pytest
from pytest_benchmark.storage.file import FileStorage
from pytest_benchmark.utils import get_tag

from benchmarks.model.problem_file import ProblemFileError, load_problem
from benchmarks.options import count, positive_number
from implementations import available, get
from implementations.registry import REGISTRY, runs_here

from .environment import configure_threads, enforce_threads, relevant_environment, requested_threads, thread_count, threads_in_force, versions
from .fingerprint import machine_fingerprint
from .isolation import record_samples, run_in_fresh_process
from .replicates import run_replicates
from .storage import AtomicFileStorage
from .sweep_plan import SWEEP_DTYPES, SWEEP_RANGES, SweepRefused, check_plan, default_points, estimated_seconds, parse_points

INTERRUPTED: list[bool] = []


def pytest_addoption(parser):
    group = parser.getgroup("backprop-bench")
    group.addoption("--threads", type=thread_count, default=None,
                    help="threads for NumPy's BLAS, PyTorch and XLA, and CPUs the process may use "
                         "(default: $BACKPROP_BENCH_THREADS, else 1)")
    group.addoption("--isolate", action="store_true", default=False,
                    help="run each benchmark in its own fresh Python process and merge the results into one run")
    group.addoption("--replicates", type=count, default=None, metavar="N",
                    help="run the whole selection N times, every benchmark in a fresh process each time, in a shuffled order "
                         "per replicate; each benchmark saves every replicate's pid and median (extra_info['replicates'])")
    group.addoption("--isolated-child", action="store_true", default=False, help="(internal) this is an --isolate child")
    group.addoption("--problem", default=None, metavar="FILE",
                    help="time the training loops on this problem file (.json or .toml) instead of the notebook's")
    group.addoption("--sweep", action="store_true", default=False,
                    help="run the scaling sweep over hidden width and batch, and the peak matrix multiply, instead of "
                         "the notebook's problem")
    group.addoption("--sweep-points", default=None, metavar="WxB,...",
                    help="sweep these sizes, hidden width x batch (default: 3..2048 wide, batch 1..1024)")
    group.addoption("--sweep-dtype", choices=SWEEP_DTYPES, default=SWEEP_DTYPES[0],
                    help="the dtype the sweep computes in (default: %(default)s)")
    group.addoption("--sweep-budget", type=positive_number, default=600.0, metavar="SECONDS",
                    help="refuse, before starting, a sweep estimated to take longer (default: %(default)s)")


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads its options
def pytest_configure(config):
    try:
        config.threads = requested_threads(config.getoption("threads"))
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    configure_threads(config.threads)
    enforce_threads(config.threads)
    config.addinivalue_line("markers", "sweep: a benchmark of the scaling sweep, run only with --sweep")
    option = config.option
    try:
        config.user_problem = load_problem(option.problem) if option.problem else None
    except ProblemFileError as error:
        raise pytest.UsageError(f"--problem: {error}") from None
    try:
        config.sweep_points = parse_points(option.sweep_points) if option.sweep_points else default_points()
        if option.sweep and not option.isolated_child:
            config.sweep_estimate_s = check_plan(config.sweep_points, available(), option.sweep_budget)
    except SweepRefused as refusal:
        raise pytest.UsageError(f"sweep refused: {refusal}") from None
    if option.isolate and not option.benchmark_only:
        raise pytest.UsageError("--isolate runs benchmarks in child processes: use it with --benchmark-only")
    if option.replicates is not None and not option.benchmark_only:
        raise pytest.UsageError("--replicates runs benchmarks in child processes: use it with --benchmark-only")
    if option.benchmark_only and not (option.isolated_child or option.collectonly):
        option.benchmark_autosave = option.benchmark_autosave or get_tag()
        if option.benchmark_storage == "file://./.benchmarks":  # pytest-benchmark's default: keep runs in results/
            option.benchmark_storage = f"file://{config.rootpath / 'results'}"
    elif not option.benchmark_only and not option.benchmark_enable:
        # a plain test run calls each benchmarked loop once, for its correctness checks, and saves nothing
        option.benchmark_disable = True


def pytest_sessionstart(session):
    """Save runs atomically, under names no other run holds (pytest-benchmark made its storage at configure)."""
    benchmarks = getattr(session.config, "_benchmarksession", None)
    if benchmarks is not None and isinstance(benchmarks.storage, FileStorage):
        storage = benchmarks.storage
        benchmarks.storage = AtomicFileStorage(storage.path, storage.logger, storage.default_machine_id)


def pytest_keyboard_interrupt(excinfo):
    """Remember the interrupt, so a run saved after Ctrl-C says it is incomplete."""
    INTERRUPTED.append(True)


def pytest_benchmark_update_json(config, benchmarks, output_json):
    if INTERRUPTED:
        output_json["machine_info"]["interrupted"] = True


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["versions"] = versions()
    machine_info["environment"] = relevant_environment()
    machine_info["threads"] = threads_in_force()
    machine_info["fingerprint"] = machine_fingerprint(machine_info["threads"]["pools"])
    if config.option.sweep:  # which implementations were timed at which sizes, and why, for the report to say
        machine_info["sweep_ranges"] = {name: {"from": low, "up_to": None if math.isinf(high) else high, "why": why}
                                        for name, (low, high, why) in SWEEP_RANGES.items()}
    machine_info["process_mode"] = "replicated" if replicating(config) else "isolated" if config.getoption("isolate") else "shared"
    if replicating(config):
        machine_info["replicates"] = {"count": config.getoption("replicates"), "seed": config.replicate_seed,
                                      "orders": config.replicate_orders}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    def wanted(item):
        if config.option.benchmark_only and not is_benchmark(item):
            return False  # --benchmark-only: the benchmarks and nothing else
        # --sweep: the sweep and nothing else; without it, no sweep
        return config.option.sweep == (item.get_closest_marker("sweep") is not None)

    deselected = [item for item in items if not wanted(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if wanted(item)]


def is_benchmark(item: pytest.Item) -> bool:
    """Whether the test item is a benchmark (it uses pytest-benchmark's fixture)."""
    return "benchmark" in getattr(item, "fixturenames", ())


def replicating(config: pytest.Config) -> bool:
    """Whether this process runs the selection as --replicates in fresh processes (the parent, not a child)."""
    return config.getoption("replicates") is not None and not config.getoption("isolated_child") and not config.option.collectonly


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    """With --replicates, every replicate runs before pytest's own loop, which then records each benchmark's results."""
    config = session.config
    if replicating(config) and not session.testsfailed:  # after a collection error pytest runs nothing
        config.replicate_seed = random.randrange(2**32)  # saved with the run: its orders can be replayed
        # an unavailable implementation's benchmark carries a skip mark (benchmarks.plugin.parameters): pytest skips it
        items = [item for item in session.items if is_benchmark(item) and not item.get_closest_marker("skip")]
        config.replicate_results = run_replicates(session, items, config.getoption("replicates"), needed_environment, config.replicate_seed)


def pytest_runtest_setup(item):
    """In the default mode every framework is imported before the first benchmark, so all run in the same process."""
    config = item.config
    if is_benchmark(item) and not (config.getoption("isolate") or config.getoption("isolated_child") or replicating(config)):
        if not hasattr(config, "frameworks_loaded"):
            config.frameworks_loaded = [get(name) for name in available()]


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """The parent does not call a benchmark measured elsewhere: with --replicates it records the replicates' results;
    with --isolate, and always for an implementation needing an environment this process lacks (Keras's backend),
    it runs the benchmark in a child process started with that environment."""
    config, benchmark = pyfuncitem.config, pyfuncitem.funcargs.get("benchmark")
    if benchmark is None or config.getoption("isolated_child") or not benchmark.enabled:
        return None
    if replicating(config):
        results = config.replicate_results[pyfuncitem.nodeid]
        if isinstance(results, str):
            pytest.fail(results, pytrace=False)
        record_samples(benchmark, results, replicated=True)
        return True
    environment = needed_environment(pyfuncitem)
    if config.getoption("isolate") or environment:
        record_samples(benchmark, [run_in_fresh_process(pyfuncitem, environment)])
        return True
    return None


def needed_environment(item: pytest.Item) -> dict[str, str]:
    """The environment the benchmarked implementation needs and this process lacks (empty when it runs here)."""
    name = getattr(item, "callspec", None) and item.callspec.params.get("name")
    if name not in REGISTRY or runs_here(name):
        return {}
    return REGISTRY[name].environment


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
