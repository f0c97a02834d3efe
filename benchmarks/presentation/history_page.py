"""history.html: every implementation's median over the saved runs, one panel per machine, version changes marked."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from matplotlib.ticker import FuncFormatter

from benchmarks.model.files import atomic_write_text, outputs_in
from benchmarks.model.history import history_table
from benchmarks.model.runs import Run

from .figures import plt, save_figure
from .formatting import color_of, format_median, format_ratio, format_seconds, line_style_of, markdown_table
from .html_page import html_page

LEGEND_ROWS = 24  # what the figure's height holds at its font size; more names take another column


def plot_history(rows: pd.DataFrame, title: str, path: Path) -> None:
    """Median per run, one panel per machine (lines never join runs from two machines), rings where versions changed."""
    machines = list(dict.fromkeys(rows.sort_values("order")["machine"]))
    fig, axes = plt.subplots(
        1, len(machines), figsize=(3.2 * len(machines) + 4, 4.8), layout="constrained", sharey=True, squeeze=False
    )
    for ax, machine in zip(axes[0], machines, strict=True):
        on_machine = rows[rows["machine"] == machine]
        runs = list(dict.fromkeys(on_machine.sort_values("order")["run"]))
        position = {run: index for index, run in enumerate(runs)}
        for name, line in on_machine.groupby("implementation", sort=False):
            line = line.sort_values("order")
            x = line["run"].map(position)
            ax.plot(
                x,
                line["median"],
                marker="o",
                linestyle=line_style_of(name),
                color=color_of(name),
                markersize=4,
                linewidth=1.5,
                label=name,
            )
            projected = line["projected"]
            ax.plot(
                x[projected],
                line["median"][projected],
                "D",
                color="white",
                markeredgecolor=color_of(name),
                markersize=6,
            )
            changed = line["version_change"] != ""
            ax.plot(
                x[changed], line["median"][changed], "o", markersize=11, markerfacecolor="none", markeredgecolor="black"
            )
        labels = on_machine.drop_duplicates("run").set_index("run")
        ax.set_xticks(
            range(len(runs)),
            [f"{labels.loc[run, 'number']}\n{labels.loc[run, 'saved'][5:10]}" for run in runs],
            fontsize=8,
        )
        ax.set_xlim(-0.5, len(runs) - 0.5)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda seconds, _: format_seconds(seconds)))
        ax.set_title(
            f"{on_machine['cpu'].iloc[0]}\nmachine {machine}, {len(runs)} run{'s' * (len(runs) > 1)}", fontsize=9
        )
        ax.grid(which="major", alpha=0.3)
    axes[0][0].set_ylabel("median of the training loop")
    handles, names = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:
        for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
            if name not in names:
                handles.append(handle)
                names.append(name)
    handles.append(
        plt.Line2D([], [], marker="o", markersize=11, markerfacecolor="none", markeredgecolor="black", linestyle="")
    )
    names.append("versions changed")
    if rows["projected"].any():
        handles.append(
            plt.Line2D([], [], marker="D", markersize=6, markerfacecolor="white", markeredgecolor="black", linestyle="")
        )
        names.append("projected from shorter lengths")
    fig.legend(handles, names, loc="outside right upper", fontsize=8, ncols=-(-len(names) // LEGEND_ROWS))
    fig.suptitle(f"History, {title}")
    save_figure(fig, path)


def trend_table(rows: pd.DataFrame) -> str:
    """Per implementation and machine: its first and latest median, their ratio, and the version changes between."""
    table = []
    for (name, machine), series in rows.groupby(["implementation", "machine"], sort=False):
        series = series.sort_values("order")
        first, latest = series["median"].iloc[0], series["median"].iloc[-1]
        changes = (
            "; ".join(f"{row.number}: {row.version_change}" for row in series.itertuples() if row.version_change) or "–"
        )
        ratio = format_ratio(latest / first) if len(series) > 1 else "–"
        first_text, latest_text = (
            format_median(first, series["projected"].iloc[0]),
            format_median(latest, series["projected"].iloc[-1]),
        )
        table.append([f"`{name}`", machine, len(series), first_text, latest_text, ratio, changes])
    return markdown_table(
        ["implementation", "machine", "runs", "first", "latest", "latest / first", "versions changed"], table, "llrrrrl"
    )


def write_history(runs: list[Run], out: Path) -> Path:
    """The history page of the runs, self-contained, at `out`."""
    table = history_table(runs)
    machines = table.drop_duplicates("machine")
    title = f"backprop-bench history: {len(runs)} runs on {len(machines)} machine{'s' * (len(machines) > 1)}"
    without = len(runs) - table["run"].nunique()
    lines = [
        f"# {title}",
        "",
        "The median of every training loop in every saved run, oldest first"
        + (
            f" ({without} of the runs timed no training loop on a problem, only the sweep, and have no point)"
            if without
            else ""
        )
        + ". Runs from different machines (by fingerprint) are "
        "never joined in one line: each machine has its own panel. A ring marks a run in which the implementation's "
        "framework versions changed since its previous run on that machine; a hollow diamond, a time projected from "
        "the loop "
        "timed at shorter lengths (its full length did not fit the run's budget).",
        "",
    ]
    machine_rows = []
    for machine in machines.itertuples():
        runs_there = table[table["machine"] == machine.machine].drop_duplicates("run")
        machine_rows.append(
            [machine.machine, machine.cpu, len(runs_there), runs_there["saved"].min(), runs_there["saved"].max()]
        )
    lines.append(markdown_table(["machine", "CPU", "runs", "first saved", "latest saved"], machine_rows, "llrll"))
    with tempfile.TemporaryDirectory(prefix="backprop-bench-history-") as folder:
        for index, (group, rows) in enumerate(table.groupby("group", sort=False)):
            figure = f"history_{index}.png"
            plot_history(rows, group, Path(folder) / figure)
            lines += ["", f"## {group}", "", f"![History, {group}]({figure})", "", trend_table(rows)]
        lines += [
            "",
            "## Runs",
            "",
            markdown_table(
                ["run", "saved", "machine"],
                ([f"`{row.run}`", row.saved, row.machine] for row in table.drop_duplicates("run").itertuples()),
                "lll",
            ),
        ]
        page = html_page("\n".join(lines), title, Path(folder), ", ".join(dict.fromkeys(table["run"])))
    with outputs_in(out.parent) as staging:
        atomic_write_text(staging / out.name, page)
    return out
