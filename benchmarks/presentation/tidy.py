"""report.csv: every benchmark of the report's runs as one tidy row, for people who load results into their own
tools."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.model.compare import replicate_medians
from benchmarks.model.files import atomic_write_text
from benchmarks.model.machines import cpu_words
from benchmarks.model.runs import Run

COLUMNS = [
    "run",
    "saved",
    "machine_id",
    "cpu",
    "kind",
    "group",
    "benchmark",
    "implementation",
    "dtype",
    "n_in",
    "n_hidden",
    "n_out",
    "batch",
    "epochs",
    "timing",
    "median_s",
    "ci_low_s",
    "ci_high_s",
    "ci_coverage",
    "iqr_s",
    "rounds",
    "time_per_epoch_s",
    "fixed_s",
    "roofline_s",
    "compile_s",
    "first_call_s",
    "import_s",
    "peak_memory_bytes",
    "replicates",
    "replicate_medians_s",
]


def tidy_rows(run: Run, name: str) -> pd.DataFrame:
    """One row per benchmark of a run: what was timed, at which sizes, how long it took, on which machine."""
    parts = []
    for kind, table in (("loop", run.benchmarks), ("sweep", run.sweep), ("probe", run.probes), ("peak", run.peak)):
        if not len(table):
            continue
        rows = pd.DataFrame({"kind": kind, "group": table["group"], "benchmark": table.get("name")})
        # a probe is named by its framework, the peak by its library; both give their own sizes or none
        rows["implementation"] = (
            table["implementation"] if "implementation" in table else table.get("framework", table.get("library"))
        )
        for column in ("dtype", "n_in", "n_hidden", "n_out", "batch", "epochs"):
            rows[column] = table.get(column)
        # a projected loop's median is its fit's value at the full length; its time per epoch and fixed cost are the
        # fit's (a loop timed at full length has no fixed cost apart)
        projected = table["projected"].astype(bool)
        rows["timing"] = projected.map({True: "projected", False: "measured"})
        rows["median_s"], rows["iqr_s"], rows["rounds"] = (
            table["median"],
            table["iqr"].where(~projected),
            table["rounds"],
        )
        rows["ci_low_s"], rows["ci_high_s"], rows["ci_coverage"] = (
            table["ci_low"],
            table["ci_high"],
            table["ci_coverage"],
        )
        rows["time_per_epoch_s"], rows["fixed_s"] = table.get("per_epoch_s"), table.get("fixed_s")
        for column in ("roofline_s", "compile_s", "first_call_s", "import_s", "peak_memory_bytes"):
            rows[column] = table.get(column)
        medians = (
            table["replicates"].map(replicate_medians)
            if "replicates" in table
            else pd.Series([[]] * len(table), index=table.index)
        )
        rows["replicates"] = medians.map(len)
        rows["replicate_medians_s"] = medians.map(lambda values: " ".join(f"{value:.6g}" for value in values))
        parts.append(rows)
    tidy = pd.concat(parts, ignore_index=True)
    tidy["run"], tidy["saved"] = name, run.datetime
    tidy["machine_id"], tidy["cpu"] = run.fingerprint["id"], cpu_words(run.fingerprint)
    return tidy[COLUMNS]


def write_csv(runs: list[Run], names: list[str], path: Path) -> Path:
    """Every run's rows in one CSV file."""
    table = pd.concat([tidy_rows(run, name) for run, name in zip(runs, names, strict=True)], ignore_index=True)
    return atomic_write_text(path, table.to_csv(index=False))
