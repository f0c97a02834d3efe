"""A plain test run in parallel: each worker on a CPU of its own, a framework family's tests and an xdist_group's on one
worker, what a test measures measured alone, and nothing in a test's environment that says it runs in a worker."""

import json
import os

import pytest

from benchmarks.plugin.environment import ALLOWED_CPUS_ENV
from benchmarks.plugin.workers import SHARED_DIR_ENV, XDIST_WORKER_ENV
from tests.helpers import ROOT, output_of, run_pytest

pytestmark = pytest.mark.slow

TESTS = """
import json, os, time
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def recorded(request):
    start = time.monotonic()
    yield
    record = {"pid": os.getpid(), "cpus": sorted(os.sched_getaffinity(0)), "start": start, "end": time.monotonic(),
              "worker_variables": [key for key in os.environ if key.startswith("PYTEST_XDIST")]}
    (Path(os.environ["RECORDS"]) / f"{request.node.name}.json").write_text(json.dumps(record))


@pytest.mark.parametrize("name", ["numpy", "python"])
@pytest.mark.parametrize("case", range(3))
def test_of_an_implementation(name, case):
    time.sleep(0.1)


@pytest.mark.xdist_group("together")
@pytest.mark.parametrize("case", range(3))
def test_of_a_group(case):
    time.sleep(0.1)


def test_that_measures(alone):
    time.sleep(0.2)
    with alone():
        span = [time.monotonic(), time.sleep(0.5), time.monotonic()]
        (Path(os.environ["RECORDS"]) / "alone.json").write_text(json.dumps(span))
"""


def test_a_plain_run_shares_the_tests_out_as_the_plugin_says(tmp_path, measurement):
    if len(cpus := measurement.knob.cpus[:2]) < 2:  # the CPUs this run may use (a worker is pinned to fewer)
        pytest.skip("a parallel run needs two CPUs")
    (tmp_path / "test_shared_out.py").write_text(TESTS)
    (tmp_path / "records").mkdir()
    # a run of its own, as a user starts it, not one inside this run's worker (which runs what it starts in one process)
    env = {key: value for key, value in os.environ.items() if key != SHARED_DIR_ENV} | {
        ALLOWED_CPUS_ENV: ",".join(map(str, cpus)),
        "RECORDS": str(tmp_path / "records"),
    }
    done = run_pytest(
        str(tmp_path / "test_shared_out.py"), "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), env=env
    )
    assert done.returncode == 0 and "created: 2/2 workers" in done.stdout, output_of(done)
    start, _, end = json.loads((tmp_path / "records" / "alone.json").read_text())
    records = {path.stem: json.loads(path.read_text()) for path in (tmp_path / "records").glob("test_*.json")}
    assert len(records) == 10, sorted(records)
    workers = {record["pid"]: record["cpus"] for record in records.values()}
    assert len(workers) == 2 and sorted(cpu for (cpu,) in workers.values()) == sorted(cpus), workers  # a CPU each
    numpy_family = [f"test_of_an_implementation[{case}-{name}]" for case in range(3) for name in ("numpy", "python")]
    # one family, one worker: imported once
    assert len({records[test]["pid"] for test in numpy_family}) == 1, numpy_family
    assert len({records[f"test_of_a_group[{case}]"]["pid"] for case in range(3)}) == 1  # one worker for the group
    assert all(
        record["end"] <= start or record["start"] >= end
        for name, record in records.items()
        if name != "test_that_measures"
    )
    assert not any(record["worker_variables"] for record in records.values()), XDIST_WORKER_ENV
