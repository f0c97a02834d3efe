"""A plain test run in parallel: each worker on a CPU of its own, an implementation's tests and an xdist_group's on one worker,
the measuring tests alone, and nothing in a test's environment that says it runs in a worker."""

import json
import os

import pytest

from benchmarks.plugin.environment import ALLOWED_CPUS_ENV, allowed_cpus
from benchmarks.plugin.workers import SHARED_DIR_ENV, XDIST_WORKER_ENV
from tests.helpers import ROOT, output_of, run_pytest

pytestmark = pytest.mark.slow

TESTS = '''
import json, os, time
import pytest


@pytest.fixture(autouse=True)
def recorded(request):
    start = time.monotonic()
    yield
    record = {"pid": os.getpid(), "cpus": sorted(os.sched_getaffinity(0)), "start": start, "end": time.monotonic(),
              "worker_variables": [key for key in os.environ if key.startswith("PYTEST_XDIST")]}
    (request.config.rootpath / "records" / f"{request.node.name}.json").write_text(json.dumps(record))


@pytest.mark.parametrize("name", ["numpy", "python"])
@pytest.mark.parametrize("case", range(3))
def test_of_an_implementation(name, case):
    time.sleep(0.1)


@pytest.mark.xdist_group("together")
@pytest.mark.parametrize("case", range(3))
def test_of_a_group(case):
    time.sleep(0.1)


@pytest.mark.measuring
def test_that_measures():
    time.sleep(0.5)
'''


@pytest.mark.skipif(len(allowed_cpus()) < 2, reason="a parallel run needs two CPUs")
def test_a_plain_run_shares_the_tests_out_as_the_plugin_says(tmp_path):
    (tmp_path / "test_shared_out.py").write_text(TESTS)
    (tmp_path / "records").mkdir()
    # a run of its own, as a user starts it, not one inside this run's worker (which runs what it starts in one process)
    env = {key: value for key, value in os.environ.items() if key != SHARED_DIR_ENV} | {ALLOWED_CPUS_ENV: ",".join(map(str, allowed_cpus()[:2]))}
    done = run_pytest(str(tmp_path / "test_shared_out.py"), "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), env=env)
    assert done.returncode == 0 and "created: 2/2 workers" in done.stdout, output_of(done)
    records = {path.stem: json.loads(path.read_text()) for path in (tmp_path / "records").glob("*.json")}
    assert len(records) == 10, sorted(records)
    workers = {record["pid"]: record["cpus"] for record in records.values()}
    assert len(workers) == 2 and sorted(cpus for (cpus,) in workers.values()) == sorted(allowed_cpus()[:2]), workers  # a CPU each
    for group in ("[0-numpy]", "[1-numpy]", "[2-numpy]"), ("[0-python]", "[1-python]", "[2-python]"), ("[0]", "[1]", "[2]"):
        prefix = "test_of_a_group" if group[0] == "[0]" else "test_of_an_implementation"
        assert len({records[prefix + case]["pid"] for case in group}) == 1, group  # one worker for each group
    alone = records.pop("test_that_measures")
    assert all(record["end"] <= alone["start"] or record["start"] >= alone["end"] for record in records.values())
    assert not any(record["worker_variables"] for record in [alone, *records.values()]), XDIST_WORKER_ENV
