"""The progress display of a benchmark run, a line as each benchmark starts: which benchmark, n of N, the time since the
start and an estimate of what is left, from each benchmark's expected time under the budget, corrected by how long the
finished ones took."""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic

import pytest

from .internals import end_terminal_line

# the expected times are rough before any benchmark has finished; after this many seconds of expected work the
# estimate follows the pace measured so far
SETTLED_S = 20.0


def clock(seconds: float) -> str:
    """Seconds as a clock reads them: 0:42, 3:05, 1:02:10."""
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def write_line(config: pytest.Config, line: str, **markup) -> None:
    """A line on the terminal, also from inside a benchmark whose output pytest captures (a child's progress,
    relayed)."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    with capture.global_and_fixture_disabled():
        end_terminal_line(reporter)
        reporter.write_line(line, **markup)


class Progress:
    """Counts the steps of a run (a step is a benchmark, or one replicate of one) against their expected seconds."""

    def __init__(
        self, steps: list[tuple[str, float]], write: Callable[[str], None], now: Callable[[], float] = monotonic
    ):
        self.steps = steps  # (key, expected seconds), in the order they are expected to run
        self.expected = dict(steps)
        self.write, self.now = write, now
        self.started_at = now()
        self.started: list[str] = []

    @property
    def total(self) -> int:
        return len(self.steps)

    def seconds_left(self) -> float:
        """The expected seconds of the step that just started and of those not started, at the pace of the finished
        ones."""
        finished = self.started[:-1]
        expected_finished = sum(self.expected[key] for key in finished)
        pace = (self.now() - self.started_at) / expected_finished if expected_finished >= SETTLED_S else 1.0
        started = set(self.started)
        return pace * sum(seconds for key, seconds in self.steps if key not in started or key == self.started[-1])

    def start(self, key: str, label: str, note: str = "") -> None:
        """Say that the step `key` starts now (each step once; a step already announced is not announced again)."""
        if key in self.started or key not in self.expected:
            return
        self.started.append(key)
        elapsed = self.now() - self.started_at
        self.write(
            f"[{len(self.started)}/{self.total}] {label}{f' ({note})' if note else ''} · {clock(elapsed)} elapsed · "
            f"about {clock(self.seconds_left())} left"
        )
