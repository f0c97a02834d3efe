"""The scaling sweep's part of a report: time and memory against work, the roofline, the crossovers, and coverage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from benchmarks.model.runs import Run
from implementations.registry import SPEED_OF_LIGHT

from .figures import plt, save_figure
from .formatting import color_of, format_bytes, format_seconds, markdown_table

PEAK_NOTE = "matrix multiply (same thread count)"
WITHIN_FASTEST = 2.0  # the crossover: from which size on an implementation stays within this factor of the fastest
NATIVE_WITHIN = 1.25  # the speed-of-light loop earns its name within this factor of the fastest


def sweep_paths(sweep: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The sweep's points split into paths a line can follow: width grows, batch grows, both grow (or, where no size
    grows, every point in one panel)."""
    paths = {
        "hidden width grows, batch 1": sweep[sweep["batch"] == 1],
        "batch grows, width 3": sweep[sweep["n_hidden"] == 3],
        "width and batch grow together": sweep[
            ((sweep["batch"] > 1) & (sweep["n_hidden"] > 3)) | ((sweep["batch"] == 1) & (sweep["n_hidden"] == 3))
        ],
    }
    growing = {title: points for title, points in paths.items() if points["flops_per_epoch"].nunique() > 1}
    return growing or {"every size swept": sweep}  # a sweep of one size, or of sizes on no path, still has its points


def peak_rate(peak: pd.DataFrame) -> tuple[float, str]:
    """The best matrix-multiply rate measured (flop/s), and which library reached it."""
    rates = peak["flops"] / peak["median"]
    best = rates.idxmax()
    return float(rates[best]), f"{peak.loc[best, 'library']} {peak.loc[best, 'size']}² matmul"


PAGE = 4096  # the resident set grows by pages: a rise under one page is drawn at one page


def rooflines(points: pd.DataFrame) -> pd.DataFrame:
    """Per size, the least roofline its implementations measured (their processes measured the rates apart)."""
    if "roofline_s" not in points or points["roofline_s"].isna().all():
        return points.iloc[:0]
    return points.groupby(["flops_per_epoch"], as_index=False)["roofline_s"].min().sort_values("flops_per_epoch")


def plot_panels(
    sweep: pd.DataFrame, column: str, ylabel: str, title: str, path: Path, formatter, references, base=10
) -> None:
    """`column` against work per epoch, log-log, one line per implementation, a panel per path of the sweep; each
    reference draws its lines into a panel's axes."""
    paths = sweep_paths(sweep)
    fig, axes = plt.subplots(1, len(paths), figsize=(5.2 * len(paths), 4.8), layout="constrained", squeeze=False)
    for ax, (panel, points) in zip(axes[0], paths.items(), strict=True):
        for name, line in points.groupby("implementation", sort=False):
            line = line.sort_values("flops_per_epoch")
            native = name == SPEED_OF_LIGHT
            ax.plot(
                line["flops_per_epoch"],
                line[column],
                "--o" if native else "-o",
                color=color_of(name),
                linewidth=2.5 if native else 1.5,
                markersize=3,
                label=name,
            )
        for reference in references:
            reference(ax, points)
        ax.set_xscale("log")
        ax.set_yscale("log", base=base)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: formatter(value)))
        ax.set_xlabel("work per epoch (flop in matrix products)")
        ax.set_title(panel, fontsize=10)
        ax.grid(which="major", alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    handles = {label: handle for ax in axes[0] for handle, label in zip(*ax.get_legend_handles_labels(), strict=True)}
    fig.legend(handles.values(), handles.keys(), fontsize=8, loc="outside right center")
    fig.suptitle(f"{title} ({sweep['dtype'].iloc[0]}, 3 inputs, 2 outputs)")
    save_figure(fig, path)


def plot_sweep(sweep: pd.DataFrame, peak: pd.DataFrame, path: Path) -> None:
    """Time per epoch against work per epoch, with the roofline (the least time this machine allows) and the rate of a
    large matrix product for reference."""

    def roofline(ax, points):
        line = rooflines(points)
        if len(line):
            ax.plot(
                line["flops_per_epoch"],
                line["roofline_s"],
                "-",
                color="black",
                linewidth=2.5,
                alpha=0.6,
                label="roofline (least time possible)",
            )

    def matmul_peak(ax, points):
        if len(peak):
            rate, source = peak_rate(peak)
            work = np.geomspace(points["flops_per_epoch"].min(), points["flops_per_epoch"].max(), 20)
            ax.plot(work, work / rate, ":", color="black", linewidth=1.5, label=f"{rate / 1e9:.0f} GFLOP/s ({source})")

    plot_panels(
        sweep,
        "time_per_epoch_s",
        "time per epoch",
        "How cost grows with work",
        path,
        format_seconds,
        (roofline, matmul_peak),
    )


def plot_memory(sweep: pd.DataFrame, path: Path) -> None:
    """Peak memory of the training loop against work per epoch."""
    measured = sweep[sweep["peak_memory_bytes"].notna()].assign(
        drawn=lambda frame: frame["peak_memory_bytes"].astype(float).clip(lower=PAGE)
    )
    plot_panels(
        measured,
        "drawn",
        "peak memory beyond the prepared process",
        "How memory grows with work",
        path,
        format_bytes,
        (),
        base=4,
    )


def crossover_table(sweep: pd.DataFrame, peak: pd.DataFrame) -> str:
    """Per implementation: from which size on it stays within 2x of the fastest, and at its largest size its time,
    its rate, its share of the matmul peak and of the roofline, and its peak memory."""
    fastest = sweep.groupby(["n_hidden", "batch"])["time_per_epoch_s"].min()
    rate = peak_rate(peak)[0] if len(peak) else np.nan
    rows = []
    for name, points in sweep.groupby("implementation", sort=False):
        points = points.sort_values(["flops_per_epoch", "n_hidden"])
        close = [
            row.time_per_epoch_s <= WITHIN_FASTEST * fastest[(row.n_hidden, row.batch)] for row in points.itertuples()
        ]
        # the smallest size from which every larger one is within the factor
        start = next((index for index in range(len(close)) if all(close[index:])), None)
        since = (
            "never"
            if start is None
            else (
                f"width {points.iloc[start]['n_hidden']}, batch {points.iloc[start]['batch']} "
                f"({points.iloc[start]['flops_per_epoch']:,} flop)"
            )
        )
        largest = points.iloc[-1]
        achieved = largest["flops_per_epoch"] / largest["time_per_epoch_s"]
        roofline = largest.get("roofline_s", np.nan) / largest["time_per_epoch_s"]
        rows.append(
            (
                (-largest["flops_per_epoch"], largest["time_per_epoch_s"]),
                [
                    f"`{name}`",
                    since,
                    f"{largest['n_hidden']}x{largest['batch']}",
                    format_seconds(largest["time_per_epoch_s"]),
                    f"{achieved / 1e9:.2f}",
                    f"{achieved / rate:.1%}",
                    "–" if roofline != roofline else f"{roofline:.1%}",
                    format_bytes(largest.get("peak_memory_bytes")),
                ],
            )
        )
    header = [
        "implementation",
        "within 2× of the fastest from",
        "its largest size",
        "time per epoch there",
        "GFLOP/s",
        "share of matmul peak",
        "share of roofline",
        "peak memory",
    ]
    return markdown_table(header, (cells for _, cells in sorted(rows, key=lambda row: row[0])), "lllrrrrr")


def coverage(sweep: pd.DataFrame, ranges: dict) -> str:
    """Which implementations were timed at only some of the run's sizes, which, and why (as the run recorded)."""
    sizes = sweep.drop_duplicates(["n_hidden", "batch"]).sort_values("flops_per_epoch")
    partial = []
    for name, points in sweep.groupby("implementation", sort=False):
        if len(points) < len(sizes):
            labels = ", ".join(
                f"{row.n_hidden}x{row.batch}" for row in points.sort_values("flops_per_epoch").itertuples()
            )
            reason = ranges.get(name, {}).get("why", "not timed at the other sizes")
            partial.append(f"- `{name}`: {labels} only; {reason}.")
    every = [name for name, points in sweep.groupby("implementation", sort=False) if len(points) == len(sizes)]
    return "\n".join([f"Every size ({len(sizes)}): " + ", ".join(f"`{name}`" for name in every) + ".", *partial])


def native_versus_fastest(sweep: pd.DataFrame) -> str:
    """Where the speed-of-light loop is more than NATIVE_WITHIN of the fastest implementation, measured."""
    native = sweep[sweep["implementation"] == SPEED_OF_LIGHT].set_index(["n_hidden", "batch"])["time_per_epoch_s"]
    if not len(native):
        return f"`{SPEED_OF_LIGHT}` is not in this sweep."
    others = sweep[sweep["implementation"] != SPEED_OF_LIGHT]
    best = others.loc[others.groupby(["n_hidden", "batch"])["time_per_epoch_s"].idxmin()].set_index(
        ["n_hidden", "batch"]
    )
    behind = [
        (size, native[size] / best.loc[size, "time_per_epoch_s"], best.loc[size, "implementation"])
        for size in native.index
        if size in best.index and native[size] > NATIVE_WITHIN * best.loc[size, "time_per_epoch_s"]
    ]
    ratios = [native[size] / best.loc[size, "time_per_epoch_s"] for size in native.index if size in best.index]
    if not behind:
        return (
            f"`{SPEED_OF_LIGHT}` is within {NATIVE_WITHIN}× of the fastest at every size swept (at most "
            f"{max(ratios, default=float('nan')):.2f}× the fastest other implementation's time; below 1× it is the "
            "fastest)."
        )
    return (
        f"⚠ `{SPEED_OF_LIGHT}` is more than {NATIVE_WITHIN}× the fastest at: "
        + "; ".join(f"{n}x{b} ({ratio:.2f}× `{name}`)" for (n, b), ratio, name in behind)
        + "."
    )


def sweep_section(run: Run, heading: str, figure: str, out_dir: Path) -> list[str]:
    """The report's lines for a run's sweep, its figures written into out_dir."""
    plot_sweep(run.sweep, run.peak, out_dir / figure)
    lines = [
        heading,
        "",
        "Time per epoch against the work of an epoch's matrix products (forward, backward and both updates: "
        "2·B·H·(2·inputs + 3·outputs) flop), every point checked against NumPy's result. The roofline is the least "
        "time an epoch can take here: the epoch's sigmoids and multiply-adds at the fastest rates measured in the "
        "same process (or its memory traffic at the measured bandwidth, whichever is "
        "longer; see the README). " + peak_sentence(run.peak),
        "",
        f"![Scaling sweep]({figure})",
        "",
        crossover_table(run.sweep, run.peak),
        "",
        native_versus_fastest(run.sweep),
        "",
        "Sizes timed: " + coverage(run.sweep, run.machine_info.get("sweep_ranges", {})),
        "",
    ]
    if "peak_memory_bytes" in run.sweep and run.sweep["peak_memory_bytes"].notna().any():
        memory_figure = figure.replace("sweep_", "sweep_memory_")
        plot_memory(run.sweep, out_dir / memory_figure)
        lines += [
            "Peak memory of each training loop: how far the process's resident set rose above the prepared process, "
            f"from the first call through the timed rounds (a rise under one page, {PAGE // 1024} KiB, is drawn at one "
            "page).",
            "",
            f"![Peak memory in the sweep]({memory_figure})",
            "",
        ]
    return lines


def peak_sentence(peak: pd.DataFrame) -> str:
    """The matmul reference rates of a run, in a sentence."""
    if not len(peak):
        return "The run measured no matrix-product reference."
    return (
        f"The dotted line is the best {PEAK_NOTE} measured in the same run: "
        + ", ".join(f"{row.library} {row.flops / row.median / 1e9:.1f} GFLOP/s" for row in peak.itertuples())
        + "."
    )
