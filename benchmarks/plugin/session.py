"""The plugin's state for one pytest run, made once at configure and kept on the config (as pytest-benchmark's
BenchmarkSession): its plan (plan.py), the thread knob, the trainings, the imports timed meanwhile, the outcomes of
the benchmarks run in child processes (children.py), the progress line (progress.py) and what is added to the saved
run (run_record.py). The hooks (the plugin's module functions) call it; the benchmarks use it as the `measurement`
fixture."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from implementations import available, get
from implementations.registry import runs_here

from .children import Failed, Measured, Outcome, run_children
from .environment import ThreadKnob
from .fingerprint import machine_fingerprint
from .imports import IMPORT_RECORD, ImportTimes
from .plan import Mode, Plan, implementation_of, is_benchmark, needed_environment, step_key
from .progress import Progress, write_line
from .run_record import RunRecord, adopt, record_samples
from .trainings import Trainings
from .workers import shared_dir


@dataclass
class BenchSession:
    """Everything the plugin decides once per pytest run, and what it learns while the run goes on."""

    config: pytest.Config
    plan: Plan
    knob: ThreadKnob
    trainings: Trainings  # each training once per run, for the checks
    run_record: RunRecord = field(default_factory=RunRecord)
    imports: ImportTimes = field(default_factory=ImportTimes)
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # node id: what its child processes brought back
    progress: Progress | None = None
    frameworks: list | None = None  # in the shared mode, every selected benchmark's, imported before the first
    # the open lock file that keeps other benchmark sessions off this machine while this one measures
    machine_lock: int | None = None
    # about when pytest started: the run's time counts from here
    started_at: float = field(default_factory=time.monotonic)

    @classmethod
    def from_config(cls, config: pytest.Config, knob: ThreadKnob) -> BenchSession:
        return cls(config, Plan.from_options(config.option), knob, Trainings(shared_dir(config)))

    @property
    def mode(self) -> Mode:
        return self.plan.mode

    # what the benchmarks ask of it (the `measurement` fixture)

    @property
    def budget(self):
        return self.plan.budget

    @property
    def replicate(self) -> tuple[int, int]:
        return self.plan.replicate

    @property
    def user_problem(self):
        return self.plan.user_problem

    @property
    def sweep_points(self) -> list:
        return self.plan.sweep_points

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
        """The seconds to import the implementation in a fresh interpreter and the frameworks that loads (timed by the
        first process, meanwhile; None in a child, whose first process fills them in)."""
        if self.mode is Mode.CHILD:
            return dict.fromkeys(IMPORT_RECORD)
        return self.imports.of(name, self.spare_cpus())

    def spare_cpus(self) -> list[int]:
        """The CPUs this session may use that its benchmarks leave free."""
        return self.knob.spare_cpus()

    # what the hooks ask of it

    def measured(self, items: list[pytest.Item]) -> list[pytest.Item]:
        """The benchmarks of the selection that run (an unavailable implementation's carries a skip mark)."""
        if not self.config.option.benchmark_only and not self.config.option.benchmark_enable:
            return []
        return [item for item in items if is_benchmark(item) and not item.get_closest_marker("skip")]

    def begin(self, items: list[pytest.Item]) -> None:
        """Before the first benchmark: the plan's estimate (its speed probe before the imports' timer starts), the
        imports timed meanwhile, the progress line's steps, the plan in one line, and with replicates every
        replicate."""
        replicates = self.plan.replicates
        machine_id = machine_fingerprint(self.knob.in_force()["pools"])["id"]
        steps = self.plan.estimate(
            items, self.config.rootpath / "results", machine_id, self.config.option.sweep, self.started_at
        )
        if self.plan.budget.fitted:
            self.config.option.budget = self.plan.budget.seconds  # the children sample as this process does
        loops = [implementation_of(item) for item in items if "dtype" in item.callspec.params]
        self.imports.start(list(dict.fromkeys(filter(None, loops))), self.spare_cpus())
        self.progress = Progress(
            [(step_key(nodeid, replicate, replicates), seconds) for (nodeid, replicate), seconds in steps.items()],
            self.write_line,
        )
        self.write_line(self.plan.line(len(items)), bold=True)
        if self.mode is Mode.REPLICATED:
            self.run_replicates(items)

    def write_line(self, line: str, **markup) -> None:
        write_line(self.config, line, **markup)

    def run_replicates(self, items: list[pytest.Item]) -> None:
        """Every replicate of the benchmarks, each in its own shuffled order, every benchmark in a fresh process."""
        replicates = self.plan.replicates
        self.outcomes.update({item.nodeid: Measured(()) for item in items})
        for replicate, order in enumerate(self.plan.shuffled_replicates(items)):
            for item in order:
                self.progress.start(
                    step_key(item.nodeid, replicate, replicates), item.name, f"replicate {replicate + 1}/{replicates}"
                )
                if isinstance(self.outcomes[item.nodeid], Failed):
                    continue  # it failed in an earlier replicate: its test reports that failure
                (outcome,) = run_children(
                    self.config,
                    [item],
                    self.child_environment(item),
                    (replicate, replicates),
                    self.plan.child_limit([item], replicate),
                ).values()
                self.outcomes[item.nodeid] = self.outcomes[item.nodeid].adding(outcome)

    def announce(self, item: pytest.Item) -> None:
        """Say which benchmark runs now, n of N, and about how long is left."""
        if self.progress is not None and self.mode is not Mode.REPLICATED:
            self.progress.start(item.nodeid, item.name, self.plan.where(item))

    def import_frameworks(self, item: pytest.Item) -> None:
        """In the shared mode the frameworks of every selected benchmark are imported before the first, so that all run
        in the same process."""
        if self.mode is Mode.SHARED and self.frameworks is None:
            selected = {implementation_of(benchmark) for benchmark in self.measured(item.session.items)}
            self.frameworks = [get(name) for name in available() if runs_here(name) and name in selected]

    def outcome_elsewhere(self, item: pytest.Item) -> Outcome:
        """What the child processes that ran this benchmark brought back, running them now where they have not run: with
        --isolate one per benchmark, else one for every benchmark needing the same environment."""
        if item.nodeid not in self.outcomes:
            group = self.plan.one_process_for(
                item, self.measured(item.session.items), lambda other: other.nodeid in self.outcomes
            )
            self.outcomes.update(
                run_children(
                    self.config,
                    group,
                    self.child_environment(item),
                    (0, 1),
                    self.plan.child_limit(group),
                    started=self.child_started(group),
                )
            )
        return self.outcomes[item.nodeid]

    def child_environment(self, item: pytest.Item) -> dict[str, str]:
        """A child process's environment beyond this one's: the one its implementation needs, and this run's threads and
        CPUs."""
        return needed_environment(item) | self.knob.passed_on()

    def child_started(self, group: list[pytest.Item]):
        names = {item.nodeid: item for item in group}

        def started(nodeid: str) -> None:
            if self.progress is not None and nodeid in names:
                self.progress.start(nodeid, names[nodeid].name, self.plan.where(names[nodeid]))

        return started

    def adopt(self, item: pytest.Item, benchmark, measured: Measured) -> None:
        """Give the benchmark's fixture what its child processes measured, and its implementation's import."""
        adopt(benchmark, measured, replicated=self.mode is Mode.REPLICATED)
        if (name := implementation_of(item)) and "import_s" in benchmark.extra_info:
            benchmark.extra_info.update(self.import_record(name))
