"""The data model of a saved run: pytest-benchmark JSON read back into a table, one row per benchmark."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import schema
from .errors import BadInput
from .machines import cpu_words
from .statistics import CONFIDENCE, Interval, median_interval


class RunFileError(BadInput):
    """A saved run that cannot be read, with the file and the problem in its message."""


@dataclass(frozen=True)
class Run:
    """One saved pytest-benchmark run."""

    path: Path
    datetime: str
    machine_info: dict
    commit_info: dict
    benchmarks: pd.DataFrame  # one row per training-loop benchmark: its extra_info, its stats, and its raw samples
    probes: pd.DataFrame  # one row per "where the time goes" benchmark, the same columns with probe for implementation
    sweep: pd.DataFrame  # one row per implementation and size of the scaling sweep
    peak: pd.DataFrame  # one row per library's large matrix multiply, the machine's measured limit

    @property
    def label(self) -> str:
        """A short name for the run: its file name without the extension."""
        return self.path.stem

    @property
    def fingerprint(self) -> dict:
        """The machine it was measured on (benchmarks.model.machines)."""
        return self.machine_info["fingerprint"]


def load_runs(paths: list[str | Path]) -> list[Run]:
    """Read several saved runs, each named once (a run twice would be compared with itself under one label)."""
    runs = [load_run(path) for path in paths]
    resolved = [run.path.resolve() for run in runs]
    for index, path in enumerate(paths):
        if resolved[index] in resolved[:index]:
            raise RunFileError(f"{path}: given twice; expected each run once")
    return runs


def read_json(path: str | Path) -> dict:
    """A saved run's JSON, checked only to be a pytest-benchmark run."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RunFileError(f"{path}: no such file") from None
    except (IsADirectoryError, NotADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise RunFileError(f"{path}: cannot be read ({error})") from None
    if not text.strip():
        raise RunFileError(f"{path}: the file is empty; expected a pytest-benchmark JSON run")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RunFileError(f"{path}: not valid JSON ({error.msg} at line {error.lineno}); truncated?") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list) or "machine_info" not in data:
        raise RunFileError(
            f"{path}: not a pytest-benchmark run (expected an object with 'machine_info' and 'benchmarks')"
        )
    return data


def saved_format(path: Path, data: dict) -> int:
    """The run format a run was saved in (1: before formats were saved); a format this suite does not know is
    refused."""
    saved_in = data.get(schema.VERSION_KEY, 1)
    if not isinstance(saved_in, int) or isinstance(saved_in, bool) or saved_in > schema.VERSION:
        raise RunFileError(
            f"{path}: saved in run format {saved_in!r}, which this backprop-bench (format {schema.VERSION}) does not "
            "know; expected a run it saved, or upgrade backprop-bench"
        )
    return saved_in


def load_run(path: str | Path) -> Run:
    """Read a pytest-benchmark JSON file saved by this suite, in this suite's run format."""
    path = Path(path)
    data = read_json(path)
    if (saved_in := saved_format(path, data)) < schema.VERSION:
        raise RunFileError(
            f"{path}: saved in run format {saved_in}, older than this suite's {schema.VERSION}; upgrade it with: "
            f"backprop-bench upgrade {shlex.quote(str(path))}"
        )
    return run_of(path, data)


def run_of(path: Path, data: dict) -> Run:
    """A run from its JSON in this suite's run format, checked against the schema; `path` names it in errors."""
    if found := schema.problem(data, schema.RUN):
        raise RunFileError(f"{path}: {found}")
    kinds: dict[str, list[dict]] = {kind: [] for kind in schema.KINDS}
    for bench in data["benchmarks"]:
        extra = bench["extra_info"]
        kinds[schema.kind_of(extra)].append(
            {
                **extra,
                "name": bench["name"],
                "group": bench["group"],
                **_stats(bench["stats"]),
                **_derived(extra, bench["stats"]),
            }
        )
    if not kinds["loop"] and not kinds["sweep"]:
        raise RunFileError(f"{path}: the run holds no training-loop benchmarks")
    return Run(
        path,
        data.get("datetime", ""),
        data["machine_info"],
        data.get("commit_info", {}),
        *(_frame(kinds[kind]) for kind in kinds),
    )


def _frame(rows: list[dict]) -> pd.DataFrame:
    """The rows as a table; without rows, an empty table that still has the columns every report groups by."""
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["implementation", "group", "median"])


def _stats(stats: dict) -> dict:
    """The statistics the reports use, in seconds, with the raw samples when the run saved them."""
    return {key: stats[key] for key in schema.STATS.required} | {"data": stats.get("data")}


def _derived(extra: dict, stats: dict) -> dict:
    """What the readers derive from a benchmark: its median's 95% interval (from the order statistics of the saved
    samples, or a projected loop's bootstrap interval), `projected` (a time projected from shorter lengths), and a
    loop's time per epoch and fixed cost per call (a projected loop's from its fit; 0 for one timed at its full
    length)."""
    projected = extra.get("timing") == "projected"
    if projected:
        low, high = extra["projection"]["projected_interval"]
        interval = Interval(low, high, extra["projection"].get("confidence", CONFIDENCE), "bootstrap")
    elif stats.get("data"):
        interval = median_interval(stats["data"])
    else:
        interval = Interval(float("nan"), float("nan"), float("nan"), "none: no samples saved")
    derived = {
        "projected": projected,
        "ci_low": interval.low,
        "ci_high": interval.high,
        "ci_coverage": interval.coverage,
        "ci_method": interval.method,
    }
    if "epochs" in extra:
        fit = extra["projection"] if projected else {"per_epoch_s": stats["median"] / extra["epochs"], "fixed_s": 0.0}
        derived |= {"per_epoch_s": fit["per_epoch_s"], "fixed_s": fit["fixed_s"]}
    return derived


def saved_runs(results_dir: str | Path) -> list[Path]:
    """Every saved run under a results folder, oldest first by the time it was saved."""
    runs = []
    for path in Path(results_dir).glob("*/[0-9][0-9][0-9][0-9]_*.json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # an unreadable file is never the newest run; naming it explicitly gives the error
        saved_at = data.get("datetime") if isinstance(data, dict) else None
        runs.append((saved_at if isinstance(saved_at, str) else "", str(path), path))
    return [path for *_, path in sorted(runs)]


def no_saved_runs(results_dir: str | Path) -> RunFileError:
    """The refusal of every command that needs a saved run and finds none, in one wording."""
    return RunFileError(f"{results_dir}: no saved runs; run `pytest --benchmark-only` first, or name run files")


def newest_run(results_dir: str | Path) -> Path:
    """The most recently saved run under a results folder."""
    runs = saved_runs(results_dir)
    if not runs:
        raise no_saved_runs(results_dir)
    return runs[-1]


def notebook_medians(results_dir: str | Path) -> dict[str, float]:
    """Each implementation's median for the notebook's problem in float64, from the newest saved run (by the time it
    was saved) that timed any ({} where none did); read without building the run's tables, and unreadable runs passed
    over."""
    for path in reversed(saved_runs(results_dir)):
        try:
            data = read_json(path)
        except RunFileError:
            continue
        medians = {
            extra["implementation"]: bench["stats"]["median"]
            for bench in data.get("benchmarks", [])
            if isinstance(bench, dict)
            and isinstance(extra := bench.get("extra_info"), dict)
            and extra.get("kind") == "loop"
            and bench.get("group") == "notebook problem, float64"
            and isinstance(bench.get("stats"), dict)
        }
        if medians:
            return medians
    return {}


def describe(run: Run) -> dict[str, str]:
    """What a run was measured on and with, the CPU first: machine, versions, threads and process mode, as short strings
    (not the host's name, which a container or a CI runner changes without changing the machine)."""
    info = run.machine_info
    described = {
        "CPU": cpu_words(run.fingerprint),
        "machine id": run.fingerprint["id"],
        "threads": str(info.get("threads", {}).get("requested", "?")),
        "process mode": info.get("process_mode", "?"),
    }
    for package, version in info.get("versions", {}).items():
        described[package] = str(version)
    for name, value in info.get("environment", {}).items():
        described[f"${name}"] = value
    return described


def differences(runs: list[Run]) -> dict[str, list[str]]:
    """The descriptions that are not the same for every run, each with one value per run."""
    described = [describe(run) for run in runs]
    keys = dict.fromkeys(key for entry in described for key in entry)
    values = {key: [entry.get(key, "(unset)") for entry in described] for key in keys}
    return {key: column for key, column in values.items() if len(set(column)) > 1}


def labels(runs: list[Run]) -> list[str]:
    """A short, distinct label per run: the fewest of what differs between the runs (the CPU first) that tells them
    apart, else the run's name."""
    differing = differences(runs)
    for count in range(1, len(differing) + 1):
        keys = list(differing)[:count]
        texts = [", ".join(f"{key} {differing[key][index]}" for key in keys) for index in range(len(runs))]
        if len(set(texts)) == len(texts):
            return texts
    names = [run.label for run in runs]
    # copies of one run in two folders
    return names if len(set(names)) == len(names) else [str(run.path) for run in runs]
