"""Run one benchmark in a fresh Python process, as pyperf does, and bring its samples back into this run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# pytest-benchmark options that shape the measurement, passed on to the child process unchanged;
# the thread count travels in the environment (configure_threads sets it)
FORWARDED_OPTIONS = {
    "benchmark_min_rounds": "--benchmark-min-rounds",
    "benchmark_max_time": "--benchmark-max-time",
    "benchmark_min_time": "--benchmark-min-time",
    "benchmark_warmup_iterations": "--benchmark-warmup-iterations",
    "problem": "--problem",
    "sweep_points": "--sweep-points",
    "sweep_dtype": "--sweep-dtype",
}


def child_command(config: pytest.Config, nodeid: str, json_path: Path) -> list[str]:
    """The command that runs one benchmark alone and writes its pytest-benchmark JSON to json_path."""
    command = [sys.executable, "-m", "pytest", nodeid, "--benchmark-only", f"--benchmark-json={json_path}",
               "--isolated-child", "-p", "no:cacheprovider", "-q", f"--rootdir={config.rootpath}"]
    for dest, flag in FORWARDED_OPTIONS.items():
        value = config.getoption(dest)
        if value is not None:
            command.append(f"{flag}={value}")
    command += ["--benchmark-disable-gc"] * config.getoption("benchmark_disable_gc")
    command += ["--sweep"] * config.getoption("sweep")
    command += [f"--benchmark-warmup={'on' if config.getoption('benchmark_warmup') else 'off'}"]
    return command


class FreshProcessFailed(Exception):
    """A benchmark's fresh process ended without a result; the message holds the end of its output."""


def fresh_process_entry(item: pytest.Item, environment: dict[str, str]) -> dict:
    """Run the benchmark `item` in a new interpreter, its environment updated with `environment`; return its entry
    from the child's JSON, with the child's pid."""
    with tempfile.TemporaryDirectory(prefix="backprop-bench-") as folder:
        json_path = Path(folder) / "run.json"
        child = subprocess.Popen(child_command(item.config, item.nodeid, json_path), cwd=item.config.rootpath,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ | environment)
        stdout, stderr = child.communicate()
        if child.returncode != 0 or not json_path.exists():
            raise FreshProcessFailed(f"isolated run of {item.nodeid} failed (exit {child.returncode}):\n{stdout[-4000:]}{stderr[-4000:]}")
        (entry,) = json.loads(json_path.read_text())["benchmarks"]
    return entry | {"pid": child.pid}


def run_in_fresh_process(item: pytest.Item, environment: dict[str, str]) -> dict:
    """fresh_process_entry, its failure the benchmark's."""
    try:
        return fresh_process_entry(item, environment)
    except FreshProcessFailed as failure:
        pytest.fail(str(failure), pytrace=False)


def record_samples(benchmark, entries: list[dict], replicated: bool = False) -> None:
    """Give the parent's benchmark fixture the timings of one or more children (replicates, pooled), so the parent saves
    and prints them as its own; with replicates, each one's pid and median in extra_info["replicates"]."""
    first = entries[0]
    benchmark.group = first["group"]
    benchmark.extra_info.update(first["extra_info"])
    # pytest-benchmark has no public way to add timings measured elsewhere: fill the fixture's stats directly
    stats = benchmark._make_stats(first["stats"]["iterations"])
    for entry in entries:
        for duration in entry["stats"]["data"]:
            stats.stats.update(duration)
    if replicated:
        benchmark.extra_info["replicates"] = [{"pid": entry["pid"], "median": entry["stats"]["median"], "rounds": entry["stats"]["rounds"]}
                                              for entry in entries]
    benchmark._mode = f"{len(entries)} replicate processes" if replicated else "isolated process"
