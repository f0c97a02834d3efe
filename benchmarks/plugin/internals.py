"""Every use of a private name of pytest or pytest-benchmark, in one place: the seam the rest of the plugin calls
instead.

Each was checked against pytest 9.2.0 and pytest-benchmark 5.3.1, the lowest versions pyproject.toml allows and the ones
requirements.txt pins (tests/test_internals.py holds each to its behaviour and the two files to each other); a new
major version of either is outside the allowed range until this module is checked against it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _pytest.nodeid import coerce_node_id  # pytest 9.2: what an item's node id is made from
from pytest_benchmark.storage.file import FileStorage


def replace_file_storage(config: pytest.Config, make: Callable[[FileStorage], FileStorage]) -> None:
    """Put `make(storage)` in place of the file storage pytest-benchmark made at configure (its session is
    config._benchmarksession, which has no public accessor); nothing where it made none, or stores elsewhere."""
    benchmarks = getattr(config, "_benchmarksession", None)
    if benchmarks is not None and isinstance(benchmarks.storage, FileStorage):
        benchmarks.storage = make(benchmarks.storage)


def next_run_number(storage: FileStorage) -> str:
    """The four-digit counter the next saved run's name starts with (FileStorage._next_num: one more than the
    highest)."""
    return storage._next_num


def record_timings(benchmark, durations: list[float], iterations: int, how: str) -> None:
    """Give pytest-benchmark's fixture samples timed elsewhere than in its own calls, as its own (it has no public way
    to add them): its stats made for `iterations` calls a sample (_make_stats), each duration per call, and the fixture
    marked used, `how` saying by what (_mode)."""
    stats = benchmark._make_stats(iterations)
    for duration in durations:
        stats.update(duration * iterations)  # it divides by the calls per sample, which `durations` already are per
    benchmark._mode = how


def fixture_used(benchmark) -> bool:
    """Whether the fixture has timed something or been marked used (its _mode), so its teardown will not warn."""
    return bool(benchmark._mode)


def mark_used_without_result(benchmark, how: str) -> None:
    """Mark the fixture used, so that its teardown does not warn that it was not, and failed (has_error), so that
    nothing of it is saved."""
    benchmark._mode, benchmark.has_error = how, True


def end_terminal_line(reporter) -> None:
    """End the line pytest is writing, where it is writing one (after a test's result letter): pytest's own check misses
    a letter written for a test a child ran (TerminalReporter._tw, its TerminalWriter)."""
    if reporter._tw.width_of_current_line:
        reporter._tw.line()


def put_in_group(item: pytest.Item, group: str) -> None:
    """Give a test the xdist group `group`: pytest-xdist's scheduler reads it from the node id, after an @ (its own
    xdist_group mark sets item._nodeid, which pytest 9.2's items no longer read; item._id is what they read)."""
    item._id = coerce_node_id(f"{item.nodeid}@{group}")
