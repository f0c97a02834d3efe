"""How long a run will take, before it starts: each benchmark's time in the newest saved run, put through the run's
budget."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from benchmarks.model.runs import Run, RunFileError, load_run, saved_runs

from .budget import Budget


def reference_run(results: Path, machine_id: str) -> tuple[Run, bool] | None:
    """The newest saved run of this machine (by fingerprint) with training loops, else the newest of any machine; and
    whether it is this machine's."""
    runs = []
    for path in reversed(saved_runs(results)):
        try:
            run = load_run(path)
        except RunFileError:
            continue
        if len(run.benchmarks):
            if run.fingerprint["id"] == machine_id:
                return run, True
            runs.append(run)
    return (runs[0], False) if runs else None


def loop_seconds(
    budget: Budget, full_call_s: float, compile_s: float, epochs: int, replicate: int = 0, replicates: int = 1
) -> float:
    """One loop benchmark under the budget: its compile, the pilot's two calls, a slow loop's timing per epoch, and the
    calls at full length (with a warm-up call, unless the loop is slow) where the budget times it there."""
    slow = budget.projects(full_call_s) and budget.can_project(epochs)
    pilot = 2 * full_call_s * min(budget.pilot_epochs, epochs) / epochs
    per_epoch = full = 0.0
    if slow and (not budget.full_length or replicate == 0):  # under a full length, the first replicate checks
        per_epoch = budget.projection_seconds_factor * budget.seconds + len(budget.lengths) * compile_s
    if not slow or budget.full_length:
        full = max(budget.seconds, budget.samples_needed(full_call_s, replicate, replicates) * full_call_s)
        if not slow:
            full += full_call_s  # the warm-up call
    return compile_s + pilot + per_epoch + full


@dataclass(frozen=True)
class Step:
    """A benchmark to estimate: its node id, the loop it times (implementation, dtype, epochs, width, batch; None for
    a probe), and what its process must do first: start (a fresh interpreter), load (every framework of a shared
    process)."""

    nodeid: str
    loop: tuple | None
    starts_process: bool = False
    loads_frameworks: bool = False


@dataclass(frozen=True)
class Estimator:
    """What each step took in the newest saved run, from which its time under any budget is estimated, scaled by how
    much slower this machine is now than the run's (`scale`, from the speed probe: 1.0 where none was run). The run's
    tables are read once: fitting a budget asks for the estimate under many."""

    run: Run
    here: bool  # whether the run was measured on this machine
    steps: list[Step]
    replicates: int
    fresh_process_s: float
    scale: float = 1.0

    @cached_property
    def rows(self) -> dict[tuple, object]:
        """The run's loops by what they time: implementation, dtype, epochs, width, batch."""
        return {
            (row.implementation, row.dtype, row.epochs, row.n_hidden, row.batch): row
            for row in self.run.benchmarks.itertuples()
        }

    @cached_property
    def imports(self) -> dict[str, float]:
        """Each implementation's import in a fresh interpreter, scaled to this machine."""
        return {
            row.implementation: self.scale * row.import_s
            for row in self.run.benchmarks.itertuples()
            if isinstance(getattr(row, "import_s", None), float) and row.import_s == row.import_s
        }

    @cached_property
    def frameworks(self) -> float:
        """What loading every framework in one process takes: the slowest import of each framework, summed."""
        benchmarks = self.run.benchmarks
        return sum(
            benchmarks.assign(import_s=benchmarks["implementation"].map(self.imports))
            .groupby("framework")["import_s"]
            .max()
            .fillna(0)
        )

    def seconds(self, budget: Budget) -> dict[tuple[str, int], float]:
        """Per (node id, replicate): the expected seconds under `budget`; a benchmark the run lacks is expected to take
        twice the budget, a fresh process `fresh_process_s` and its framework's import."""
        rows, imports, frameworks, scale = self.rows, self.imports, self.frameworks, self.scale
        seconds = {}
        for step in self.steps:
            row = rows.get(step.loop) if step.loop else None
            for replicate in range(self.replicates):
                start = frameworks if step.loads_frameworks else 0.0
                if step.starts_process:
                    start += self.fresh_process_s + imports.get(step.loop[0] if step.loop else "", 1.0)
                if row is None:
                    seconds[(step.nodeid, replicate)] = start + 2 * budget.seconds
                    continue
                compile_s = row.compile_s if row.compile_s == row.compile_s else 0.0  # NaN: not compiled
                loop = loop_seconds(
                    budget, scale * row.median, scale * compile_s, row.epochs, replicate, self.replicates
                )
                seconds[(step.nodeid, replicate)] = start + loop
        return seconds

    @property
    def source(self) -> str:
        """Which saved run the estimate comes from, and whether it was measured on this machine."""
        where = "on this machine" if self.here else f"on another machine, {self.run.fingerprint['id']}"
        return f"run {self.run.label.split('_')[0]} {where}"

    def probe_seconds(self, loop: tuple) -> float | None:
        """The median of the speed probe's loop (implementation, dtype, epochs, width, batch) in the run, if it holds
        it."""
        found = self.run.benchmarks
        for key, value in zip(("implementation", "dtype", "epochs", "n_hidden", "batch"), loop, strict=True):
            found = found[found[key] == value]
        return float(found["median"].iloc[0]) if len(found) else None


def estimator(
    steps: list[Step], replicates: int, results: Path, machine_id: str, fresh_process_s: float
) -> Estimator | None:
    """The estimator from the newest saved run (of this machine first); None without any saved run."""
    found = reference_run(results, machine_id)
    return None if found is None else Estimator(found[0], found[1], steps, replicates, fresh_process_s)


def fitted(budget: Budget, seconds_under, within_s: float, shortest_s: float) -> Budget:
    """The budget with the longest sampling, between `shortest_s` and the budget's own, under which the run's steps are
    expected to take at most `within_s` (`seconds_under(budget)` sums them); the shortest where none is short enough."""
    if seconds_under(budget) <= within_s:
        return budget
    low, high = shortest_s, budget.seconds
    for _ in range(FIT_STEPS):
        middle = (low + high) / 2
        low, high = (middle, high) if seconds_under(replace(budget, seconds=middle)) <= within_s else (low, middle)
    return replace(budget, seconds=round(low, 3))


FIT_STEPS = 12  # halvings of the range of sampling seconds: a millisecond's precision
