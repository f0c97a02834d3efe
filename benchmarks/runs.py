"""The data model of a saved run: pytest-benchmark JSON read back into a table, one row per benchmark."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


class RunFileError(ValueError):
    """A saved run that cannot be read, with the file and the problem in its message."""


@dataclass(frozen=True)
class Run:
    """One saved pytest-benchmark run."""

    path: Path
    datetime: str
    machine_info: dict
    commit_info: dict
    benchmarks: pd.DataFrame  # one row per benchmark: its extra_info, its stats, and its raw samples

    @property
    def label(self) -> str:
        """A short name for the run: its file name without the extension."""
        return self.path.stem


def load_run(path: str | Path) -> Run:
    """Read a pytest-benchmark JSON file saved by this suite."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RunFileError(f"{path}: no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise RunFileError(f"{path}: cannot be read ({error})") from None
    if not text.strip():
        raise RunFileError(f"{path}: the file is empty; expected a pytest-benchmark JSON run")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RunFileError(f"{path}: not valid JSON ({error.msg} at line {error.lineno}); truncated?") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list) or "machine_info" not in data:
        raise RunFileError(f"{path}: not a pytest-benchmark run (expected an object with 'machine_info' and 'benchmarks')")
    rows = []
    for bench in data["benchmarks"]:
        extra = bench.get("extra_info", {})
        if "implementation" not in extra or "stats" not in bench:
            raise RunFileError(f"{path}: benchmark {bench.get('name', '?')!r} was not saved by backprop-bench (no implementation recorded)")
        rows.append({**extra, "name": bench["name"], "group": bench.get("group"), **_stats(bench["stats"])})
    if not rows:
        raise RunFileError(f"{path}: the run holds no benchmarks")
    return Run(path, data.get("datetime", ""), data["machine_info"], data.get("commit_info", {}), pd.DataFrame(rows))


def _stats(stats: dict) -> dict:
    """The statistics the reports use, in seconds, with the raw samples when the run saved them."""
    keys = ("min", "max", "median", "q1", "q3", "iqr", "rounds", "ld15iqr", "hd15iqr")
    return {key: stats[key] for key in keys} | {"data": stats.get("data")}


def saved_runs(results_dir: str | Path) -> list[Path]:
    """Every saved run under a results folder, oldest first by the time it was saved."""
    runs = []
    for path in Path(results_dir).glob("*/[0-9][0-9][0-9][0-9]_*.json"):
        try:
            saved_at = json.loads(path.read_text()).get("datetime", "")
        except (OSError, ValueError):
            continue  # an unreadable file is never the newest run; naming it explicitly gives the error
        runs.append((saved_at, str(path), path))
    return [path for *_, path in sorted(runs)]


def newest_run(results_dir: str | Path) -> Path:
    """The most recently saved run under a results folder."""
    runs = saved_runs(results_dir)
    if not runs:
        raise RunFileError(f"{results_dir}: no saved runs; run `pytest --benchmark-only` first, or name a run file")
    return runs[-1]
