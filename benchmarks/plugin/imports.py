"""What a user's script pays before anything else: the seconds to import an implementation, its framework with it, in a
fresh interpreter started with the environment the implementation needs, and the frameworks that import loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

from implementations.registry import declaration

IMPORT_RECORD = ("import_s", "frameworks_imported")  # what a benchmark records of its implementation's import
# the timer moves itself to the CPUs it is given before it imports anything, so that it leaves the benchmarks' CPUs
# alone
IMPORT_TIMER = (
    "import importlib, json, os, sys, time; cpus = [int(cpu) for cpu in sys.argv[2].split(',') if cpu]; cpus and "
    "os.sched_setaffinity(0, cpus); start = time.perf_counter(); importlib.import_module(sys.argv[1]); seconds = "
    "time.perf_counter() - start; from implementations.registry import frameworks_loaded; "
    "print(json.dumps({'import_s': seconds, 'frameworks_imported': frameworks_loaded()}))"
)


def timed_import(
    name: str, cpus: list[int], started: Callable[[subprocess.Popen], None] = lambda process: None
) -> dict:
    """Seconds to import the implementation's module, its framework with it, in a fresh interpreter on these CPUs (any
    of the process's own where none are given), and the registry's frameworks that import loaded; `started` is told of
    the interpreter, so that it can be ended early."""
    declared = declaration(name)
    with subprocess.Popen(
        [sys.executable, "-c", IMPORT_TIMER, f"implementations.{declared.module}", ",".join(map(str, cpus))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
        env=os.environ | declared.environment,
    ) as process:
        started(process)
        out, err = process.communicate()
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, process.args, out, err)
    return json.loads(out.splitlines()[-1])


class ImportTimer:
    """Imports timed one at a time in a thread of their own, while the benchmarks run; stopped at the session's end, so
    that an interrupted session does not wait for the imports it no longer needs."""

    def __init__(self):
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-timer")
        self.running: set[subprocess.Popen] = set()

    def submit(self, name: str, cpus: list[int]) -> Future:
        """Time this implementation's import after those submitted before."""
        return self.pool.submit(timed_import, name, cpus, self.running.add)

    def stop(self) -> None:
        """Cancel the imports not yet started and end the one under way."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in list(self.running):
            process.kill()


class ImportTimes:
    """Each implementation's import, timed once per run by the first process (on the CPUs the benchmarks leave free),
    and asked for by its benchmarks when they record what they measured."""

    def __init__(self):
        self.timer = ImportTimer()
        self.futures: dict[str, Future] = {}

    def start(self, names: list[str], spare_cpus: list[int]) -> None:
        """Start timing the imports of these implementations, one at a time, on the spare CPUs (at once, and before
        anything is timed, where none is spare)."""
        for name in names:
            if name not in self.futures:
                self.futures[name] = self.timer.submit(name, spare_cpus)
        if not spare_cpus:
            wait([self.futures[name] for name in names])

    def of(self, name: str, spare_cpus: list[int]) -> dict:
        """What the benchmark of this implementation records of its import (timed now, where it was not started)."""
        if name not in self.futures:
            self.start([name], spare_cpus)
        try:
            return self.futures[name].result()
        except (
            subprocess.CalledProcessError
        ):  # its interpreter died (killed, out of memory): the import's cost is unknown,
            return dict.fromkeys(IMPORT_RECORD)  # and the benchmark's own result stands

    def stop(self) -> None:
        self.timer.stop()
