"""What a user's script pays before anything else: the seconds to import an implementation, its framework with it, in a
fresh interpreter started with the environment the implementation needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from implementations.registry import REGISTRY

# the timer moves itself to the CPUs it is given before it imports anything, so that it leaves the benchmarks' CPUs alone
IMPORT_TIMER = ("import importlib, os, sys, time; cpus = [int(cpu) for cpu in sys.argv[2].split(',') if cpu]; "
                "cpus and os.sched_setaffinity(0, cpus); start = time.perf_counter(); importlib.import_module(sys.argv[1]); "
                "print(time.perf_counter() - start)")


def import_seconds(name: str, cpus: list[int]) -> float:
    """Seconds to import the implementation's module, its framework with it, in a fresh interpreter on these CPUs (any of the
    process's own where none are given)."""
    entry = REGISTRY[name]
    done = subprocess.run([sys.executable, "-c", IMPORT_TIMER, f"implementations.{entry.module}", ",".join(map(str, cpus))],
                          capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2], env=os.environ | entry.environment)
    return float(done.stdout.split()[-1])
