"""Run benchmarks in a fresh Python process, as pyperf does, and bring their samples back into this run."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .command_line import forwarded_arguments
from .internals import record_timings

# where a child writes a line as each benchmark starts (for the progress line) and as one fails (why, in one line): the
# event, the node id and what it says, tab-separated
STARTED_FD_ENV = "BACKPROP_BENCH_STARTED_FD"


def child_command(config: pytest.Config, nodeids: list[str], json_path: Path, replicate: tuple[int, int]) -> list[str]:
    """The command that runs these benchmarks in one process and writes their pytest-benchmark JSON to json_path."""
    return [sys.executable, "-m", "pytest", *nodeids, "--benchmark-only", f"--benchmark-json={json_path}", f"--child={replicate[0]}/{replicate[1]}",
            # hypothesis's plugin would cost every child process most of a second, and no benchmark uses it
            "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-q", f"--rootdir={config.rootpath}", *forwarded_arguments(config)]


def run_children(config: pytest.Config, items: list[pytest.Item], environment: dict[str, str], replicate: tuple[int, int],
                 limit_s: float, progress=None) -> dict[str, dict | str]:
    """Run the benchmarks `items` in one new interpreter, its environment updated with `environment`, passing each start on
    to `progress`, and killed if it runs past `limit_s`; per node id, its entry from the child's JSON with the child's pid,
    or why there is none."""
    names = {item.nodeid: item.name for item in items}
    where = where_it_runs(environment)
    deadline = time.monotonic() + limit_s
    with tempfile.TemporaryDirectory(prefix="backprop-bench-") as folder, tempfile.TemporaryFile() as output:
        json_path = Path(folder) / "run.json"
        started, told = os.pipe()  # the child's pytest captures its output: it tells its starts on a pipe of its own
        with subprocess.Popen(child_command(config, list(names), json_path, replicate), cwd=config.rootpath, stdout=output,
                              stderr=subprocess.STDOUT, pass_fds=(told,), start_new_session=True,
                              env=os.environ | environment | {STARTED_FD_ENV: str(told)}) as child:
            os.close(told)
            failed = {}  # node id: why, as the child said
            try:
                for line in lines_until(started, deadline):  # until the child exits, or its time is up
                    what, _, said = line.partition("\t")
                    nodeid, _, why = said.partition("\t")
                    if what == "failed":
                        failed[nodeid] = why
                    elif progress is not None:
                        progress.start(nodeid, names.get(nodeid, nodeid), where)
            finally:
                timed_out = child.poll() is None and time.monotonic() >= deadline
                if child.poll() is None:  # past its limit, or this session interrupted: the child and whatever it started go
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        output.seek(0)
        tail = output.read()[-6000:].decode(errors="replace")
        saved = json.loads(json_path.read_text())["benchmarks"] if json_path.exists() and not timed_out else []
        entries = {entry["fullname"]: entry | {"pid": child.pid} for entry in saved}
    how = (f"ran past its limit of {limit_s:g} s and was killed (--child-limit sets it)" if timed_out
           else f"was killed by {signal.Signals(-child.returncode).name}" if child.returncode < 0
           else f"ended without its result (exit {child.returncode})")
    return {nodeid: entries.get(nodeid) or failed.get(nodeid) or f"the fresh process of {name} {how}:\n{tail}" for nodeid, name in names.items()}


def lines_until(descriptor: int, deadline: float):
    """The lines written to a pipe until its writer closes it, or until the deadline (time.monotonic()) passes."""
    buffered = b""
    with os.fdopen(descriptor, "rb", buffering=0) as pipe:
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([pipe], [], [], min(left, 1.0))[0]:
                continue
            chunk = pipe.read(4096)
            if not chunk:
                return
            buffered += chunk
            *lines, buffered = buffered.split(b"\n")
            yield from (line.decode().strip() for line in lines)


def where_it_runs(environment: dict[str, str]) -> str:
    """A child process, in words for the progress line: in a fresh process, or in a process with KERAS_BACKEND=jax."""
    return "in a process with " + " ".join(f"{key}={value}" for key, value in environment.items()) if environment else "in a fresh process"


def tell_started(nodeid: str) -> None:
    """In a child: tell the first process that this benchmark starts now (nothing where no first process listens)."""
    tell("started", nodeid)


def tell_failed(nodeid: str, why: str) -> None:
    """In a child: tell the first process that this benchmark failed, and why, in one line."""
    tell("failed", nodeid, why)


def tell(*fields: str) -> None:
    if (descriptor := os.environ.get(STARTED_FD_ENV)) is not None:
        os.write(int(descriptor), ("\t".join(fields) + "\n").encode())


def record_samples(benchmark, durations: list[float], iterations: int, entries: list[dict] | None = None, replicated: bool = False) -> None:
    """Give pytest-benchmark's fixture samples timed elsewhere than in its own calls (by the budget's sampling, or by child
    processes whose `entries` it adopts), so that it saves and prints them as its own; with replicates, each one's pid and
    median in extra_info["replicates"]."""
    if entries:
        benchmark.group = entries[0]["group"]
        benchmark.extra_info.update(entries[0]["extra_info"])
    if replicated:
        benchmark.extra_info["replicates"] = [{"pid": entry["pid"], "median": entry["stats"]["median"], "rounds": entry["stats"]["rounds"]}
                                              for entry in entries]
    how = f"{len(entries)} replicate processes" if replicated else "a fresh process" if entries else "the budget's sampling"
    record_timings(benchmark, durations, iterations, how)
