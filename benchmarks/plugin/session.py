"""The plugin's state for one pytest run, made once at configure and registered as a plugin (as pytest-benchmark's
BenchmarkSession): the run mode, the budget, the thread knob, the problem, the sweep's plan, the progress line, and the
hooks that use them. Nothing of it lives in module globals."""

from __future__ import annotations

import dataclasses
import enum
import random
import statistics
import subprocess
import time
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import implementations
from benchmarks.model.problem_file import ProblemFileError, load_problem
from implementations import Problem, available, get, seed_problem, unavailable
from implementations.registry import REFERENCE, REGISTRY, declaration, runs_here

from .budget import DEFAULT, RIGOROUS, SWEEP, Budget, describe
from .environment import ThreadKnob, allowed_cpus, relevant_environment, versions
from .fingerprint import machine_fingerprint
from .imports import IMPORT_RECORD, ImportTimer
from .internals import end_terminal_line, fixture_used, mark_used_without_result, replace_file_storage
from .isolation import record_samples, run_children, tell_failed, tell_started, where_it_runs
from .progress import Progress, clock
from .storage import AtomicFileStorage
from .sweep_plan import SweepRefused, check_plan, default_points, estimated_seconds, parse_points
from .trainings import Trainings
from .workers import group_by_training, shared_dir, training_seconds, worker_index

NAME = "backprop-bench-session"
CHILD_LIMIT_MARGIN = 10  # a child may take this many times what its benchmarks are expected to take
CHILD_START_S = 300.0  # and this, to start, import its frameworks and compile
PROBE_CALLS = 7  # the speed probe's timed calls of NumPy's loop: its median, before anything else is timed
FIT_MARGIN = 0.9  # a run is fitted to this share of its time: the host's speed drifts while it runs
FAILURE_CHARS = 300  # of an exception's message, in the line that says why a benchmark failed


class Mode(enum.Enum):
    """Where the benchmarks run."""

    SHARED = "shared"  # in this process; the implementations needing another environment, in one process per environment
    ISOLATED = "isolated"  # each benchmark in a fresh process (--isolate)
    REPLICATED = "replicated"  # the selection N times, each benchmark in a fresh process every time (--replicates, --rigorous)
    CHILD = "child"  # a process started by one of the above for some of its benchmarks


@dataclass
class BenchSession:
    """Everything the plugin decides once per pytest run, and the hooks that act on it."""

    config: pytest.Config
    mode: Mode
    budget: Budget
    knob: ThreadKnob
    user_problem: Problem | None
    sweep_points: list
    replicate: tuple[int, int] = (0, 1)  # in a child: which replicate it runs (from 0), of how many
    replicate_seed: int | None = None
    replicate_orders: list[list[str]] = field(default_factory=list)
    measured_elsewhere: dict[str, list[dict] | str] = field(default_factory=dict)  # node id: its children's entries, or the failure
    interrupted: bool = False
    progress: Progress | None = None
    saved: Path | None = None
    save_failure: str | None = None  # why the run could not be saved
    import_times: dict[str, Future] = field(default_factory=dict)
    import_timer: ImportTimer = field(default_factory=ImportTimer)
    frameworks: list | None = None
    estimated_from: str | None = None  # the saved run the expected durations come from
    trainings: Trainings = field(default_factory=Trainings)  # each training once per run, for the checks
    failures: dict[str, str] = field(default_factory=dict)  # benchmark name: why it failed, in one line
    expected: dict[tuple[str, int], float] = field(default_factory=dict)  # (node id, replicate): about how many seconds it takes
    machine_lock: int | None = None  # the open lock file that keeps other benchmark sessions off this machine while this one measures
    started_at: float = field(default_factory=time.monotonic)  # about when pytest started: the run's time counts from here
    probe: str | None = None  # the speed probe's result, in words

    @classmethod
    def from_config(cls, config: pytest.Config, threads: int) -> BenchSession:
        """The session of this pytest run, its options checked (a bad one is pytest's usage error)."""
        option = config.option
        child = option.child is not None
        if (option.isolate or option.replicates or option.rigorous) and not option.benchmark_only and not child:
            raise pytest.UsageError("--isolate, --replicates and --rigorous run benchmarks in child processes: use them with --benchmark-only")
        if option.rigorous and option.sweep:
            raise pytest.UsageError("--rigorous times the training loops of a problem; the sweep has its own budget (--sweep-budget)")
        budget = RIGOROUS if option.rigorous else DEFAULT
        if option.budget is not None:  # the sampling the user chose: not fitted to the run's time
            budget = dataclasses.replace(budget, seconds=option.budget, run_seconds=None)
        replicates = option.replicates or budget.replicates
        mode = (Mode.CHILD if child else Mode.REPLICATED if replicates and not option.collectonly else Mode.ISOLATED if option.isolate
                else Mode.SHARED)
        try:
            user_problem = load_problem(option.problem) if option.problem else None
        except ProblemFileError as error:
            raise pytest.UsageError(f"--problem: {error}") from None
        try:
            points = parse_points(option.sweep_points) if option.sweep_points else default_points()
            if option.sweep and mode is not Mode.CHILD:
                check_plan(points, available(), option.sweep_budget)
        except SweepRefused as refusal:
            raise pytest.UsageError(f"sweep refused: {refusal}") from None
        return cls(config, mode, budget, ThreadKnob(threads), user_problem, points, replicate=option.child or (0, replicates or 1),
                   trainings=Trainings(shared_dir(config)))

    # what the benchmarks ask of it (the `measurement` fixture)

    @property
    def threads(self) -> int:
        return self.knob.threads

    @property
    def disable_gc(self) -> bool:
        return bool(self.config.getoption("benchmark_disable_gc"))

    def enforce_threads(self) -> dict[str, object]:
        """Set every loaded framework's thread pools to the run's count; return what is in force."""
        return self.knob.enforce()

    def record(self, benchmark, durations: list[float], iterations: int) -> None:
        """Give pytest-benchmark's fixture the samples timed under the budget (seconds per call), as its own."""
        record_samples(benchmark, durations, iterations)

    def import_record(self, name: str) -> dict:
        """The seconds to import the implementation in a fresh interpreter and the frameworks that loads (timed by the first
        process, meanwhile; None in a child, whose first process fills them in)."""
        if self.mode is Mode.CHILD:
            return dict.fromkeys(IMPORT_RECORD)
        if name not in self.import_times:
            self.time_imports([name])
        try:
            return self.import_times[name].result()
        except subprocess.CalledProcessError:  # its interpreter died (killed, out of memory): the import's cost is unknown,
            return dict.fromkeys(IMPORT_RECORD)  # and the benchmark's own result stands

    def time_imports(self, names: list[str]) -> None:
        """Start timing the imports of these implementations, one at a time, on a CPU the benchmarks leave free (at once, and
        before anything is timed, where none is free)."""
        spare = [cpu for cpu in allowed_cpus() if cpu not in set(self.knob.in_force()["cpus"])]
        for name in names:
            if name not in self.import_times:
                self.import_times[name] = self.import_timer.submit(name, spare)
        if not spare:
            wait([self.import_times[name] for name in names])

    # hooks

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Save runs atomically, under names no other run holds (pytest-benchmark made its storage at configure)."""
        replace_file_storage(session.config, lambda storage: AtomicFileStorage(
            storage.path, storage.logger, storage.default_machine_id, on_save=self.remember_saved, on_fail=self.remember_save_failure))

    def remember_saved(self, path: Path) -> None:
        self.saved = path

    def remember_save_failure(self, reason: str) -> None:
        self.save_failure = reason

    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool | None:
        """--benchmark-only runs the benchmarks and nothing else: the tests' folder is not even collected."""
        if config.option.benchmark_only and collection_path.is_relative_to(config.rootpath / "tests"):
            return True
        return None

    @pytest.hookimpl(tryfirst=True)  # in a parallel run's worker, before pytest-xdist reads the groups
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if worker_index(config) is not None:
            group_by_training(items, training_seconds(config.rootpath / "results"))

        def wanted(item):
            if config.option.benchmark_only and not is_benchmark(item):
                return False  # --benchmark-only: the benchmarks and nothing else
            # --sweep: the sweep and nothing else; without it, no sweep
            return config.option.sweep == (item.get_closest_marker("sweep") is not None)

        deselected = [item for item in items if not wanted(item)]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if wanted(item)]

    def measured(self, items: list[pytest.Item]) -> list[pytest.Item]:
        """The benchmarks of the selection that run (an unavailable implementation's carries a skip mark)."""
        if not self.config.option.benchmark_only and not self.config.option.benchmark_enable:
            return []
        return [item for item in items if is_benchmark(item) and not item.get_closest_marker("skip")]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        """Before pytest's own loop: the progress line's plan, the imports timed meanwhile, and with replicates every replicate,
        whose results pytest's loop then records benchmark by benchmark."""
        if session.testsfailed or self.config.option.collectonly or self.mode is Mode.CHILD:
            return  # after a collection error pytest runs nothing
        items = self.measured(session.items)
        if not items:
            return
        loops = list(dict.fromkeys(name for item in items if (name := implementation_of(item)) and "dtype" in item.callspec.params))
        write = self.write_line
        replicates = self.replicate[1] if self.mode is Mode.REPLICATED else 1
        steps = self.expected = self.expected_steps(items, replicates)  # its speed probe before the imports' timer starts
        self.time_imports(loops)
        self.progress = Progress([(step_key(nodeid, replicate, replicates), seconds) for (nodeid, replicate), seconds in steps.items()], write)
        source = (f"from {self.estimated_from}" + (f", scaled by this machine's speed: {self.probe}" if self.probe else "")
                  if self.estimated_from else "no saved run to estimate from: a rough guess")
        write(f"backprop-bench: {len(items)} benchmarks" + (f" x {replicates} replicates" if replicates > 1 else "")
              + f", {self.budget.name} budget, {self.mode.value} processes: expected about {clock(sum(steps.values()))} on this "
              f"machine ({source})" + (f"; {self.budget.fitted}" if self.budget.fitted else ""), bold=True)
        if self.mode is Mode.REPLICATED:
            self.run_replicates(items, replicates)

    def write_line(self, line: str, **markup) -> None:
        """A line on the terminal, also from inside a benchmark whose output pytest captures (a child's progress, relayed)."""
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        with capture.global_and_fixture_disabled():
            end_terminal_line(reporter)
            reporter.write_line(line, **markup)

    def expected_steps(self, items: list[pytest.Item], replicates: int) -> dict[tuple[str, int], float]:
        """About how long each benchmark (each replicate of it) takes under the budget: from the newest saved run where there
        is one (of this machine first), its times scaled by the speed probe, else from the budget alone; for the progress
        line until the pace is known. A budget with a time for the whole run has its sampling shortened first to fit it."""
        from .estimate import Step, estimator  # it reads saved runs with pandas: not in every child process

        fresh = self.mode in (Mode.ISOLATED, Mode.REPLICATED)
        fresh_process_s = time.process_time()  # what starting this process and collecting its tests took: as a child will
        environments = [needed_environment(item) for item in items]
        steps = [Step(item.nodeid, self.loop_of(item), fresh or (bool(environment) and environment not in environments[:index]),
                      not fresh and index == 0) for index, (item, environment) in enumerate(zip(items, environments, strict=True))]
        found = None if self.config.option.sweep else estimator(steps, replicates, self.config.rootpath / "results",
                                                                   machine_fingerprint(self.knob.in_force()["pools"])["id"], fresh_process_s)
        if found is not None and self.budget.run_seconds:
            found = dataclasses.replace(found, scale=self.speed_probe(found))
        self.estimated_from = found.source if found else None

        def seconds_under(budget: Budget) -> dict[tuple[str, int], float]:
            if found is not None:
                return found.seconds(budget)
            return {(item.nodeid, replicate): self.guessed_seconds(item, budget) + (fresh_process_s if fresh else 0.0)
                    for item in items for replicate in range(replicates)}

        if self.budget.run_seconds:
            self.fit_budget(lambda budget: sum(seconds_under(budget).values()))
        return seconds_under(self.budget)

    def speed_probe(self, found) -> float:
        """How much slower this machine runs now than the run the estimate comes from (below 1: faster), by NumPy's loop on
        the notebook's problem timed here (a few calls) against its median there; 1.0 where that run lacks it."""
        problem = seed_problem("float64")
        there = found.probe_seconds((REFERENCE, problem.dtype, problem.epochs, problem.sizes["n_hidden"], problem.sizes["batch"]))
        if there is None:
            return 1.0
        train = get(REFERENCE).prepare(problem)
        train()
        calls = []
        for _ in range(PROBE_CALLS):
            started = time.perf_counter()
            train()
            calls.append(time.perf_counter() - started)
        here = statistics.median(calls)
        self.probe = f"NumPy's loop {here * 1e3:.3g} ms here, {there * 1e3:.3g} ms there"
        return here / there

    def fit_budget(self, total_under) -> None:
        """Shorten the budget's sampling so that the run is expected to end within its run_seconds of pytest's time (those
        already spent collecting count), never below its shortest_seconds; the children sample as this process does."""
        from .estimate import fitted

        budget = self.budget
        left = budget.run_seconds - (time.monotonic() - self.started_at)
        fit = fitted(budget, total_under, FIT_MARGIN * left, budget.shortest_seconds)
        if fit.seconds == budget.seconds:
            return
        expected = total_under(fit)
        over = f", still about {clock(expected)}: past {clock(budget.run_seconds)}" if expected > left else ""
        self.budget = dataclasses.replace(fit, fitted=(
            f"here sampled {fit.seconds:g} s a benchmark instead of {budget.seconds:g} s, to end within {clock(budget.run_seconds)}"
            f" (expected about {clock(total_under(budget))} at {budget.seconds:g} s{over})"))
        self.config.option.budget = fit.seconds  # forwarded to every child process

    def loop_of(self, item: pytest.Item) -> tuple | None:
        """The training loop a benchmark times, as a saved run describes it: implementation, dtype, epochs, width, batch."""
        params = getattr(item, "callspec", None) and item.callspec.params or {}
        if "dtype" not in params:
            return None
        problem = self.user_problem or seed_problem(params["dtype"])
        return params["name"], problem.dtype, problem.epochs, problem.sizes["n_hidden"], problem.sizes["batch"]

    def guessed_seconds(self, item: pytest.Item, budget: Budget | None = None) -> float:
        """About how long a benchmark takes under the budget (the run's, by default), without a saved run to go by."""
        params = getattr(item, "callspec", None) and item.callspec.params or {}
        if "sweep_point" in params:
            return estimated_seconds(params["sweep_point"], params["name"])
        return (3 if "dtype" in params else 1.5) * (budget or self.budget).seconds

    def child_limit(self, items: list[pytest.Item], replicate: int = 0) -> float:
        """Seconds a child process running these benchmarks may take before it is killed: --child-limit, else a generous
        margin over what they are expected to take, and time to start and import."""
        if (given := self.config.option.child_limit) is not None:
            return given
        expected = sum(self.expected.get((item.nodeid, replicate), self.guessed_seconds(item)) for item in items)
        return CHILD_LIMIT_MARGIN * expected + CHILD_START_S

    def run_replicates(self, items: list[pytest.Item], replicates: int) -> None:
        """The benchmarks `items` `replicates` times, each replicate in its own shuffled order, every benchmark in a fresh process;
        per node id, the children's entries, or the failure that ended one."""
        self.replicate_seed = random.randrange(2**32)  # saved with the run: its orders can be replayed
        shuffle = random.Random(self.replicate_seed).shuffle
        self.measured_elsewhere.update({item.nodeid: [] for item in items})
        for replicate in range(replicates):
            order = list(items)
            shuffle(order)
            self.replicate_orders.append([item.name for item in order])
            for item in order:
                self.progress.start(step_key(item.nodeid, replicate, replicates), item.name, f"replicate {replicate + 1}/{replicates}")
                if isinstance(self.measured_elsewhere[item.nodeid], str):
                    continue  # it failed in an earlier replicate: its test reports that failure
                (entry,) = run_children(self.config, [item], needed_environment(item), (replicate, replicates),
                                        self.child_limit([item], replicate)).values()
                self.measured_elsewhere[item.nodeid] = entry if isinstance(entry, str) else [*self.measured_elsewhere[item.nodeid], entry]

    @pytest.hookimpl(tryfirst=True)  # before the test's output is captured
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem) -> None:
        """Say which benchmark runs now, n of N, and about how long is left (a child tells its first process instead)."""
        if self.mode is Mode.CHILD:
            if is_benchmark(item):
                tell_started(item.nodeid)
        elif self.progress is not None and self.mode is not Mode.REPLICATED:
            self.progress.start(item.nodeid, item.name, self.where(item))

    def where(self, item: pytest.Item) -> str:
        """Where a benchmark runs, when not in this process."""
        environment = needed_environment(item)
        return where_it_runs(environment) if self.mode is Mode.ISOLATED or environment else ""

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """In the shared mode the frameworks of every selected benchmark are imported before the first, so that all run in
        the same process."""
        if is_benchmark(item) and self.mode is Mode.SHARED and self.frameworks is None:
            selected = {implementation_of(benchmark) for benchmark in self.measured(item.session.items)}
            self.frameworks = [get(name) for name in available() if runs_here(name) and name in selected]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        """A benchmark that raised, or was stopped by Ctrl-C or SIGTERM, before it was timed: used, so that pytest-benchmark
        does not fail its teardown a second time with a warning that it was not, and nothing of it saved."""
        try:
            return (yield)
        except BaseException as error:
            if (benchmark := getattr(item, "funcargs", {}).get("benchmark")) is not None and not fixture_used(benchmark):
                mark_used_without_result(benchmark, "interrupted" if isinstance(error, KeyboardInterrupt) else "failed")
            raise

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        """Why a benchmark failed, in one line, for the saved run to say (the others go on); a child tells its first process."""
        report = yield
        if report.failed and call.excinfo is not None and is_benchmark(item) and self.config.option.benchmark_only:
            why = failure_line(call.excinfo, self.config.rootpath)
            if self.mode is Mode.CHILD:
                tell_failed(item.nodeid, why)
            else:
                self.failures.setdefault(item.name, why)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function):
        """The first process does not call a benchmark measured elsewhere: with replicates it records the replicates' results;
        with --isolate, and for the implementations needing an environment this process lacks (Keras's backend), it runs the
        benchmarks in child processes started with that environment (one per benchmark isolated, one per environment shared)."""
        benchmark = pyfuncitem.funcargs.get("benchmark")
        if benchmark is None or self.mode is Mode.CHILD or not benchmark.enabled:
            return None
        environment = needed_environment(pyfuncitem)
        if self.mode is Mode.SHARED and not environment:
            return None
        if pyfuncitem.nodeid not in self.measured_elsewhere:
            group = [pyfuncitem] if self.mode is Mode.ISOLATED else [
                item for item in self.measured(pyfuncitem.session.items) if needed_environment(item) == environment
                and item.nodeid not in self.measured_elsewhere]
            entries = run_children(self.config, group, environment, (0, 1), self.child_limit(group), self.progress)
            self.measured_elsewhere.update({nodeid: entry if isinstance(entry, str) else [entry] for nodeid, entry in entries.items()})
        results = self.measured_elsewhere[pyfuncitem.nodeid]
        if isinstance(results, str):
            mark_used_without_result(benchmark, "a child process, which failed")
            pytest.fail(results, pytrace=False)
        record_samples(benchmark, *pooled(results), entries=results, replicated=self.mode is Mode.REPLICATED)
        if (name := implementation_of(pyfuncitem)) and "import_s" in benchmark.extra_info:
            benchmark.extra_info.update(self.import_record(name))
        return True

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        """Under pytest-benchmark's own defaults (which the budget replaces for the suite's benchmarks), the rule in force."""
        if not config.option.benchmark_only or self.mode is Mode.CHILD:
            return []
        return [f"backprop-bench: {describe(self.budget)}; {self.mode.value} processes, {self.threads} thread{'s' * (self.threads > 1)}"]

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        """Remember the interrupt, so a run saved after Ctrl-C says it is incomplete."""
        self.interrupted = True

    def pytest_benchmark_update_json(self, config, benchmarks, output_json) -> None:
        if self.interrupted:
            output_json["machine_info"]["interrupted"] = True
        # a benchmark that failed after its samples were recorded has no description of ours: it is a failure, not a result
        unfinished = [bench["name"] for bench in output_json["benchmarks"] if "kind" not in bench.get("extra_info", {})]
        output_json["benchmarks"] = [bench for bench in output_json["benchmarks"] if bench["name"] not in unfinished]
        failures = dict.fromkeys(unfinished, "failed after its samples were recorded") | self.failures
        if failures and self.mode is not Mode.CHILD:
            output_json["machine_info"]["failed"] = failures

    @pytest.hookimpl(tryfirst=True)
    def pytest_benchmark_generate_machine_info(self, config) -> dict | None:
        """A child's machine is its first process's, which records it: pytest-benchmark's py-cpuinfo is not run again in
        every child process."""
        return {"node": "a child process"} if self.mode is Mode.CHILD else None

    def pytest_benchmark_update_machine_info(self, config, machine_info) -> None:
        if self.mode is Mode.CHILD:
            return  # its first process records the run's machine and versions
        machine_info["versions"] = versions()
        machine_info["environment"] = relevant_environment()
        machine_info["threads"] = self.knob.in_force()
        machine_info["fingerprint"] = machine_fingerprint(machine_info["threads"]["pools"])
        machine_info["budget"] = (SWEEP if config.option.sweep else self.budget).record()  # the sweep's points have a budget of their own
        if config.option.sweep:  # which implementations were timed at which sizes, and why, for the report to say
            machine_info["sweep_ranges"] = {name: dict(zip(("from", "up_to", "why"), swept, strict=True)) for name in REGISTRY
                                            if (swept := declaration(name).sweep_range)}
        machine_info["process_mode"] = self.mode.value
        machine_info["unavailable"] = unavailable()  # what could not run here, and why: the report says so
        if self.mode is Mode.REPLICATED:
            machine_info["replicates"] = {"count": self.replicate[1], "seed": self.replicate_seed, "orders": self.replicate_orders}

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        """At the end, one line: where the run was saved, and the command that reports it; with --fail-on-skip, the tests
        skipped."""
        if self.failures and self.mode is not Mode.CHILD:
            how = " (--tb=auto shows each traceback)" if self.config.option.tbstyle == "no" else ""
            terminalreporter.write_line(f"backprop-bench: {len(self.failures)} benchmark{'s' * (len(self.failures) > 1)} failed{how}:",
                                        red=True, bold=True)
            for name, why in self.failures.items():
                terminalreporter.write_line(f"  {name}: {why}", red=True)
        if self.saved is not None:
            terminalreporter.write_line(f"saved {self.saved}; report it with: backprop-bench report {self.saved}", bold=True)
        if self.save_failure is not None:
            terminalreporter.write_line(f"backprop-bench: {self.save_failure}; nothing of it was written, earlier runs are untouched",
                                        red=True, bold=True)
        if self.config.option.fail_on_skip and (skipped := terminalreporter.stats.get("skipped")):
            terminalreporter.write_line(f"--fail-on-skip: {len(skipped)} skipped, the first: {skipped[0].nodeid}", red=True, bold=True)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        """With --fail-on-skip, a run that skipped a test fails (CI installs every framework, so every test must run). An
        interrupted run's imports still to be timed are no longer waited for."""
        self.import_timer.stop()
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if self.config.option.fail_on_skip and reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.save_failure is not None and exitstatus == 0:  # pytest-benchmark saved (or failed to) before this hook
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def failure_line(excinfo: pytest.ExceptionInfo, root: Path) -> str:
    """An exception in one line: its type and message (their first line), and the frame of the implementation's code it was
    raised under, where there is one; a failure the suite reported itself (pytest.fail) by its message alone."""
    if isinstance(excinfo.value, pytest.fail.Exception):
        return str(excinfo.value.msg).strip().partition("\n")[0][:FAILURE_CHARS]
    line = excinfo.exconly().strip().partition("\n")[0][:FAILURE_CHARS]
    folders = [Path(folder) for folder in implementations.__path__]  # the package's, and any a test registered a module from
    frames = [entry for entry in excinfo.traceback if Path(entry.path).name.startswith("with_")
              and any(Path(entry.path).is_relative_to(folder) for folder in folders)]
    if frames:
        path = Path(frames[-1].path)
        line += f" (in {frames[-1].name}, {path.relative_to(root) if path.is_relative_to(root) else path}:{frames[-1].lineno + 1})"
    return line


def step_key(nodeid: str, replicate: int, replicates: int) -> str:
    """The progress line's name for one replicate of a benchmark (the node id itself without replicates)."""
    return f"{replicate}:{nodeid}" if replicates > 1 else nodeid


def pooled(entries: list[dict]) -> tuple[list[float], int]:
    """The samples of one benchmark's children, pooled, and their calls per sample."""
    return [duration for entry in entries for duration in entry["stats"]["data"]], entries[0]["stats"]["iterations"]


def is_benchmark(item: pytest.Item) -> bool:
    """Whether the test item is a benchmark (it uses pytest-benchmark's fixture)."""
    return "benchmark" in getattr(item, "fixturenames", ())


def implementation_of(item: pytest.Item) -> str | None:
    """The implementation a benchmark times, if it times one."""
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("name") if callspec else None


def needed_environment(item: pytest.Item) -> dict[str, str]:
    """The environment the benchmarked implementation needs and this process lacks (empty when it runs here)."""
    name = implementation_of(item)
    if name not in REGISTRY or runs_here(name):
        return {}
    return declaration(name).environment
