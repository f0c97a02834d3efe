"""The markdown tables of a report: the summary of a run, several runs side by side, the probes, the environment."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.model.machines import cpu_words
from benchmarks.model.runs import Run
from benchmarks.model.time_to_result import EPOCH_COUNTS, break_even, first_call_extra, time_to_result
from implementations.agreement import loss_gap, tolerance
from implementations.registry import CARD_ASPECTS, REFERENCE, SPEED_OF_LIGHT

from .formatting import (
    format_bounds,
    format_bytes,
    format_interval,
    format_median,
    format_ratio,
    format_seconds,
    format_spread,
    is_unreliable,
    markdown_table,
)


def summary(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """One row per implementation, fastest first, times in seconds, each median with its interval; a projected loop's
    time per epoch and fixed cost from its fit."""
    projected = benchmarks["projected"].astype(bool)
    table = pd.DataFrame(
        {
            "implementation": benchmarks["implementation"],
            "median": benchmarks["median"],
            "ci_low": benchmarks["ci_low"],
            "ci_high": benchmarks["ci_high"],
            "ci_coverage": benchmarks["ci_coverage"],
            "iqr": benchmarks["iqr"].where(~projected, np.nan),
            # a projected loop's calls, at every length timed
            "samples": [
                f"{len(fit['epochs'])} at {len(set(fit['epochs']))} lengths" if is_projected else str(rounds)
                for fit, is_projected, rounds in zip(
                    benchmarks.get("projection", projected), projected, benchmarks["rounds"], strict=True
                )
            ],
            "projected": projected,
            "per_epoch": benchmarks["per_epoch_s"],
            "compile": benchmarks["compile_s"].where(benchmarks.get("compiled", False), np.nan),
            "first_call_extra": first_call_extra(benchmarks),
            "peak_memory": benchmarks["peak_memory_bytes"] if "peak_memory_bytes" in benchmarks else np.nan,
        }
    )
    # an IQR share, or a projection's interval half-width share, for the unreliable flag
    table["spread"] = (table["iqr"] / table["median"]).where(
        ~projected, (table["ci_high"] - table["ci_low"]) / (2 * table["median"])
    )
    for column, name in (("vs_numpy", REFERENCE), ("vs_native", SPEED_OF_LIGHT)):
        reference = table.loc[table["implementation"] == name, "median"]
        table[column] = table["median"] / reference.iloc[0] if len(reference) else np.nan
    return table.sort_values("median").reset_index(drop=True)


def variants_legend(benchmarks: pd.DataFrame) -> str:
    """One line per implementation: what it is (framework, variant, gradients)."""
    described = benchmarks.drop_duplicates("implementation")
    return "\n".join(
        f"- `{row.implementation}`: {getattr(row, 'variant', '?')}; {getattr(row, 'gradients', '?')} gradients"
        for row in described.itertuples()
    )


def fairness_table(benchmarks: pd.DataFrame) -> str:
    """Per implementation, the choices that make its timing fair: the dtype its results really had, what makes a
    timed call finished work, what is compiled and when, how its threads are set, and whether it is the plain idiom."""
    rows = []
    for name, loops in benchmarks.groupby("implementation", sort=False):
        card = loops["card"].iloc[0]
        computed = " / ".join(dict.fromkeys(loops["dtype_computed"]))
        if "float64_cause" in loops and isinstance(cause := loops["float64_cause"].iloc[0], str):
            computed += f" (not float64-exact: {cause})"
        rows.append([f"`{name}`", computed, *(card.get(aspect, "?") for aspect in CARD_ASPECTS)])
    return markdown_table(["implementation", "dtype computed", *CARD_ASPECTS], rows, "l" * (len(CARD_ASPECTS) + 2))


def summary_table(table: pd.DataFrame) -> str:
    """The summary as a markdown table: the ranking, each median with its 95% interval and that interval's coverage."""
    header = [
        "implementation",
        "median",
        "95% interval (coverage)",
        "samples",
        "IQR",
        "time per epoch",
        "vs NumPy",
        "vs native",
        "compile",
        "first call's extra",
        "peak memory",
    ]
    rows = []
    for row in table.itertuples():
        ratios = [format_ratio(ratio) for ratio in (row.vs_numpy, row.vs_native)]
        median = format_median(row.median, row.projected)
        iqr = (
            projection_spread(row)
            if row.projected
            else f"{format_seconds(row.iqr)} ({format_spread(row.iqr, row.median)})"
        )
        rows.append(
            [
                f"`{row.implementation}`",
                median,
                format_interval(row.median, row.ci_low, row.ci_high, row.ci_coverage, row.projected),
                row.samples,
                iqr,
                format_seconds(row.per_epoch),
                *ratios,
                format_seconds(row.compile),
                format_seconds(row.first_call_extra),
                format_bytes(row.peak_memory),
            ]
        )
    return markdown_table(header, rows, "l" + "r" * (len(header) - 1))


def projection_spread(row) -> str:
    """A projected loop has no full-length samples to spread: its interval's half-width instead, flagged as an IQR would
    be."""
    half = (row.ci_high - row.ci_low) / 2
    return f"– (interval ±{half / row.median:.1%}{', ⚠ unreliable' if is_unreliable(half, row.median) else ''})"


def layers_table(benchmarks: pd.DataFrame) -> str:
    """Per framework with more than one implementation in the run, what its layers cost side by side: its raw autodiff,
    its nn + optimizer idiom, its compiled forms and the libraries built on it (Flax on JAX, Lightning on PyTorch, Keras
    on its backend), fastest first, each against the framework's fastest."""
    if "framework" not in benchmarks:
        return ""
    described = benchmarks.reindex(columns=["implementation", "framework", "built_on", "variant"]).astype(
        {"variant": object, "built_on": object}
    )
    described["framework"] = described["built_on"].fillna(described["framework"])
    described = described.fillna({"variant": "–"}).drop(columns="built_on")
    table = summary(benchmarks).merge(described.drop_duplicates("implementation"), on="implementation")
    rows = []
    for framework, rows_of in table.groupby("framework", sort=False):
        if len(rows_of) < 2:
            continue
        fastest = rows_of["median"].min()
        rows += [
            [
                f"{framework}" if index == 0 else "",
                f"`{row.implementation}`",
                row.variant,
                format_median(row.median, row.projected),
                format_seconds(row.per_epoch),
                format_ratio(row.median / fastest),
            ]
            for index, row in enumerate(rows_of.sort_values("median").itertuples())
        ]
    return (
        markdown_table(
            ["framework", "implementation", "how", "median", "per epoch", "vs the framework's fastest"], rows, "lllrrr"
        )
        if rows
        else ""
    )


def projections_table(benchmarks: pd.DataFrame) -> str:
    """The loops timed per epoch: the lengths timed, the fitted cost per epoch with its interval, the fixed cost of a
    call, and the projection to the full length (with, under --rigorous, the measured full length and how far the
    projection fell)."""
    fitted = (
        benchmarks[benchmarks["projection"].map(lambda fit: isinstance(fit, dict))]
        if "projection" in benchmarks
        else benchmarks.iloc[:0]
    )
    if not len(fitted):
        return ""
    checked = not fitted["projected"].all()
    header = [
        "implementation",
        "lengths timed (epochs)",
        "calls",
        "per epoch [95% interval]",
        "fixed per call",
        "projected [95% interval]",
    ]
    header += ["measured", "projection off by"] if checked else []
    rows = []
    for row in fitted.itertuples():
        fit = row.projection
        lengths = sorted(set(fit["epochs"]))
        cells = [
            f"`{row.implementation}`",
            ", ".join(map(str, lengths)),
            str(len(fit["epochs"])),
            with_bounds(fit["per_epoch_s"], fit["per_epoch_interval"]),
            format_seconds(fit["fixed_s"]),
            with_bounds(fit["projected_s"], fit["projected_interval"]),
        ]
        if checked:
            cells += ["–", "–"] if row.projected else [format_seconds(row.median), projection_error(fit, row.median)]
        rows.append(cells)
    return markdown_table(header, rows, "ll" + "r" * (len(header) - 2))


def with_bounds(seconds: float, interval: list[float]) -> str:
    """A time and its interval: 64.1 s [57.9, 71.6 s]."""
    return f"{format_seconds(seconds)} [{format_bounds(*interval, seconds)}]"


def projection_error(fit: dict, measured: float) -> str:
    """How far a projection fell from the loop measured at its full length, and whether its interval held the
    measurement."""
    low, high = fit["projected_interval"]
    return f"{fit['projected_s'] / measured - 1:+.1%}" + ("" if low <= measured <= high else " (outside its interval)")


def time_to_result_table(benchmarks: pd.DataFrame) -> str:
    """The wait for 10, 1,000 and 100,000 epochs per implementation, the shortest of each in bold, and from how many
    epochs on each compiled implementation overtakes NumPy."""
    table = time_to_result(benchmarks)
    overtaking = break_even(table)
    header = [
        "implementation",
        "import",
        "prepare",
        "first call's extra",
        "per epoch",
        *(f"{epochs:,} epochs" for epochs in EPOCH_COUNTS),
        "overtakes NumPy from",
    ]
    fastest = {epochs: table[epochs].min() for epochs in EPOCH_COUNTS}
    rows = []
    for _, row in table.iterrows():
        waits = [
            f"**{format_seconds(row[epochs])}**" if row[epochs] == fastest[epochs] else format_seconds(row[epochs])
            for epochs in EPOCH_COUNTS
        ]
        rows.append(
            [
                f"`{row.implementation}`{' (projected)' if row.projected else ''}",
                format_seconds(row.import_s),
                format_seconds(row.prepare_s),
                format_seconds(row.first_call_extra_s),
                format_seconds(row.per_epoch_s),
                *waits,
                overtaking.get(row.implementation, "– (not compiled)" if not row.compiled else "–"),
            ]
        )
    return markdown_table(header, rows, "l" + "r" * (len(header) - 2) + "l")


def side_by_side_table(benchmarks: pd.DataFrame, names: list[str]) -> str:
    """Median (IQR share) of each implementation in each run, and each run's ratio to the first."""
    header = ["implementation"] + [f"{name}" for name in names] + [f"{name} / {names[0]}" for name in names[1:]]
    table = []
    order = benchmarks.groupby("implementation")["median"].min().sort_values().index
    for implementation in order:
        rows = benchmarks[benchmarks["implementation"] == implementation].set_index("run")
        cells, ratios = [f"`{implementation}`"], []
        for name in names:
            if name not in rows.index:
                cells.append("–")
                continue
            row = rows.loc[name]
            spread = "" if row["projected"] else f" ({format_spread(row['iqr'], row['median'], '⚠')})"
            cells.append(format_median(row["median"], row["projected"]) + spread)
        for name in names[1:]:
            both = name in rows.index and names[0] in rows.index
            ratios.append(format_ratio(rows.loc[name, "median"] / rows.loc[names[0], "median"]) if both else "–")
        table.append(cells + ratios)
    return markdown_table(header, table, "l" + "r" * (len(header) - 1))


def probes_table(probes: pd.DataFrame) -> str:
    """The "where the time goes" measurements: each piece of an epoch, timed apart."""
    rows = (
        [
            row.framework,
            row.probe,
            f"{format_seconds(row.median)} {row.unit}",
            f"{format_seconds(row.iqr)} ({row.iqr / row.median:.1%})",
        ]
        for row in probes.itertuples()
    )
    return markdown_table(["framework", "what is timed", "median", "IQR"], rows, "llrr")


def parity_summary(benchmarks: pd.DataFrame) -> str:
    """From the saved loss histories: how far each implementation's loss curve is from NumPy's, and the verdict (a run
    upgraded from one saved without them says which lack theirs)."""
    absent = list(dict.fromkeys(benchmarks.loc[benchmarks["loss_history"].isna(), "implementation"]))
    not_recorded = (
        f" Not in this run (its file was saved without them): {', '.join(f'`{name}`' for name in absent)}."
        if absent
        else ""
    )
    benchmarks = benchmarks[benchmarks["loss_history"].notna()]
    reference = benchmarks[benchmarks["implementation"] == REFERENCE]
    if not len(reference):
        return "No NumPy loss history in this run to compare against." + not_recorded
    exact = np.asarray(reference["loss_history"].iloc[0], dtype=np.float64)
    first = benchmarks.iloc[0]
    allowed = tolerance(first["dtype"], first["epochs"], exact)
    own_bound = tolerance(first["dtype"], first["epochs"], exact, exact=False)
    causes = benchmarks.get("float64_cause", pd.Series(None, index=benchmarks.index))
    # in the run's order, so that the report reads the same every time it is written
    not_exact = list(
        dict.fromkeys(
            row.implementation
            for row, cause in zip(benchmarks.itertuples(), causes, strict=True)
            if isinstance(cause, str)
        )
    )
    gaps = {
        row.implementation: loss_gap(np.asarray(row.loss_history), exact)[0]
        for row in benchmarks.itertuples()
        if row.implementation != REFERENCE
    }
    failing = [name for name, gap in gaps.items() if gap > (own_bound if name in not_exact else allowed)]
    verdict = "every implementation agrees with NumPy" if not failing else f"{', '.join(failing)} differ from NumPy"
    held = (
        f" ({', '.join(f'`{name}`' for name in not_exact)}: not float64-exact, within float32's drift bound "
        f"{own_bound:.1e})"
        if not_exact and first["dtype"] == "float64"
        else ""
    )
    return (
        f"Parity of the timed runs ({first['dtype']}): {verdict} within {allowed:.1e}{held} on the loss of every epoch "
        f"both recorded (largest gap {max(gaps.values(), default=0.0):.1e}: "
        + ", ".join(f"`{name}` {gap:.1e}" for name, gap in gaps.items())
        + "). `backprop-bench parity` compares the final weights and outputs too."
        + not_recorded
    )


def pool_summary(threads: dict) -> str:
    """The BLAS and OpenMP pools a run recorded: library, version, kernel and threads of each."""
    return ", ".join(
        " ".join(
            filter(
                None, [pool["library"], pool.get("version"), pool.get("architecture") and f"({pool['architecture']})"]
            )
        )
        + f": {pool['threads']} threads"
        for pool in threads.get("pools", [])
    )


def machine_words(fingerprint: dict) -> str:
    """A fingerprint in a line: CPU, id, ISA, caches, CPUs, memory, virtualization, kernel (what the record holds)."""
    parts = [
        f"{cpu_words(fingerprint)}{f' ({name})' if (name := fingerprint.get('model_name')) else ''}, machine id "
        f"{fingerprint['id']}"
    ]
    if fingerprint.get("isa"):
        parts.append("ISA " + " ".join(fingerprint["isa"]))
    if fingerprint.get("caches"):
        parts.append("caches per core " + ", ".join(f"{level} {size}" for level, size in fingerprint["caches"].items()))
    memory = f", {fingerprint['memory_gib']} GiB" if fingerprint.get("memory_gib") else ""
    parts.append(f"{fingerprint.get('logical_cpus', '?')} logical CPUs{memory}")
    parts += [
        f"{label}{fingerprint[key]}"
        for key, label in (
            ("virtualization", ""),
            ("governor", "governor "),
            ("blas_kernel", "BLAS kernel "),
            ("kernel", "kernel "),
        )
        if fingerprint.get(key)
    ]
    return "; ".join(parts)


def environment_rows(run: Run) -> dict[str, str]:
    """Where and how the run was measured, one entry per aspect."""
    info, threads = run.machine_info, run.machine_info.get("threads", {})
    framework_threads = {
        key: value for key, value in threads.items() if key not in ("requested", "cpus", "pools", "xla_flags")
    }
    return {
        "machine": machine_words(run.fingerprint)
        + f"; host {info.get('node', '?')}, {info.get('machine', '?')}, {info.get('system', '?')}",
        "threads": f"{threads.get('requested', '?')} requested; CPUs {threads.get('cpus', '?')}"
        + "".join(f"; {key.replace('_', ' ')} {value}" for key, value in framework_threads.items()),
        "BLAS and OpenMP pools": pool_summary(threads) or "?",
        "XLA_FLAGS": f"`{threads.get('xla_flags')}`" if threads.get("xla_flags") else "(none)",
        "process mode": info.get("process_mode", "?")
        + (" (interrupted: incomplete run)" if info.get("interrupted") else ""),
        "versions": ", ".join(
            f"{package} {version}" for package, version in info.get("versions", {}).items() if version
        )
        or "?",
        "environment": ", ".join(f"`{name}={value}`" for name, value in info.get("environment", {}).items())
        or "(none)",
        "commit": f"`{run.commit_info.get('id', '?')}`"
        + (" with uncommitted changes" if run.commit_info.get("dirty") else ""),
    }


def environment_table(run: Run) -> str:
    """The environment of one run, one row per aspect."""
    return markdown_table(["measured on", ""], environment_rows(run).items(), "ll")


def runs_table(runs: list[Run], names: list[str]) -> str:
    """A markdown table of several runs: their labels, files and what they were measured on."""
    rows = (
        [
            name,
            f"`{run.path}`",
            run.datetime[:19],
            "; ".join(f"{key}: {value}" for key, value in environment_rows(run).items()),
        ]
        for run, name in zip(runs, names, strict=True)
    )
    return markdown_table(["run", "file", "saved", "measured on"], rows, "llll")
