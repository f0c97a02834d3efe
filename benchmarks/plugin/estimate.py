"""How long a run will take, before it starts: each benchmark's time in the newest saved run, put through the run's budget."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.model.runs import Run, RunFileError, load_run, saved_runs

from .budget import Budget


@dataclass(frozen=True)
class Estimate:
    """Seconds per step (node id and replicate), and the run they were estimated from."""

    seconds: dict[tuple[str, int], float]
    source: str  # which saved run, and whether it was measured on this machine

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def reference_run(results: Path, machine_id: str) -> tuple[Run, bool] | None:
    """The newest saved run of this machine (by fingerprint) with training loops, else the newest of any machine; and whether
    it is this machine's."""
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


def loop_seconds(budget: Budget, full_call_s: float, compile_s: float, epochs: int, replicate: int = 0, replicates: int = 1) -> float:
    """One loop benchmark under the budget: its compile, the pilot's two calls, a slow loop's timing per epoch, and the
    calls at full length (with a warm-up call, unless the loop is slow) where the budget times it there."""
    slow = budget.projects(full_call_s) and budget.can_project(epochs)
    pilot = 2 * full_call_s * min(budget.pilot_epochs, epochs) / epochs
    timed_per_epoch = slow and (not budget.full_length or replicate == 0)  # under a full length, the first replicate checks
    per_epoch = budget.projection_seconds_factor * budget.seconds + len(budget.lengths) * compile_s if timed_per_epoch else 0.0
    full = 0.0 if slow and not budget.full_length else (
        max(budget.seconds, budget.samples_needed(full_call_s, replicate, replicates) * full_call_s) + (0.0 if slow else full_call_s))
    return compile_s + pilot + per_epoch + full


@dataclass(frozen=True)
class Step:
    """A benchmark to estimate: its node id, the loop it times (implementation, dtype, epochs, width, batch; None for a
    probe), and what its process must do first: start (a fresh interpreter), load (every framework of a shared process)."""

    nodeid: str
    loop: tuple | None
    starts_process: bool = False
    loads_frameworks: bool = False


def estimate(budget: Budget, steps: list[Step], replicates: int, results: Path, machine_id: str, fresh_process_s: float) -> Estimate | None:
    """Per (node id, replicate): the expected seconds, from the newest saved run; a benchmark that run lacks is expected to
    take twice the budget, a fresh process `fresh_process_s` and its framework's import. None without any saved run."""
    found = reference_run(results, machine_id)
    if found is None:
        return None
    run, here = found
    rows = {(row.implementation, row.dtype, row.epochs, row.n_hidden, row.batch): row for row in run.benchmarks.itertuples()}
    imports = {row.implementation: row.import_s for row in run.benchmarks.itertuples() if isinstance(getattr(row, "import_s", None), float)
               and row.import_s == row.import_s}
    frameworks = sum(run.benchmarks.assign(import_s=run.benchmarks["implementation"].map(imports)).groupby("framework")["import_s"].max().fillna(0))
    seconds = {}
    for step in steps:
        row = rows.get(step.loop) if step.loop else None
        for replicate in range(replicates):
            start = (fresh_process_s + imports.get(step.loop[0] if step.loop else "", 1.0) if step.starts_process else 0.0) + (
                frameworks if step.loads_frameworks else 0.0)
            seconds[(step.nodeid, replicate)] = start + (
                2 * budget.seconds if row is None else
                loop_seconds(budget, row.median, row.compile_s if row.compile_s == row.compile_s else 0.0, row.epochs, replicate, replicates))
    where = "on this machine" if here else f"on another machine, {run.fingerprint['id']}: scale it by this one's speed"
    return Estimate(seconds, f"from run {run.label.split('_')[0]} {where}")
