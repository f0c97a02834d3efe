"""What a benchmark session runs, where and in what order, and how long it is expected to take: the mode, the selection,
the budget (fitted to the run's time), each benchmark's expected seconds, the replicates' shuffled orders, and how long
a child process may take. The runner (children.py) carries out what the plan says; it decides nothing itself."""

from __future__ import annotations

import dataclasses
import enum
import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from benchmarks.model.problem_file import ProblemFileError, load_problem
from implementations import Problem, available, get, seed_problem
from implementations.registry import REFERENCE, REGISTRY, declaration, runs_here

from .budget import DEFAULT, RIGOROUS, Budget
from .progress import clock
from .sweep_plan import SweepRefused, check_plan, default_points, estimated_seconds, parse_points

CHILD_LIMIT_MARGIN = 10  # a child may take this many times what its benchmarks are expected to take
CHILD_START_S = 300.0  # and this, to start, import its frameworks and compile
PROBE_CALLS = 7  # the speed probe's timed calls of NumPy's loop: its median, before anything else is timed
FIT_MARGIN = 0.9  # a run is fitted to this share of its time: the host's speed drifts while it runs


class Mode(enum.Enum):
    """Where the benchmarks run."""

    # in this process; the implementations needing another environment, in one process per environment
    SHARED = "shared"
    ISOLATED = "isolated"  # each benchmark in a fresh process (--isolate)
    # the selection N times, each benchmark in a fresh process every time (--replicates, --rigorous)
    REPLICATED = "replicated"
    CHILD = "child"  # a process started by one of the above for some of its benchmarks


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


def where_it_runs(environment: dict[str, str]) -> str:
    """A child process, in words: in a fresh process, or in a process with KERAS_BACKEND=jax."""
    if environment:
        return "in a process with " + " ".join(f"{key}={value}" for key, value in environment.items())
    return "in a fresh process"


def step_key(nodeid: str, replicate: int, replicates: int) -> str:
    """The progress line's name for one replicate of a benchmark (the node id itself without replicates)."""
    return f"{replicate}:{nodeid}" if replicates > 1 else nodeid


def mode_of(option) -> Mode:
    """The mode the options ask for."""
    if option.child is not None:
        return Mode.CHILD
    if (option.replicates or option.rigorous) and not option.collectonly:
        return Mode.REPLICATED
    if option.isolate:
        return Mode.ISOLATED
    return Mode.SHARED


@dataclass
class Plan:
    """The session's plan, from its options (a bad one is pytest's usage error)."""

    mode: Mode
    budget: Budget
    user_problem: Problem | None
    sweep_points: list
    replicate: tuple[int, int] = (0, 1)  # in a child: which replicate it runs (from 0), of how many
    child_limit_s: float | None = None  # --child-limit
    # (node id, replicate): about how many seconds it takes
    expected: dict[tuple[str, int], float] = field(default_factory=dict)
    estimated_from: str | None = None  # the saved run the expected durations come from
    probe: str | None = None  # the speed probe's result, in words
    replicate_seed: int | None = None
    replicate_orders: list[list[str]] = field(default_factory=list)

    @classmethod
    def from_options(cls, option) -> Plan:
        child = option.child is not None
        if (option.isolate or option.replicates or option.rigorous) and not option.benchmark_only and not child:
            raise pytest.UsageError(
                "--isolate, --replicates and --rigorous run benchmarks in child processes: use them with "
                "--benchmark-only"
            )
        if option.rigorous and option.sweep:
            raise pytest.UsageError(
                "--rigorous times the training loops of a problem; the sweep has its own budget (--sweep-budget)"
            )
        budget = RIGOROUS if option.rigorous else DEFAULT
        if option.budget is not None:  # the sampling the user chose: not fitted to the run's time
            budget = dataclasses.replace(budget, seconds=option.budget, run_seconds=None)
        mode = mode_of(option)
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
        replicates = option.replicates or budget.replicates or 1
        return cls(
            mode,
            budget,
            user_problem,
            points,
            replicate=option.child or (0, replicates),
            child_limit_s=option.child_limit,
        )

    @property
    def replicates(self) -> int:
        """How many times the first process runs the selection."""
        return self.replicate[1] if self.mode is Mode.REPLICATED else 1

    def where(self, item: pytest.Item) -> str:
        """Where a benchmark runs, when not in this process, in words for the progress line."""
        environment = needed_environment(item)
        return where_it_runs(environment) if self.mode is Mode.ISOLATED or environment else ""

    def one_process_for(self, item: pytest.Item, items: list[pytest.Item], done) -> list[pytest.Item]:
        """The benchmarks that run in the child process of `item`: itself isolated, else every benchmark of `items`
        needing the same environment that is not `done` yet."""
        if self.mode is Mode.ISOLATED:
            return [item]
        environment = needed_environment(item)
        return [other for other in items if needed_environment(other) == environment and not done(other)]

    def loop_of(self, item: pytest.Item) -> tuple | None:
        """The training loop a benchmark times, as a saved run describes it: implementation, dtype, epochs, width,
        batch."""
        params = getattr(item, "callspec", None) and item.callspec.params or {}
        if "dtype" not in params:
            return None
        problem = self.user_problem or seed_problem(params["dtype"])
        return params["name"], problem.dtype, problem.epochs, problem.sizes["n_hidden"], problem.sizes["batch"]

    def guessed_seconds(self, item: pytest.Item, budget: Budget | None = None) -> float:
        """About how long a benchmark takes under the budget (the plan's, by default), without a saved run to go by."""
        params = getattr(item, "callspec", None) and item.callspec.params or {}
        if "sweep_point" in params:
            return estimated_seconds(params["sweep_point"], params["name"])
        return (3 if "dtype" in params else 1.5) * (budget or self.budget).seconds

    def child_limit(self, items: list[pytest.Item], replicate: int = 0) -> float:
        """Seconds a child process running these benchmarks may take before it is killed: --child-limit, else a generous
        margin over what they are expected to take, and time to start and import."""
        if self.child_limit_s is not None:
            return self.child_limit_s
        expected = sum(self.expected.get((item.nodeid, replicate), self.guessed_seconds(item)) for item in items)
        return CHILD_LIMIT_MARGIN * expected + CHILD_START_S

    def estimate(
        self, items: list[pytest.Item], results: Path, machine_id: str, sweep: bool, started_at: float
    ) -> dict[tuple[str, int], float]:
        """About how long each benchmark (each replicate of it) takes under the budget: from the newest saved run where
        there is one (of this machine first), its times scaled by the speed probe, else from the budget alone; for the
        progress line until the pace is known. A budget with a time for the whole run has its sampling shortened first
        to fit it (the run's time counts from `started_at`, about when pytest started)."""
        from .estimate import Step, estimator  # it reads saved runs with pandas: not in every child process

        fresh = self.mode in (Mode.ISOLATED, Mode.REPLICATED)
        # what starting this process and collecting its tests took: as a child will
        fresh_process_s = time.process_time()
        environments = [needed_environment(item) for item in items]
        steps = [
            Step(
                item.nodeid,
                self.loop_of(item),
                fresh or (bool(environment) and environment not in environments[:index]),
                not fresh and index == 0,
            )
            for index, (item, environment) in enumerate(zip(items, environments, strict=True))
        ]
        found = None if sweep else estimator(steps, self.replicates, results, machine_id, fresh_process_s)
        if found is not None and self.budget.run_seconds:
            found = dataclasses.replace(found, scale=self.speed_probe(found))
        self.estimated_from = found.source if found else None

        def seconds_under(budget: Budget) -> dict[tuple[str, int], float]:
            if found is not None:
                return found.seconds(budget)
            return {
                (item.nodeid, replicate): self.guessed_seconds(item, budget) + (fresh_process_s if fresh else 0.0)
                for item in items
                for replicate in range(self.replicates)
            }

        if self.budget.run_seconds:
            self.fit_budget(lambda budget: sum(seconds_under(budget).values()), started_at)
        self.expected = seconds_under(self.budget)
        return self.expected

    def speed_probe(self, found) -> float:
        """How much slower this machine runs now than the run the estimate comes from (below 1: faster), by NumPy's loop
        on the notebook's problem timed here (a few calls) against its median there; 1.0 where that run lacks it."""
        problem = seed_problem("float64")
        there = found.probe_seconds(
            (REFERENCE, problem.dtype, problem.epochs, problem.sizes["n_hidden"], problem.sizes["batch"])
        )
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

    def fit_budget(self, total_under, started_at: float) -> None:
        """Shorten the budget's sampling so that the run is expected to end within its run_seconds of pytest's time
        (those already spent collecting count), never below its shortest_seconds."""
        from .estimate import fitted

        budget = self.budget
        left = budget.run_seconds - (time.monotonic() - started_at)
        fit = fitted(budget, total_under, FIT_MARGIN * left, budget.shortest_seconds)
        if fit.seconds == budget.seconds:
            return
        expected = total_under(fit)
        over = f", still about {clock(expected)}: past {clock(budget.run_seconds)}" if expected > left else ""
        self.budget = dataclasses.replace(
            fit,
            fitted=(
                f"here sampled {fit.seconds:g} s a benchmark instead of {budget.seconds:g} s, to end within "
                f"{clock(budget.run_seconds)} (expected about {clock(total_under(budget))} at {budget.seconds:g} "
                f"s{over})"
            ),
        )

    def shuffled_replicates(self, items: list[pytest.Item]) -> list[list[pytest.Item]]:
        """The benchmarks' order in each replicate, each shuffled apart by a seed saved with the run, so that its orders
        can be replayed."""
        self.replicate_seed = random.randrange(2**32)
        shuffle = random.Random(self.replicate_seed).shuffle
        orders = []
        for _ in range(self.replicates):
            order = list(items)
            shuffle(order)
            orders.append(order)
        self.replicate_orders = [[item.name for item in order] for order in orders]
        return orders

    def line(self, benchmarks: int) -> str:
        """The plan in one line, as the run starts: what runs, under which budget, where, and about how long it
        takes."""
        source = "no saved run to estimate from: a rough guess"
        if self.estimated_from:
            source = f"from {self.estimated_from}" + (
                f", scaled by this machine's speed: {self.probe}" if self.probe else ""
            )
        replicates = f" x {self.replicates} replicates" if self.replicates > 1 else ""
        fitted = f"; {self.budget.fitted}" if self.budget.fitted else ""
        return (
            f"backprop-bench: {benchmarks} benchmarks{replicates}, {self.budget.name} budget, {self.mode.value} "
            f"processes: expected about {clock(sum(self.expected.values()))} on this machine ({source}){fitted}"
        )
