"""The scaling sweep's part of a report: time per epoch against work, the crossovers, and the share of peak."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from benchmarks.model.runs import Run
from implementations.registry import SPEED_OF_LIGHT

from .figures import plt, save_figure
from .formatting import color_of, format_seconds

PEAK_NOTE = "matrix multiply (same thread count)"
WITHIN_FASTEST = 2.0  # the crossover: from which size on an implementation stays within this factor of the fastest


def sweep_paths(sweep: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The sweep's points split into paths a line can follow: width grows, batch grows, both grow (or, where no size
    grows, every point in one panel)."""
    paths = {
        "hidden width grows, batch 1": sweep[sweep["batch"] == 1],
        "batch grows, width 3": sweep[sweep["n_hidden"] == 3],
        "width and batch grow together": sweep[((sweep["batch"] > 1) & (sweep["n_hidden"] > 3))
                                               | ((sweep["batch"] == 1) & (sweep["n_hidden"] == 3))],
    }
    growing = {title: points for title, points in paths.items() if points["flops_per_epoch"].nunique() > 1}
    return growing or {"every size swept": sweep}  # a sweep of one size, or of sizes on no path, still has its points


def peak_rate(peak: pd.DataFrame) -> tuple[float, str]:
    """The best matrix-multiply rate measured (flop/s), and which library reached it."""
    rates = peak["flops"] / peak["median"]
    best = rates.idxmax()
    return float(rates[best]), f"{peak.loc[best, 'library']} {peak.loc[best, 'size']}² matmul"


def plot_sweep(sweep: pd.DataFrame, peak: pd.DataFrame, path: Path) -> None:
    """Time per epoch against work per epoch, log-log, one line per implementation, per path of the sweep."""
    paths = sweep_paths(sweep)
    fig, axes = plt.subplots(1, len(paths), figsize=(5.2 * len(paths), 4.8), layout="constrained", squeeze=False)
    for ax, (title, points) in zip(axes[0], paths.items(), strict=True):
        for name, line in points.groupby("implementation", sort=False):
            line = line.sort_values("flops_per_epoch")
            native = name == SPEED_OF_LIGHT
            ax.plot(line["flops_per_epoch"], line["time_per_epoch_s"], "--o" if native else "-o", color=color_of(name),
                    linewidth=2.5 if native else 1.5, markersize=3, label=name + (" (speed of light)" if native else ""))
        if len(peak):
            rate, source = peak_rate(peak)
            work = np.geomspace(points["flops_per_epoch"].min(), points["flops_per_epoch"].max(), 20)
            ax.plot(work, work / rate, ":", color="black", linewidth=1.5, label=f"peak: {rate / 1e9:.0f} GFLOP/s ({source})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda seconds, _: format_seconds(seconds)))
        ax.set_xlabel("work per epoch (flop in matrix products)")
        ax.set_title(title, fontsize=10)
        ax.grid(which="major", alpha=0.3)
    axes[0][0].set_ylabel("time per epoch")
    axes[0][-1].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"How cost grows with work ({sweep['dtype'].iloc[0]}, 3 inputs, 2 outputs)")
    save_figure(fig, path)


def crossover_table(sweep: pd.DataFrame, peak: pd.DataFrame) -> str:
    """Per implementation: from which size on it stays within 2x of the fastest, and its share of peak at the largest size."""
    fastest = sweep.groupby(["n_hidden", "batch"])["time_per_epoch_s"].min()
    largest = sweep["flops_per_epoch"].max()
    rate = peak_rate(peak)[0] if len(peak) else np.nan
    lines = ["| implementation | within 2× of the fastest from | time per epoch at the largest size | GFLOP/s there | share of peak |",
             "|---|---|---:|---:|---:|"]
    rows = []
    for name, points in sweep.groupby("implementation", sort=False):
        points = points.sort_values(["flops_per_epoch", "n_hidden"])
        close = [row.time_per_epoch_s <= WITHIN_FASTEST * fastest[(row.n_hidden, row.batch)] for row in points.itertuples()]
        # the smallest size from which every larger one is within the factor
        start = next((index for index in range(len(close)) if all(close[index:])), None)
        since = "never" if start is None else (
            f"width {points.iloc[start]['n_hidden']}, batch {points.iloc[start]['batch']} ({points.iloc[start]['flops_per_epoch']:,} flop)")
        at_largest = points[points["flops_per_epoch"] == largest]["time_per_epoch_s"].min()
        achieved = largest / at_largest
        rows.append((at_largest, f"| `{name}` | {since} | {format_seconds(at_largest)} | {achieved / 1e9:.2f} | {achieved / rate:.1%} |"))
    return "\n".join(lines + [line for _, line in sorted(rows)])


def sweep_section(run: Run, heading: str, figure: str, out_dir: Path) -> list[str]:
    """The report's lines for a run's sweep, its figure written into out_dir."""
    plot_sweep(run.sweep, run.peak, out_dir / figure)
    peak = (f"The peak is the best float64 {PEAK_NOTE} measured in the same run: "
            + ", ".join(f"{row.library} {row.flops / row.median / 1e9:.1f} GFLOP/s" for row in run.peak.itertuples()) + "."
            if len(run.peak) else "The run measured no peak.")
    return [heading, "",
            "Time per epoch against the work of an epoch's matrix products (forward, backward and both "
            "updates: 2·B·H·(2·inputs + 3·outputs) flop), every point checked against NumPy's result. " + peak, "",
            f"![Scaling sweep]({figure})", "", crossover_table(run.sweep, run.peak), ""]
