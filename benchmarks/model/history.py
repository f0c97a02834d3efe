"""Saved runs over time: every training-loop median with its run, machine and framework versions, in the order saved."""

from __future__ import annotations

import pandas as pd

from .machines import cpu_words
from .runs import Run, RunFileError


def history_table(runs: list[Run]) -> pd.DataFrame:
    """One row per training-loop benchmark of every run, oldest run first; `version_change` names what changed in the
    implementation's versions since its previous run on the same machine ("" for none, or for its first run there)."""
    rows = []
    for order, run in enumerate(sorted(runs, key=lambda run: run.datetime)):
        for bench in run.benchmarks.itertuples():
            versions = getattr(bench, "versions", None)
            rows.append(
                {
                    "order": order,
                    "run": run.label,
                    "number": run.label.split("_")[0],
                    "saved": run.datetime[:16],
                    "machine": run.fingerprint["id"],
                    "cpu": cpu_words(run.fingerprint),
                    "group": bench.group,
                    "implementation": bench.implementation,
                    "median": bench.median,
                    "projected": bool(bench.projected),
                    "versions": versions if isinstance(versions, dict) else {},
                }
            )
    if not rows:
        raise RunFileError(f"{runs[0].path}: no training-loop benchmarks in the runs, nothing to draw a history of")
    table = pd.DataFrame(rows)
    table["version_change"] = ""
    for _, series in table.groupby(["machine", "group", "implementation"], sort=False):
        previous = None
        for index, versions in series.sort_values("order")["versions"].items():
            if previous is not None and versions != previous:
                table.at[index, "version_change"] = ", ".join(
                    f"{package} {previous.get(package, '(none)')} -> {version}"
                    for package, version in versions.items()
                    if previous.get(package) != version
                )
            previous = versions
    return table
