"""What a user waits for: importing the framework, preparing (compiling) the loop, and training for some epochs.

The wait for N epochs is import + prepare + the first call's one-time extra (the first call less a warm one) + the
loop's time for N epochs, each measured on the notebook's problem: N x the time per epoch of a loop timed at its full
length (other N extrapolated), or fixed cost + N x cost per epoch of a loop timed per epoch.
"""

from __future__ import annotations

import math

import pandas as pd

from implementations.registry import REFERENCE

EPOCH_COUNTS = (10, 1_000, 100_000)


def time_to_result(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """Per implementation with a measured import: its one-time costs, time per epoch, and the wait for each of
    EPOCH_COUNTS epochs, fastest wait first at the middle count."""
    if "import_s" not in benchmarks:  # no training loops (a sweep)
        return pd.DataFrame()
    rows = benchmarks[benchmarks["import_s"].notna()]
    table = pd.DataFrame(
        {
            "implementation": rows["implementation"],
            "compiled": rows["compiled"].astype(bool),
            "import_s": rows["import_s"].astype(float),
            "prepare_s": rows["compile_s"].fillna(0.0),
            "first_call_extra_s": first_call_extra(rows),
            "per_epoch_s": rows["per_epoch_s"],
            "fixed_s": rows["fixed_s"],
            "projected": rows["projected"].astype(bool),
        }
    )
    table["one_time_s"] = table["import_s"] + table["prepare_s"] + table["first_call_extra_s"] + table["fixed_s"]
    for epochs in EPOCH_COUNTS:
        table[epochs] = table["one_time_s"] + epochs * table["per_epoch_s"]
    return table.sort_values(EPOCH_COUNTS[1]).reset_index(drop=True)


def first_call_extra(rows: pd.DataFrame) -> pd.Series:
    """What each loop's first call cost beyond a warm one: one-time work (runs saved before first calls at a few epochs
    timed their first call at full length, set against the median)."""
    extra = rows["first_call_extra_s"] if "first_call_extra_s" in rows else rows["first_call_s"] - rows["median"]
    return extra.clip(lower=0.0)


def overtakes(one_time_s: float, per_epoch_s: float, reference_one_time_s: float, reference_per_epoch_s: float) -> str:
    """From how many epochs on a loop's whole wait is shorter than the reference's, in words."""
    if per_epoch_s >= reference_per_epoch_s:
        return (
            "never"
            if one_time_s >= reference_one_time_s
            else "from the first epoch, until the per-epoch cost catches up"
        )
    epochs = max(1, math.floor((one_time_s - reference_one_time_s) / (reference_per_epoch_s - per_epoch_s)) + 1)
    return f"{epochs:,} epoch{'s' if epochs > 1 else ''}"


def break_even(table: pd.DataFrame) -> dict[str, str]:
    """For each compiled implementation: from how many epochs on it overtakes NumPy (the reference) in time to
    result."""
    reference = table[table["implementation"] == REFERENCE]
    if not len(reference):
        return {}
    ref = reference.iloc[0]
    return {
        row.implementation: overtakes(row.one_time_s, row.per_epoch_s, ref.one_time_s, ref.per_epoch_s)
        for row in table.itertuples()
        if row.compiled
    }
