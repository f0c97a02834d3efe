"""The seam to pytest's and pytest-benchmark's private names (benchmarks/plugin/internals.py), held to what each does
in the versions installed, and the dependency range to the versions that are tested: a release that changes one fails
here."""

import logging
import re
import tomllib
from io import StringIO
from time import perf_counter
from types import SimpleNamespace

import pytest
from _pytest.terminal import TerminalReporter
from packaging.requirements import Requirement
from packaging.version import Version
from pytest_benchmark.fixture import BenchmarkFixture
from pytest_benchmark.storage.file import FileStorage
from pytest_benchmark.utils import NameWrapper

from benchmarks.plugin import internals
from tests.helpers import ROOT, write

SEAMED = ("pytest", "pytest-benchmark")  # the projects whose private names internals.py uses


def test_the_range_allowed_starts_at_the_versions_tested_and_ends_before_the_next_major():
    declared = {
        Requirement(text).name: Requirement(text).specifier
        for text in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    pinned = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line)
    for name in SEAMED:
        tested = Version(pinned[name])
        assert {str(spec) for spec in declared[name]} == {f">={tested}", f"<{tested.major + 1}"}, (name, declared[name])
        assert f"{name} {tested}" in internals.__doc__  # the versions the seam says it was checked against


def fixture() -> tuple[BenchmarkFixture, list]:
    """pytest-benchmark's fixture for a test called test_seam, collecting its stats in a list."""
    added = []
    node = SimpleNamespace(name="test_seam", nodeid="tests/test_internals.py::test_seam")
    made = BenchmarkFixture(
        node,
        disable_gc=False,
        timer=NameWrapper(perf_counter),
        min_rounds=1,
        min_time=0,
        max_time=1,
        precision=0,
        confidence=None,
        warmup=False,
        warmup_iterations=0,
        calibration_precision=10,
        add_stats=added.append,
        logger=logging.getLogger("test"),
        warner=None,
        disabled=False,
        cprofile=False,
        cprofile_loops=None,
        cprofile_dump=None,
    )
    return made, added


def test_timings_recorded_elsewhere_become_the_fixtures_own_stats_and_mark_it_used():
    benchmark, added = fixture()
    assert not internals.fixture_used(benchmark)
    internals.record_timings(benchmark, [0.010, 0.030, 0.020], iterations=4, how="the budget's sampling")
    assert internals.fixture_used(benchmark) and not benchmark.has_error
    (stats,) = added
    assert stats.stats.rounds == 3 and stats.stats.median == pytest.approx(0.020) and stats.iterations == 4


def test_a_fixture_marked_used_without_a_result_has_nothing_to_save():
    benchmark, added = fixture()
    internals.mark_used_without_result(benchmark, "failed")
    assert internals.fixture_used(benchmark) and benchmark.has_error and added == []


def test_the_next_run_number_follows_the_highest_saved(tmp_path):
    storage = FileStorage(tmp_path, logger=logging.getLogger("test"), default_machine_id="machine")
    assert internals.next_run_number(storage) == "0001"
    write(tmp_path / "machine" / "0007_run.json", {})
    write(tmp_path / "machine" / "0003_run.json", {})
    assert internals.next_run_number(storage) == "0008"


def test_the_file_storage_is_replaced_where_pytest_benchmark_made_one(tmp_path, pytestconfig, monkeypatch):
    made = pytestconfig._benchmarksession  # pytest-benchmark's session, as this run's configure made it
    assert hasattr(made, "storage")
    session = SimpleNamespace(
        storage=FileStorage(tmp_path, logger=logging.getLogger("test"), default_machine_id="machine")
    )
    monkeypatch.setattr(pytestconfig, "_benchmarksession", session)
    internals.replace_file_storage(pytestconfig, lambda storage: ("replaced", storage.path))
    assert session.storage == ("replaced", tmp_path)


def test_the_terminal_line_is_ended_only_where_one_is_being_written(pytestconfig):
    out = StringIO()
    reporter = TerminalReporter(pytestconfig, out)
    internals.end_terminal_line(reporter)
    assert out.getvalue() == ""
    reporter.write(".")
    internals.end_terminal_line(reporter)
    assert out.getvalue() == ".\n"


def test_a_test_put_in_a_group_carries_it_in_its_node_id(request):
    item = request.node
    before, own = item.nodeid, item._id
    try:
        internals.put_in_group(item, "numpy")
        assert item.nodeid == f"{before}@numpy" and re.fullmatch(r".+::\w+@numpy", item.nodeid)
    finally:
        item._id = own  # its own id again, for the report of this test
