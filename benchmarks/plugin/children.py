"""The runner: benchmarks run in a fresh Python process, as pyperf's workers are, started with the session's settings on
their command line and in their environment, killed past their time, their results back over a pipe and a JSON file.
What each run brings back is an outcome: Measured (the child's entries) or Failed (why, in one line)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from .command_line import forwarded_arguments

# where a child writes a line as each benchmark starts (for the progress line) and as one fails (why, in one line): the
# event, the node id and what it says, tab-separated
STARTED_FD_ENV = "BACKPROP_BENCH_STARTED_FD"
OUTPUT_TAIL_BYTES = 6000  # of a child's output, in the failure of a child that ended without its result


@dataclass(frozen=True)
class Measured:
    """A benchmark's entries from the child processes that ran it (one per replicate), each with the child's pid."""

    entries: tuple[dict, ...]

    def pooled(self) -> tuple[list[float], int]:
        """The samples of every entry, pooled, and their calls per sample."""
        return [duration for entry in self.entries for duration in entry["stats"]["data"]], self.entries[0]["stats"][
            "iterations"
        ]

    def adding(self, outcome: Outcome) -> Outcome:
        """This benchmark's entries and another replicate's: a failure ends it."""
        return Measured(self.entries + outcome.entries) if isinstance(outcome, Measured) else outcome


@dataclass(frozen=True)
class Failed:
    """A benchmark with no result from its child process, and why."""

    why: str


Outcome = Measured | Failed


def child_command(config: pytest.Config, nodeids: list[str], json_path: Path, replicate: tuple[int, int]) -> list[str]:
    """The command that runs these benchmarks in one process and writes their pytest-benchmark JSON to json_path."""
    return [
        sys.executable,
        "-m",
        "pytest",
        *nodeids,
        "--benchmark-only",
        f"--benchmark-json={json_path}",
        f"--child={replicate[0]}/{replicate[1]}",
        # hypothesis's plugin would cost every child process most of a second, and no benchmark uses it
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",
        "-q",
        f"--rootdir={config.rootpath}",
        *forwarded_arguments(config),
    ]


def run_children(
    config: pytest.Config,
    items: list[pytest.Item],
    environment: dict[str, str],
    replicate: tuple[int, int],
    limit_s: float,
    started: Callable[[str], None] = lambda nodeid: None,
) -> dict[str, Outcome]:
    """Run the benchmarks `items` in one new interpreter, its environment updated with `environment`, telling `started`
    of each benchmark's start, and killed if it runs past `limit_s`; the outcome of each, by node id."""
    names = {item.nodeid: item.name for item in items}
    deadline = time.monotonic() + limit_s
    with tempfile.TemporaryDirectory(prefix="backprop-bench-") as folder, tempfile.TemporaryFile() as output:
        json_path = Path(folder) / "run.json"
        reader, told = os.pipe()  # the child's pytest captures its output: it tells its starts on a pipe of its own
        with subprocess.Popen(
            child_command(config, list(names), json_path, replicate),
            cwd=config.rootpath,
            stdout=output,
            stderr=subprocess.STDOUT,
            pass_fds=(told,),
            start_new_session=True,
            env=os.environ | environment | {STARTED_FD_ENV: str(told)},
        ) as child:
            os.close(told)
            failed = {}  # node id: why, as the child said
            try:
                for line in lines_until(reader, deadline):  # until the child exits, or its time is up
                    what, _, said = line.partition("\t")
                    nodeid, _, why = said.partition("\t")
                    if what == "failed":
                        failed[nodeid] = Failed(why)
                    else:
                        started(nodeid)
            finally:
                timed_out = child.poll() is None and time.monotonic() >= deadline
                if (
                    child.poll() is None
                ):  # past its limit, or this session interrupted: the child and whatever it started go
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        output.seek(0)
        tail = output.read()[-OUTPUT_TAIL_BYTES:].decode(errors="replace")
        saved = json.loads(json_path.read_text())["benchmarks"] if json_path.exists() and not timed_out else []
        measured = {entry["fullname"]: Measured((entry | {"pid": child.pid},)) for entry in saved}
    if timed_out:
        how = f"ran past its limit of {limit_s:g} s and was killed (--child-limit sets it)"
    elif child.returncode < 0:
        how = f"was killed by {signal.Signals(-child.returncode).name}"
    else:
        how = f"ended without its result (exit {child.returncode})"
    return {
        nodeid: measured.get(nodeid) or failed.get(nodeid) or Failed(f"the fresh process of {name} {how}:\n{tail}")
        for nodeid, name in names.items()
    }


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


def tell_started(nodeid: str) -> None:
    """In a child: tell the first process that this benchmark starts now (nothing where no first process listens)."""
    tell("started", nodeid)


def tell_failed(nodeid: str, why: str) -> None:
    """In a child: tell the first process that this benchmark failed, and why, in one line."""
    tell("failed", nodeid, why)


def tell(*fields: str) -> None:
    if (descriptor := os.environ.get(STARTED_FD_ENV)) is not None:
        os.write(int(descriptor), ("\t".join(fields) + "\n").encode())
