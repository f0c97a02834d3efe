"""The real limits: the roofline's model of an epoch, peak memory as the kernel sees it, and time to result."""

import numpy as np
import pandas as pd
import pytest

from benchmarks.model.roofline import EpochWork, Rates, roofline
from benchmarks.model.time_to_result import EPOCH_COUNTS, break_even, overtakes, time_to_result
from benchmarks.plugin.sweep_plan import N_IN, N_OUT
from benchmarks.timed.memory import peak_above, reset_peak
from tests.helpers import frozen_run

RATES = Rates(
    sigmoids_per_s=1e9,
    multiply_adds_per_s=2e10,
    bandwidths={"memory": {"bytes": None, "bytes_per_s": 2e10}, "L2": {"bytes": 2**20, "bytes_per_s": 1e11}},
    sources={},
)


def test_an_epochs_work_is_counted_from_the_math():
    work = EpochWork.of(n_in=N_IN, n_hidden=5, n_out=N_OUT, batch=7, itemsize=8)
    assert work.sigmoids == 7 * (5 + 2)  # every hidden and output activation of every sample
    assert work.bytes == 8 * (7 * (3 + 2) + 2 * 5 * (3 + 2))  # x and y read, both weight matrices read and written


def test_the_roofline_is_the_longer_of_compute_and_traffic_at_the_closest_level_that_holds_the_bytes():
    small = EpochWork(sigmoids=1000, multiply_adds=10**6, bytes=10**5)
    limit = roofline(small, RATES)
    assert limit["compute_s"] == pytest.approx(1000 / 1e9 + 10**6 / 2e10)
    assert limit["level"] == "L2" and limit["traffic_s"] == pytest.approx(10**5 / 1e11)
    assert limit["seconds"] == limit["compute_s"] and limit["bound"] == "compute"
    streamed = roofline(EpochWork(sigmoids=1, multiply_adds=1, bytes=10**9), RATES)
    assert streamed["level"] == "memory" and streamed["bound"] == "memory traffic"
    assert streamed["seconds"] == pytest.approx(10**9 / 2e10)


def test_no_saved_sweep_point_ran_faster_than_its_roofline():
    points = [bench for bench in frozen_run("sweep")["benchmarks"] if bench["extra_info"]["kind"] == "sweep"]
    with_roofline = [bench for bench in points if "roofline_s" in bench["extra_info"]]
    assert with_roofline, "the frozen sweep predates the roofline"
    for bench in with_roofline:
        extra = bench["extra_info"]
        assert bench["stats"]["min"] / extra["epochs"] >= extra["roofline_s"], bench["name"]


def test_the_peak_memory_of_a_block_counts_the_pages_it_touches():
    mark = reset_peak()
    if mark is None:
        pytest.skip("this kernel cannot reset the resident set's high-water mark")
    touched = np.ones(64 * 2**20 // 8)  # 64 MiB, every page written
    del touched
    assert 60 * 2**20 <= peak_above(mark) <= 80 * 2**20
    mark = reset_peak()  # glibc gave the pages back, so touching them again counts again
    touched = np.ones(64 * 2**20 // 8)
    del touched
    assert peak_above(mark) >= 60 * 2**20


def loops(**rows) -> pd.DataFrame:
    """A run's loop benchmarks, timed at full length as a run saved before first calls at a few epochs read: per
    implementation (import, compile, first call, median of 1000 epochs, compiled)."""
    return pd.DataFrame(
        [
            {
                "implementation": name,
                "import_s": imported,
                "compile_s": compiled_s,
                "first_call_s": first,
                "median": median,
                "epochs": 1000,
                "compiled": compiled,
                "per_epoch_s": median / 1000,
                "fixed_s": 0.0,
                "projected": False,
            }
            for name, (imported, compiled_s, first, median, compiled) in rows.items()
        ]
    )


def test_a_projected_loop_waits_its_fixed_cost_and_its_epochs_at_the_fitted_rate():
    projected = loops(keras=(3.0, 0.2, 0.0, 64.09, True)).assign(
        projected=True, per_epoch_s=0.064, fixed_s=0.09, first_call_extra_s=0.25
    )
    keras = time_to_result(projected).set_index("implementation").loc["keras"]
    assert keras["one_time_s"] == pytest.approx(3.0 + 0.2 + 0.25 + 0.09) and keras["projected"]
    assert keras[10] == pytest.approx(keras["one_time_s"] + 0.64) and keras[100_000] == pytest.approx(
        keras["one_time_s"] + 6400
    )


def test_time_to_result_adds_the_one_time_costs_to_the_epochs():
    table = time_to_result(loops(numpy=(0.1, 0.0, 0.015, 0.014, False), jax=(0.6, 0.2, 0.5, 0.0001, True)))
    jax = table.set_index("implementation").loc["jax"]
    assert jax["one_time_s"] == pytest.approx(0.6 + 0.2 + (0.5 - 0.0001))
    for epochs in EPOCH_COUNTS:
        assert jax[epochs] == pytest.approx(jax["one_time_s"] + epochs * 1e-7)
    assert list(table["implementation"]) == ["numpy", "jax"]  # fastest at 1,000 epochs first


def test_the_break_even_epoch_is_the_first_at_which_the_compiled_loop_has_waited_less():
    table = time_to_result(
        loops(
            numpy=(0.1, 0.0, 0.014, 0.014, False), jax=(0.6, 0.2, 0.0001, 0.0001, True), slow=(0.6, 0.2, 0.1, 0.1, True)
        )
    )
    found = break_even(table)
    epochs = int(found["jax"].split()[0].replace(",", ""))
    rows = table.set_index("implementation")

    def waited(name, n):
        return rows.loc[name, "one_time_s"] + n * rows.loc[name, "per_epoch_s"]

    assert waited("jax", epochs) < waited("numpy", epochs) and waited("jax", epochs - 1) >= waited("numpy", epochs - 1)
    assert found["slow"] == "never" and "numpy" not in found  # NumPy is not compiled
    assert overtakes(0.1, 1.0, 0.2, 0.5) == "from the first epoch, until the per-epoch cost catches up"
    assert overtakes(0.1, 0.1, 0.2, 0.5) == "1 epoch"  # cheaper to start and per epoch
