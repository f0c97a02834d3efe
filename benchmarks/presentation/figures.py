"""The figures of a report: training time as box plots, and the loss curves."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from benchmarks.model.files import atomic_write_bytes
from implementations.agreement import loss_gap
from implementations.registry import REFERENCE

from .formatting import (
    UNRELIABLE_SPREAD,
    color_of,
    format_median,
    format_ratio,
    format_seconds,
    is_unreliable,
    palette_color,
)


def save_figure(figure, path: Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure atomically, and close it."""
    buffer = BytesIO()
    # legends placed outside the axes too
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.1)
    plt.close(figure)
    return atomic_write_bytes(path, buffer.getvalue())


def _box(row) -> dict:
    """matplotlib's box statistics for one benchmark, outliers from its raw samples when saved."""
    samples = np.asarray(row.data if row.data is not None else [])
    outliers = samples[(samples < row.ld15iqr) | (samples > row.hd15iqr)]
    return {
        "med": row.median,
        "q1": row.q1,
        "q3": row.q3,
        "whislo": row.ld15iqr,
        "whishi": row.hd15iqr,
        "fliers": outliers,
    }


def plot_training_time(benchmarks: pd.DataFrame, runs: list[str], title: str, path: Path) -> None:
    """Box plots of the timed rounds, one row per implementation (fastest on top) and one box per run, log scale."""
    order = benchmarks.groupby("implementation")["median"].min().sort_values(ascending=False).index
    height = 1 / len(runs)
    fig, ax = plt.subplots(figsize=(9, 1.3 + 0.5 * len(order) * max(1, 0.6 * len(runs))), layout="constrained")
    reference = benchmarks[(benchmarks["implementation"] == REFERENCE) & (benchmarks["run"] == runs[0])]["median"]
    notes = []
    for y, name in enumerate(order, start=1):
        note = []
        for index, run in enumerate(runs):
            for row in benchmarks[(benchmarks["implementation"] == name) & (benchmarks["run"] == run)].itertuples():
                position = y - (index - (len(runs) - 1) / 2) * height  # first run on top
                color = color_of(name) if len(runs) == 1 else palette_color(index)
                projected = bool(getattr(row, "projected", False))
                if not projected:  # a projection has no samples of its full length to draw a box of
                    ax.bxp(
                        [_box(row)],
                        positions=[position],
                        orientation="horizontal",
                        patch_artist=True,
                        widths=0.8 * min(height, 0.7),
                        medianprops={"color": "black"},
                        boxprops={"facecolor": color, "alpha": 0.8},
                        flierprops={"markersize": 2, "alpha": 0.2},
                    )
                if row.ci_low == row.ci_low:  # the median's 95% interval
                    ax.errorbar(
                        row.median,
                        position,
                        xerr=[[row.median - row.ci_low], [row.ci_high - row.median]],
                        fmt="none",
                        ecolor="black",
                        elinewidth=1.6,
                        capsize=4,
                        zorder=4,
                    )
                # the box can be a hairline on a log axis spanning decades: mark the median in the row's colour
                ax.plot(
                    row.median,
                    position,
                    "D" if projected else "o",
                    color="white" if projected else color,
                    markeredgecolor=color if projected else "black",
                    markeredgewidth=2 if projected else 1,
                    markersize=7,
                    zorder=5,
                )
                unreliable = " ⚠" if not projected and is_unreliable(row.iqr, row.median) else ""
                ratio = (
                    f" ({format_ratio(row.median / reference.iloc[0])} NumPy)"
                    if len(runs) == 1 and len(reference)
                    else ""
                )
                note.append(format_median(row.median, projected) + unreliable + ratio)
        notes.append(" / ".join(note))
    ax.set_yticks(range(1, len(order) + 1), order)
    medians = ax.secondary_yaxis("right")
    medians.set_yticks(range(1, len(notes) + 1), notes)
    medians.tick_params(length=0)
    if len(runs) > 1:
        handles = [plt.Rectangle((0, 0), 1, 1, color=palette_color(index), alpha=0.8) for index in range(len(runs))]
        ax.legend(handles, runs, loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=8, frameon=False)
    ax.set_ylim(0.4, len(order) + 0.6)
    ax.set_xscale("log")
    decades = np.log10(benchmarks["max"].max() / benchmarks["min"].min())
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5) if decades < 2 else (1,)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda seconds, _: format_seconds(seconds)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(
        "time for the whole training loop (log scale)\nbox: quartiles, whiskers: 1.5 IQR, dots: outliers; black bar: "
        "the median's 95% interval"
        + (
            "\n◇ (projected): from the loop timed at shorter lengths (bar: its bootstrap interval)"
            if "projected" in "".join(notes)
            else ""
        )
        + (f"; ⚠: IQR over {UNRELIABLE_SPREAD:.0%} of the median" if "⚠" in "".join(notes) else "")
    )
    ax.set_title(title)
    ax.grid(axis="x", which="both", alpha=0.3)
    save_figure(fig, path)


def loss_difference(history: np.ndarray, reference: np.ndarray) -> str:
    """The legend's note: the largest loss difference from NumPy, over the epochs both recorded."""
    gap, common = loss_gap(history, reference)
    return f"  (max |Δ| vs NumPy {gap:.1e}" + (
        f" over NumPy's first {common} epochs)" if common < len(history) else ")"
    )


def plot_loss_curves(benchmarks: pd.DataFrame, title: str, path: Path) -> None:
    """The notebook's loss plot, every implementation on one axis; styles differ so coinciding curves stay visible."""
    legend_rows = -(-len(benchmarks) // 2)  # two columns under the axes: the figure grows with the implementations
    fig, ax = plt.subplots(figsize=(9, 4.5 + 0.2 * legend_rows), layout="constrained")
    reference = benchmarks.loc[benchmarks["implementation"] == REFERENCE, "loss_history"]
    styles = ["-", "--", ":", "-."]
    for index, row in enumerate(benchmarks.itertuples()):
        history = np.asarray(row.loss_history)
        label = row.implementation + (
            f" (its first {len(history)} epochs, projected)" if getattr(row, "projected", False) else ""
        )
        if len(reference) and row.implementation != REFERENCE:
            label += loss_difference(history, np.asarray(reference.iloc[0]))
        ax.plot(
            np.arange(len(history)),
            history,
            styles[index % len(styles)],
            color=color_of(row.implementation),
            linewidth=4 - 1.2 * min(index, 2),
            alpha=0.85,
            label=label,
        )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss: mean((y − o)²), before the epoch's update")
    ax.set_title(title)
    ax.grid(which="both", alpha=0.3)
    fig.legend(loc="outside lower center", ncol=2, fontsize=7, frameon=False)
    save_figure(fig, path)
