"""Turn a saved run into a markdown report with a summary table and figures."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from implementations.registry import REGISTRY  # noqa: E402

from .runs import Run  # noqa: E402

REFERENCE = "numpy"


def format_seconds(seconds: float) -> str:
    """A duration with a unit that keeps 3 significant digits readable."""
    if seconds != seconds:  # NaN: not measured
        return "–"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(seconds) >= scale or unit == "ns":
            return f"{seconds / scale:.3g} {unit}"
    raise AssertionError("unreachable")


def color_of(name: str) -> str:
    """One color per implementation, the same in every figure and every report."""
    names = list(REGISTRY)
    index = names.index(name) if name in names else len(names) + sum(map(ord, name))
    return plt.get_cmap("tab10")(index % 10)


def summary(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """One row per implementation, fastest first, times in seconds."""
    table = pd.DataFrame({
        "implementation": benchmarks["implementation"],
        "median": benchmarks["median"],
        "iqr": benchmarks["iqr"],
        "rounds": benchmarks["rounds"],
        "per_epoch": benchmarks["median"] / benchmarks["epochs"],
        "compile": benchmarks["compile_s"].where(benchmarks.get("compiled", False), np.nan),
        "first_call": benchmarks["first_call_s"],
    })
    reference = table.loc[table["implementation"] == REFERENCE, "median"]
    table["vs_numpy"] = table["median"] / reference.iloc[0] if len(reference) else np.nan
    return table.sort_values("median").reset_index(drop=True)


def markdown_table(table: pd.DataFrame) -> str:
    """The summary as a GitHub markdown table."""
    header = ["implementation", "median", "IQR", "rounds", "time per epoch", "vs NumPy", "compile", "first call"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for row in table.itertuples():
        ratio = "–" if np.isnan(row.vs_numpy) else f"{row.vs_numpy:.3g}×"
        cells = [f"`{row.implementation}`", format_seconds(row.median), format_seconds(row.iqr), str(row.rounds),
                 format_seconds(row.per_epoch), ratio, format_seconds(row.compile), format_seconds(row.first_call)]
        cells[1:3] = [cells[1], f"{cells[2]} ({row.iqr / row.median:.1%})"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_training_time(benchmarks: pd.DataFrame, title: str, path: Path) -> None:
    """Box plot of the timed rounds per implementation, fastest on top, on a log scale."""
    rows = benchmarks.sort_values("median", ascending=False)
    boxes = []
    for row in rows.itertuples():
        samples = np.asarray(row.data if row.data is not None else [])
        outside = samples[(samples < row.ld15iqr) | (samples > row.hd15iqr)]
        boxes.append({"med": row.median, "q1": row.q1, "q3": row.q3, "whislo": row.ld15iqr, "whishi": row.hd15iqr,
                      "fliers": outside, "label": row.implementation})
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.7 * len(boxes)), layout="constrained")
    artists = ax.bxp(boxes, orientation="horizontal", patch_artist=True, widths=0.55,
                     medianprops={"color": "black"}, flierprops={"markersize": 3, "alpha": 0.5})
    for patch, name in zip(artists["boxes"], rows["implementation"]):
        patch.set_facecolor(color_of(name))
        patch.set_alpha(0.8)
    reference = benchmarks.loc[benchmarks["implementation"] == REFERENCE, "median"]
    notes = [format_seconds(row.median) + (f" ({row.median / reference.iloc[0]:.2g}× NumPy)" if len(reference) else "")
             for row in rows.itertuples()]
    medians = ax.secondary_yaxis("right")
    medians.set_yticks(range(1, len(notes) + 1), notes)
    medians.tick_params(length=0)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda seconds, _: format_seconds(seconds)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("time for the whole training loop (log scale); box: quartiles, whiskers: 1.5 IQR, dots: outliers")
    ax.set_title(title)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_loss_curves(benchmarks: pd.DataFrame, title: str, path: Path) -> None:
    """The notebook's loss plot, every implementation on one axis; styles differ so coinciding curves stay visible."""
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    reference = benchmarks.loc[benchmarks["implementation"] == REFERENCE, "loss_history"]
    styles = ["-", "--", ":", "-."]
    for index, row in enumerate(benchmarks.itertuples()):
        history = np.asarray(row.loss_history)
        label = row.implementation
        if len(reference) and row.implementation != REFERENCE:
            label += f"  (max |Δ| vs NumPy {np.max(np.abs(history - np.asarray(reference.iloc[0]))):.1e})"
        ax.plot(np.arange(len(history)), history, styles[index % len(styles)], color=color_of(row.implementation),
                linewidth=4 - 1.2 * min(index, 2), alpha=0.85, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss: mean((y − o)²), before the epoch's update")
    ax.set_title(title)
    ax.grid(which="both", alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def describe_machine(run: Run) -> str:
    """One line about where and how the run was measured."""
    info = run.machine_info
    cpu = info.get("cpu", {})
    threads = info.get("threads", {})
    parts = [f"{cpu.get('brand_raw') or info.get('processor') or 'unknown CPU'}, {cpu.get('count', '?')} cores",
             f"Python {info.get('python_version', '?')}"]
    if threads:
        pools = ", ".join(f"{pool['library']} {pool['threads']}" for pool in threads.get("pools", []))
        parts.append(f"threads: torch {threads.get('torch_intra_op', '?')}/{threads.get('torch_inter_op', '?')} "
                     f"(intra/inter-op), {pools}; XLA_FLAGS={threads.get('xla_flags') or '(none)'}")
    return "; ".join(parts)


def write_report(run: Run, out_dir: Path) -> Path:
    """Write report.md and its figures into out_dir; return the markdown file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# backprop-bench: {run.label}", "",
             f"Saved {run.datetime} from `{run.path}`.", "", f"Machine: {describe_machine(run)}.", ""]
    for index, (group, benchmarks) in enumerate(run.benchmarks.groupby("group", sort=False)):
        first = benchmarks.iloc[0]
        versions = {package: version for entry in benchmarks["versions"] for package, version in entry.items()}
        lines += [f"## {group}", "",
                  f"{first['n_in']}-{first['n_hidden']}-{first['n_out']} network, batch {first['batch']}, "
                  f"{first['epochs']} epochs, {first['dtype']}. Versions: "
                  + ", ".join(f"{package} {version}" for package, version in sorted(versions.items())) + ".", "",
                  markdown_table(summary(benchmarks)), "",
                  "Median and IQR are over the timed rounds of the whole training loop; compile time (compiled "
                  "implementations only) and the first call are measured once, outside the timed rounds.", ""]
        figures = {f"training_time_{index}.png": plot_training_time, f"loss_curves_{index}.png": plot_loss_curves}
        titles = [f"Training time, {group}", f"Training loss, {group}"]
        for (name, plot), title in zip(figures.items(), titles):
            plot(benchmarks, title, out_dir / name)
            lines += [f"![{title}]({name})", ""]
    markdown = out_dir / "report.md"
    markdown.write_text("\n".join(lines))
    return markdown
