"""The conditions of a measurement: the thread knob reaches every framework, and --isolate really isolates."""

import argparse
import json
import os
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from benchmarks.model.runs import load_run
from benchmarks.plugin.environment import ALLOWED_CPUS_ENV, THREADS_ENV, allowed_cpus, requested_threads, thread_count
from benchmarks.plugin.workers import framework_family
from implementations import available
from implementations.registry import requirement_names
from tests.helpers import ROOT, output_of, run_pytest, short_notebook_problem

PROBE = """
import json, sys, time
from benchmarks.plugin.environment import ThreadKnob, allowed_cpus, configure_threads, requested_threads
threads, cpus = requested_threads(), allowed_cpus()
configure_threads(threads, cpus)
from implementations import available, get
for name in available():  # frameworks are loaded through the registry, as in the benchmarks
    get(name)
import jax.numpy as jnp
import tensorflow as tf
knob = ThreadKnob(threads, cpus)
info = knob.enforce()
print("ready", flush=True)
sys.stdin.readline()  # measured once told to (with no other test running)

def cpus_busy(multiply):
    multiply()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(8):
        multiply()
    return (time.process_time() - cpu) / (time.perf_counter() - wall)

x = jnp.ones((1200, 1200), dtype=jnp.float32)
info["xla_cpu_seconds_per_second"] = cpus_busy(lambda: (x @ x).block_until_ready())
t = tf.ones((1200, 1200), dtype=tf.float32)
info["tensorflow_cpu_seconds_per_second"] = cpus_busy(lambda: (t @ t).numpy())
print(json.dumps(info))
"""


def probes(counts: list[int], cpus: list[int], alone) -> dict[int, dict]:
    """Per thread count, what each framework reports and how many CPUs XLA's and TensorFlow's matrix multiplies keep
    busy, in a fresh process on `cpus` with every available framework loaded: the processes load them side by side, then
    count `alone`, in turn."""
    given = {
        ALLOWED_CPUS_ENV: ",".join(map(str, cpus))
    }  # as the suite gives a benchmark's child (a worker is pinned to fewer)
    started = {
        threads: subprocess.Popen(
            [sys.executable, "-c", PROBE],
            cwd=ROOT,
            env=os.environ | given | {THREADS_ENV: str(threads)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for threads in counts
    }
    found = {}
    for threads, process in started.items():
        with process:
            ready = process.stdout.readline()
            with alone():
                out, err = process.communicate("go\n" if ready == "ready\n" else "", timeout=300)
        assert ready == "ready\n" and process.returncode == 0, err[-3000:]
        found[threads] = json.loads(out)
    return found


@pytest.mark.slow
def test_the_thread_knob_reaches_every_framework(alone, measurement):
    cpus = measurement.knob.cpus  # the CPUs the run may use
    for threads, info in probes(sorted({1, min(2, len(cpus))}), cpus, alone).items():
        assert info["requested"] == threads
        assert (info["torch_intra_op"], info["torch_inter_op"]) == (threads, threads)
        assert (info["tensorflow_intra_op"], info["tensorflow_inter_op"]) == (threads, threads)
        without = [
            f"{framework}_threads" for framework in ("mlx", "tinygrad") if framework in available()
        ]  # loaded where they run
        assert without and all(info[key] == "no setting; CPU affinity applies" for key in without), info
        assert {pool["library"] for pool in info["pools"]} >= {"openblas"}
        assert all(pool["threads"] == threads for pool in info["pools"]), info["pools"]
        assert len(info["cpus"]) == threads  # XLA sizes its pool from these
        assert ("--xla_cpu_multi_thread_eigen=false" in info["xla_flags"]) == (threads == 1)
        for measured in ("xla_cpu_seconds_per_second", "tensorflow_cpu_seconds_per_second"):
            if threads == 1:
                assert info[measured] < 1.15, info  # one CPU busy at most
            else:
                assert info[measured] > 1.3, info  # the framework really used more than one


def test_more_threads_than_usable_cpus_is_a_usage_error():
    done = run_pytest(f"--threads={len(allowed_cpus()) + 1}", "--co", "-q", timeout=120)
    assert done.returncode == 4
    assert (
        f"argument --threads: expected a whole number of threads from 1 to {len(allowed_cpus())} (the CPUs this "
        f"process may use), got '{len(allowed_cpus()) + 1}'" in done.stderr
    ), done.stderr


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5", str(os.cpu_count() + 1)])
def test_a_thread_count_is_a_whole_number_of_usable_cpus(text, monkeypatch):
    monkeypatch.setenv(ALLOWED_CPUS_ENV, ",".join(map(str, range(os.cpu_count()))))
    with pytest.raises(argparse.ArgumentTypeError, match=f"from 1 to {os.cpu_count()} .*got '{re.escape(text)}'"):
        thread_count(text)
    monkeypatch.setenv(THREADS_ENV, text)  # the same check for the environment variable
    with pytest.raises(ValueError, match=f"^\\${THREADS_ENV}: expected"):
        requested_threads()


@pytest.mark.slow
def test_isolate_runs_each_benchmark_in_a_fresh_process_and_saves_one_run(tmp_path):
    families = {}  # the first implementation of each framework family: the others of a family import the same framework
    for name in available():
        families.setdefault(framework_family(name), name)
    chosen = list(families.values())
    problem = short_notebook_problem(tmp_path / "short.json")
    done = run_pytest(
        *(f"benchmarks/timed/bench_training.py::test_training_loop[{name}-float64]" for name in chosen),
        "--benchmark-only",
        "--isolate",
        f"--benchmark-storage=file://{tmp_path / 'runs'}",
        "--budget=0.02",
        f"--problem={problem}",
    )
    assert done.returncode == 0, output_of(done)
    (saved,) = (tmp_path / "runs").rglob("*.json")
    run = load_run(saved)  # one pytest-benchmark run, readable like any other
    assert run.machine_info["process_mode"] == "isolated"
    benchmarks = run.benchmarks.set_index("implementation")
    assert set(benchmarks.index) == set(chosen)
    assert benchmarks["pid"].nunique() == len(chosen) and os.getpid() not in set(benchmarks["pid"])
    # each process held its own framework and NumPy (every result is NumPy), and no other implementation's framework but
    # what importing its own alone pulls in (TensorFlow imports JAX where it is installed), as the run's import timer
    # found in a bare interpreter that imported the implementation and nothing else, and its own requirements that it
    # loads as it runs (PyTensor compiles with Numba)
    for name in chosen:
        loaded = benchmarks.loc[name, "frameworks_loaded"]
        assert set(loaded) >= {"numpy", *requirement_names([name])}, name
        assert set(loaded) - set(benchmarks.loc[name, "frameworks_imported"]) <= set(requirement_names([name])), name
        assert len(benchmarks.loc[name, "data"]) == benchmarks.loc[name, "rounds"] >= 3


@pytest.mark.slow
def test_isolated_children_time_the_same_problem_as_the_parent(tmp_path):
    problem = tmp_path / "wide.json"
    problem.write_text(
        json.dumps(
            {
                "inputs": [[0.5, 0.9, -0.3]] * 2,
                "targets": [[0.9, 0.3]] * 2,
                "epochs": 50,
                "weights_hidden": [[0.1, 0.2, 0.3]] * 4,
                "weights_output": [[0.1] * 4] * 2,
            }
        )
    )
    done = run_pytest(
        "--benchmark-only",
        "--isolate",
        f"--problem={problem}",
        "-k",
        "numpy",
        f"--benchmark-storage=file://{tmp_path / 'runs'}",
        "--budget=0.02",
        timeout=300,
    )
    assert done.returncode == 0, output_of(done)
    (saved,) = (tmp_path / "runs").rglob("*.json")
    (numpy,) = load_run(saved).benchmarks.itertuples()
    assert (numpy.group, numpy.n_hidden, numpy.batch, numpy.epochs) == ("problem wide.json, float64", 4, 2, 50)


def test_a_benchmarks_child_is_given_the_runs_threads_and_cpus_which_this_process_keeps_as_values(measurement):
    given = measurement.child_environment(SimpleNamespace(callspec=SimpleNamespace(params={"name": "keras-jax"})))
    assert given["KERAS_BACKEND"] == "jax"  # what the implementation needs, and the run's settings beside it
    assert (given[THREADS_ENV], given[ALLOWED_CPUS_ENV]) == (
        str(measurement.threads),
        ",".join(map(str, measurement.knob.cpus)),
    )
    # nothing written into this process's environment for its children to inherit
    assert ALLOWED_CPUS_ENV not in os.environ
