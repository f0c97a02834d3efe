"""Strict configuration shared by tests/ and benchmarks/: threads, benchmark mode, the notebook's numbers."""

import itertools

import numpy as np
import pytest
from pytest_benchmark.storage.file import FileStorage
from pytest_benchmark.utils import get_tag

from benchmarks.environment import (
    configure_threads, enforce_threads, relevant_environment, requested_threads, threads_in_force, versions,
)
from benchmarks.files import AtomicFileStorage
from benchmarks.problem_file import ProblemFileError, load_problem
from benchmarks.sweep import NOT_SWEPT, SweepRefused, check_plan, default_points, parse_points
from implementations.problem import float32_drift_bound
from implementations.registry import REGISTRY, available, unavailable

# What the notebook printed after 1000 epochs, to the digits it printed (NumPy's default 8 decimals).
NOTEBOOK_PRINTED = {
    "weights_hidden": [[0.78535854, -2.38635463, 2.12878488], [2.05894493, 1.10610087, -4.03536696], [0.30605228, -2.2491059, 0.41636863]],
    "weights_output": [[-2.82735452, 2.6021329, -2.62164075], [-0.21514193, -1.04321128, 1.55538615]],
    "final_output": [0.87579945, 0.3024596],
}
HALF_LAST_PRINTED_DIGIT = 0.5e-8
INTERRUPTED: list[bool] = []


def pytest_addoption(parser):
    group = parser.getgroup("backprop-bench")
    group.addoption("--threads", type=int, default=None,
                    help="threads for NumPy's BLAS, PyTorch and XLA, and CPUs the process may use "
                         "(default: $BACKPROP_BENCH_THREADS, else 1)")
    group.addoption("--isolate", action="store_true", default=False,
                    help="run each benchmark in its own fresh Python process and merge the results into one run")
    group.addoption("--isolated-child", action="store_true", default=False, help="(internal) this is an --isolate child")
    group.addoption("--problem", default=None, metavar="FILE",
                    help="time the training loops on this problem file (.json or .toml) instead of the notebook's")
    group.addoption("--sweep", action="store_true", default=False,
                    help="run the scaling sweep over hidden width and batch, and the peak matrix multiply, instead of "
                         "the notebook's problem")
    group.addoption("--sweep-points", default=None, metavar="WxB,...",
                    help="sweep these sizes, hidden width x batch (default: 3..2048 wide, batch 1..1024)")
    group.addoption("--sweep-budget", type=float, default=600.0, metavar="SECONDS",
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
            swept = [name for name in available() if name not in NOT_SWEPT]
            config.sweep_estimate_s = check_plan(config.sweep_points, swept, option.sweep_budget)
    except SweepRefused as refusal:
        raise pytest.UsageError(f"sweep refused: {refusal}") from None
    if option.isolate and not option.benchmark_only:
        raise pytest.UsageError("--isolate runs benchmarks in child processes: use it with --benchmark-only")
    if option.benchmark_only and not option.isolated_child:
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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    def wanted(item):
        if config.option.benchmark_only and "benchmark" not in getattr(item, "fixturenames", ()):
            return False  # --benchmark-only: the benchmarks and nothing else
        # --sweep: the sweep and nothing else; without it, no sweep
        return config.option.sweep == (item.get_closest_marker("sweep") is not None)

    deselected = [item for item in items if not wanted(item)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if wanted(item)]


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["versions"] = versions()
    machine_info["environment"] = relevant_environment()
    machine_info["threads"] = threads_in_force()
    machine_info["process_mode"] = "isolated" if config.getoption("isolate") else "shared"


def skip_unless_available(*names):
    """A skip mark with the reason when any of the named implementations cannot run here."""
    reasons = unavailable()
    return [pytest.mark.skip(reason=f"{name}: {reasons[name]}") for name in names if name in reasons][:1]


def implementation_params():
    """Every registered implementation as a test parameter; those unavailable here are skipped with the reason."""
    return [pytest.param(name, marks=skip_unless_available(name)) for name in REGISTRY]


def implementation_pair_params():
    """Every pair of registered implementations, skipped with the reason when either is unavailable here."""
    return [pytest.param(first, second, marks=skip_unless_available(first, second))
            for first, second in itertools.combinations(REGISTRY, 2)]


@pytest.fixture
def check_notebook_result():
    """A check that a result of the notebook's problem matches every digit the notebook printed (float64),
    or stays within float32's drift bound of them (float32)."""

    def check(result):
        tolerance = HALF_LAST_PRINTED_DIGIT
        if result.weights_hidden.dtype == np.float32:
            tolerance += float32_drift_bound(len(result.loss_history), np.max(np.abs(NOTEBOOK_PRINTED["weights_hidden"])))
        for field, printed in NOTEBOOK_PRINTED.items():
            np.testing.assert_allclose(getattr(result, field), printed, rtol=0, atol=tolerance, err_msg=field)

    return check
