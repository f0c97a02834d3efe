"""Writing the run: what the suite adds to pytest-benchmark's JSON (each benchmark's samples adopted into its fixture,
the machine and its settings, what failed and why, an interrupt) and the lines that end the session (where the run was
saved, or why it could not be)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

import implementations
from implementations import unavailable
from implementations.registry import REGISTRY, declaration

from .budget import Budget
from .children import Measured
from .environment import relevant_environment, versions
from .fingerprint import machine_fingerprint
from .internals import record_timings
from .plan import Mode, Plan

FAILURE_CHARS = 300  # of an exception's message, in the line that says why a benchmark failed


def record_samples(benchmark, durations: list[float], iterations: int) -> None:
    """Give pytest-benchmark's fixture samples timed by the budget's sampling, as its own, so that it saves and prints
    them."""
    record_timings(benchmark, durations, iterations, "the budget's sampling")


def adopt(benchmark, measured: Measured, replicated: bool) -> None:
    """Give pytest-benchmark's fixture the samples and description of the child processes that ran its benchmark, as its
    own; with replicates, each one's pid and median in extra_info["replicates"]."""
    first = measured.entries[0]
    benchmark.group = first["group"]
    benchmark.extra_info.update(first["extra_info"])
    if replicated:
        benchmark.extra_info["replicates"] = [
            {"pid": entry["pid"], "median": entry["stats"]["median"], "rounds": entry["stats"]["rounds"]}
            for entry in measured.entries
        ]
    record_timings(
        benchmark,
        *measured.pooled(),
        f"{len(measured.entries)} replicate processes" if replicated else "a fresh process",
    )


def failure_line(excinfo: pytest.ExceptionInfo, root: Path) -> str:
    """An exception in one line: its type and message (their first line), and the frame of the implementation's code it
    was raised under, where there is one; a failure the suite reported itself (pytest.fail) by its message alone."""
    if isinstance(excinfo.value, pytest.fail.Exception):
        return str(excinfo.value.msg).strip().partition("\n")[0][:FAILURE_CHARS]
    line = excinfo.exconly().strip().partition("\n")[0][:FAILURE_CHARS]
    folders = [
        Path(folder) for folder in implementations.__path__
    ]  # the package's, and any a test registered a module from
    frames = [
        entry
        for entry in excinfo.traceback
        if Path(entry.path).name.startswith("with_")
        and any(Path(entry.path).is_relative_to(folder) for folder in folders)
    ]
    if frames:
        path = Path(frames[-1].path)
        where = path.relative_to(root) if path.is_relative_to(root) else path
        line += f" (in {frames[-1].name}, {where}:{frames[-1].lineno + 1})"
    return line


@dataclass
class RunRecord:
    """What the session adds to the run it saves, gathered while it runs."""

    interrupted: bool = False
    failures: dict[str, str] = field(default_factory=dict)  # benchmark name: why it failed, in one line
    saved: Path | None = None
    save_failure: str | None = None  # why the run could not be saved

    def remember_saved(self, path: Path) -> None:
        self.saved = path

    def remember_save_failure(self, reason: str) -> None:
        self.save_failure = reason

    def update_json(self, output_json: dict, mode: Mode) -> None:
        """The run's JSON as saved: an interrupted run marked, a benchmark that failed after its samples were recorded
        dropped (it has no description of ours: a failure, not a result), and the failures named."""
        if self.interrupted:
            output_json["machine_info"]["interrupted"] = True
        unfinished = [bench["name"] for bench in output_json["benchmarks"] if "kind" not in bench.get("extra_info", {})]
        output_json["benchmarks"] = [bench for bench in output_json["benchmarks"] if bench["name"] not in unfinished]
        failures = dict.fromkeys(unfinished, "failed after its samples were recorded") | self.failures
        if failures and mode is not Mode.CHILD:
            output_json["machine_info"]["failed"] = failures

    def update_machine_info(
        self, machine_info: dict, plan: Plan, threads: dict, budget: Budget, sweep: bool, session_seconds: float
    ) -> None:
        """The machine and the run's settings, as the reports read them: versions, environment, the threads in force,
        the fingerprint, the budget's rule, the process mode, what could not run here, and the sweep's ranges or the
        replicates' orders; and how long the session took, against what the plan expected (None: no estimate)."""
        machine_info["session_seconds"] = round(session_seconds, 1)
        machine_info["expected_seconds"] = round(sum(plan.expected.values()), 1) if plan.expected else None
        machine_info["versions"] = versions()
        machine_info["environment"] = relevant_environment()
        machine_info["threads"] = threads
        machine_info["fingerprint"] = machine_fingerprint(threads["pools"])
        machine_info["budget"] = budget.record()
        if sweep:  # which implementations were timed at which sizes, and why, for the report to say
            machine_info["sweep_ranges"] = {
                name: dict(zip(("from", "up_to", "why"), swept, strict=True))
                for name in REGISTRY
                if (swept := declaration(name).sweep_range)
            }
        machine_info["process_mode"] = plan.mode.value
        machine_info["unavailable"] = unavailable()  # what could not run here, and why: the report says so
        if plan.mode is Mode.REPLICATED:
            machine_info["replicates"] = {
                "count": plan.replicates,
                "seed": plan.replicate_seed,
                "orders": plan.replicate_orders,
            }

    def summary(self, tracebacks_hidden: bool) -> list[tuple[str, dict]]:
        """The lines that end the session, with their markup: the failures, one line each, and where the run was
        saved."""
        lines = []
        if self.failures:
            how = " (--tb=auto shows each traceback)" if tracebacks_hidden else ""
            count = len(self.failures)
            lines.append(
                (f"backprop-bench: {count} benchmark{'s' * (count > 1)} failed{how}:", {"red": True, "bold": True})
            )
            lines += [(f"  {name}: {why}", {"red": True}) for name, why in self.failures.items()]
        if self.saved is not None:
            lines.append((f"saved {self.saved}; report it with: backprop-bench report {self.saved}", {"bold": True}))
        if self.save_failure is not None:
            lines.append(
                (
                    f"backprop-bench: {self.save_failure}; nothing of it was written, earlier runs are untouched",
                    {"red": True, "bold": True},
                )
            )
        return lines
