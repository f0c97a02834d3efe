"""What a user's script pays before anything else: the seconds to import an implementation, its framework with it, in a
fresh interpreter started with the environment the implementation needs, and the frameworks that import loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from implementations.registry import declaration

IMPORT_RECORD = ("import_s", "frameworks_imported")  # what a benchmark records of its implementation's import
# the timer moves itself to the CPUs it is given before it imports anything, so that it leaves the benchmarks' CPUs alone
IMPORT_TIMER = ("import importlib, json, os, sys, time; cpus = [int(cpu) for cpu in sys.argv[2].split(',') if cpu]; "
                "cpus and os.sched_setaffinity(0, cpus); start = time.perf_counter(); importlib.import_module(sys.argv[1]); "
                "seconds = time.perf_counter() - start; from implementations.registry import frameworks_loaded; "
                "print(json.dumps({'import_s': seconds, 'frameworks_imported': frameworks_loaded()}))")


def timed_import(name: str, cpus: list[int], started: Callable[[subprocess.Popen], None] = lambda process: None) -> dict:
    """Seconds to import the implementation's module, its framework with it, in a fresh interpreter on these CPUs (any of the
    process's own where none are given), and the registry's frameworks that import loaded; `started` is told of the
    interpreter, so that it can be ended early."""
    declared = declaration(name)
    with subprocess.Popen([sys.executable, "-c", IMPORT_TIMER, f"implementations.{declared.module}", ",".join(map(str, cpus))],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
                          env=os.environ | declared.environment) as process:
        started(process)
        out, err = process.communicate()
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, process.args, out, err)
    return json.loads(out.splitlines()[-1])


class ImportTimer:
    """Imports timed one at a time in a thread of their own, while the benchmarks run; stopped at the session's end, so that
    an interrupted session does not wait for the imports it no longer needs."""

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
