"""Saved runs built in the tests, where the right answers are known."""

import json

import numpy as np

MACHINE_INFO = {"node": "test-machine", "cpu": {"brand_raw": "Test CPU", "count": 2}, "process_mode": "shared",
                "threads": {"requested": 1}, "versions": {"python": "3.11.7", "numpy": "2.4.6"}}


def saved_run(medians: dict[str, float], saved_at="2026-01-01T00:00:00", spread=0.02, rounds=25, seed=0,
              machine_info=None) -> dict:
    """A pytest-benchmark run: per implementation, `rounds` samples spread evenly around the given median (s)."""
    rng = np.random.default_rng(seed)
    benchmarks = []
    for name, median in medians.items():
        data = median * (1 + spread * rng.permutation(np.linspace(-1, 1, rounds)))
        q1, q3 = np.percentile(data, [25, 75])
        stats = {"min": data.min(), "max": data.max(), "median": float(np.median(data)), "q1": q1, "q3": q3,
                 "iqr": q3 - q1, "rounds": rounds, "iterations": 1, "ld15iqr": data.min(), "hd15iqr": data.max(),
                 "data": data.tolist()}
        extra = {"implementation": name, "framework": name, "compiled": name == "jax", "versions": {name: "1.0"},
                 "dtype": "float64", "epochs": 1000, "n_in": 3, "n_hidden": 3, "n_out": 2, "batch": 1,
                 "compile_s": 0.1, "first_call_s": 2 * median, "loss_history": [0.3, 0.2, 0.1]}
        benchmarks.append({"name": f"test_training_loop[{name}]", "group": "notebook problem, float64",
                           "stats": stats, "extra_info": extra})
    return {"machine_info": machine_info or MACHINE_INFO, "commit_info": {}, "datetime": saved_at,
            "benchmarks": benchmarks, "version": "5.3.1"}


def write(path, content):
    """Write a run (or any text) to path, making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path
