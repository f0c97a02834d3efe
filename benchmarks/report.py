"""Turn a saved run into a markdown report with a summary table and figures."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from implementations.problem import float32_drift_bound  # noqa: E402
from implementations.registry import REGISTRY  # noqa: E402

from .files import atomic_write_text, save_figure  # noqa: E402
from .parity import FLOAT64_TOLERANCE, REFERENCE  # noqa: E402
from .runs import Run, differences, labels  # noqa: E402

SPEED_OF_LIGHT = "native"  # the compiled scalar loop every report measures the others against
UNRELIABLE_SPREAD = 0.10  # IQR / median above this marks a benchmark unreliable, as torch.utils.benchmark warns


def format_seconds(seconds: float) -> str:
    """A duration with a unit that keeps 3 significant digits readable."""
    if seconds != seconds:  # NaN: not measured
        return "–"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(seconds) >= scale or unit == "ns":
            return f"{seconds / scale:.3g} {unit}"
    raise AssertionError("unreachable")


def format_ratio(ratio: float) -> str:
    """A ratio with 3 significant digits, without exponents."""
    if ratio != ratio:
        return "–"
    if ratio >= 1000:
        return f"{ratio:,.0f}×"
    return f"{ratio:.3g}×" if ratio >= 0.01 else f"{ratio:.2g}×"


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
    table["spread"] = table["iqr"] / table["median"]
    for column, name in (("vs_numpy", REFERENCE), ("vs_native", SPEED_OF_LIGHT)):
        reference = table.loc[table["implementation"] == name, "median"]
        table[column] = table["median"] / reference.iloc[0] if len(reference) else np.nan
    return table.sort_values("median").reset_index(drop=True)


def variants_legend(benchmarks: pd.DataFrame) -> str:
    """One line per implementation: what it is (framework, variant, gradients)."""
    described = benchmarks.drop_duplicates("implementation")
    return "\n".join(f"- `{row.implementation}`: {getattr(row, 'variant', '?')}; {getattr(row, 'gradients', '?')} gradients"
                     for row in described.itertuples())


def markdown_table(table: pd.DataFrame) -> str:
    """The summary as a GitHub markdown table."""
    header = ["implementation", "median", "IQR", "rounds", "time per epoch", "vs NumPy", "vs native", "compile", "first call"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for row in table.itertuples():
        ratios = [format_ratio(ratio) for ratio in (row.vs_numpy, row.vs_native)]
        cells = [f"`{row.implementation}`", format_seconds(row.median), format_seconds(row.iqr), str(row.rounds),
                 format_seconds(row.per_epoch), *ratios, format_seconds(row.compile), format_seconds(row.first_call)]
        cells[2] += f" ({row.spread:.1%}{', ⚠ unreliable' if row.spread > UNRELIABLE_SPREAD else ''})"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _box(row) -> dict:
    """matplotlib's box statistics for one benchmark, outliers from its raw samples when saved."""
    samples = np.asarray(row.data if row.data is not None else [])
    outliers = samples[(samples < row.ld15iqr) | (samples > row.hd15iqr)]
    return {"med": row.median, "q1": row.q1, "q3": row.q3, "whislo": row.ld15iqr, "whishi": row.hd15iqr, "fliers": outliers}


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
                color = color_of(name) if len(runs) == 1 else plt.get_cmap("tab10")(index % 10)
                ax.bxp([_box(row)], positions=[position], orientation="horizontal", patch_artist=True,
                       widths=0.8 * min(height, 0.7), medianprops={"color": "black"},
                       boxprops={"facecolor": color, "alpha": 0.8}, flierprops={"markersize": 2, "alpha": 0.2})
                # the box can be a hairline on a log axis spanning decades: mark the median in the row's colour
                ax.plot(row.median, position, "o", color=color, markeredgecolor="black", markersize=7, zorder=3)
                unreliable = " ⚠" if row.iqr / row.median > UNRELIABLE_SPREAD else ""
                ratio = f" ({format_ratio(row.median / reference.iloc[0])} NumPy)" if len(runs) == 1 and len(reference) else ""
                note.append(format_seconds(row.median) + unreliable + ratio)
        notes.append(" / ".join(note))
    ax.set_yticks(range(1, len(order) + 1), order)
    medians = ax.secondary_yaxis("right")
    medians.set_yticks(range(1, len(notes) + 1), notes)
    medians.tick_params(length=0)
    if len(runs) > 1:
        handles = [plt.Rectangle((0, 0), 1, 1, color=plt.get_cmap("tab10")(index % 10), alpha=0.8) for index in range(len(runs))]
        ax.legend(handles, runs, loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=8, frameon=False)
    ax.set_ylim(0.4, len(order) + 0.6)
    ax.set_xscale("log")
    decades = np.log10(benchmarks["max"].max() / benchmarks["min"].min())
    ax.xaxis.set_major_locator(LogLocator(subs=(1, 2, 5) if decades < 2 else (1,)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda seconds, _: format_seconds(seconds)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("time for the whole training loop (log scale); box: quartiles, whiskers: 1.5 IQR, dots: outliers"
                  + (f"; ⚠: IQR over {UNRELIABLE_SPREAD:.0%} of the median" if "⚠" in "".join(notes) else ""))
    ax.set_title(title)
    ax.grid(axis="x", which="both", alpha=0.3)
    save_figure(fig, path)
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
    save_figure(fig, path)
    plt.close(fig)


def pool_summary(threads: dict) -> str:
    """The BLAS and OpenMP pools a run recorded: library, version, kernel and threads of each."""
    return ", ".join(" ".join(filter(None, [pool["library"], pool.get("version"), pool.get("architecture") and f"({pool['architecture']})"]))
                     + f": {pool['threads']} threads" for pool in threads.get("pools", []))


def describe_machine(run: Run) -> str:
    """One line about where and how the run was measured."""
    info = run.machine_info
    cpu = info.get("cpu", {})
    threads = info.get("threads", {})
    parts = [f"{cpu.get('brand_raw') or info.get('processor') or 'unknown CPU'}, {cpu.get('count', '?')} cores",
             f"Python {info.get('python_version', '?')}", f"process mode: {info.get('process_mode', '?')}"]
    if threads:
        pools = pool_summary(threads)
        torch = (f"torch {threads['torch_intra_op']}/{threads['torch_inter_op']} (intra/inter-op), "
                 if "torch_intra_op" in threads else "")
        parts.append(f"threads: {threads.get('requested', '?')} requested, CPUs {threads.get('cpus', '?')}, "
                     f"{torch}{pools}; XLA_FLAGS={threads.get('xla_flags') or '(none)'}")
    versions = info.get("versions", {})
    if versions:
        parts.append("versions: " + ", ".join(f"{package} {version}" for package, version in versions.items() if version))
    environment = info.get("environment", {})
    if environment:
        parts.append("environment: " + ", ".join(f"{name}={value}" for name, value in environment.items()))
    return "; ".join(parts)


def environment_table(run: Run) -> str:
    """Where and how the run was measured, one row per aspect."""
    info, threads = run.machine_info, run.machine_info.get("threads", {})
    cpu = info.get("cpu", {})
    rows = {
        "CPU": f"{cpu.get('brand_raw') or info.get('processor') or 'unknown'}, {cpu.get('count', '?')} cores ({info.get('machine', '?')}, {info.get('system', '?')} {info.get('release', '')})",
        "threads": f"{threads.get('requested', '?')} requested; CPUs {threads.get('cpus', '?')}"
                   + (f"; torch {threads['torch_intra_op']} intra-op / {threads['torch_inter_op']} inter-op" if "torch_intra_op" in threads else ""),
        "BLAS and OpenMP pools": pool_summary(threads) or "?",
        "XLA_FLAGS": f"`{threads.get('xla_flags')}`" if threads.get("xla_flags") else "(none)",
        "process mode": info.get("process_mode", "?") + (" (interrupted: incomplete run)" if info.get("interrupted") else ""),
        "versions": ", ".join(f"{package} {version}" for package, version in info.get("versions", {}).items() if version) or "?",
        "environment": ", ".join(f"`{name}={value}`" for name, value in info.get("environment", {}).items()) or "(none)",
        "commit": f"`{run.commit_info.get('id', '?')}`" + (" with uncommitted changes" if run.commit_info.get("dirty") else ""),
    }
    return "\n".join(["| measured on | |", "|---|---|"] + [f"| {key} | {value} |" for key, value in rows.items()])


def parity_summary(benchmarks: pd.DataFrame) -> str:
    """From the saved loss histories: how far each implementation's loss curve is from NumPy's, and the verdict."""
    reference = benchmarks[benchmarks["implementation"] == REFERENCE]
    if not len(reference) or "loss_history" not in benchmarks:
        return "No NumPy loss history in this run to compare against."
    exact = np.asarray(reference["loss_history"].iloc[0], dtype=np.float64)
    first = benchmarks.iloc[0]
    tolerance = FLOAT64_TOLERANCE if first["dtype"] == "float64" else float32_drift_bound(first["epochs"], np.max(np.abs(exact)))
    gaps = {row.implementation: float(np.max(np.abs(np.asarray(row.loss_history, dtype=np.float64) - exact)))
            for row in benchmarks.itertuples() if row.implementation != REFERENCE}
    worst = max(gaps.values(), default=0.0)
    verdict = "every implementation agrees with NumPy" if worst <= tolerance else "some implementations differ from NumPy"
    return (f"Parity of the timed runs ({first['dtype']}): {verdict} within {tolerance:.1e} on the loss of every epoch "
            f"(largest gap {worst:.1e}: " + ", ".join(f"`{name}` {gap:.1e}" for name, gap in gaps.items())
            + "). `backprop-bench parity` compares the final weights and outputs too.")


def runs_table(runs: list[Run], names: list[str]) -> str:
    """A markdown table of several runs: their labels, files and what they were measured on."""
    lines = ["| run | file | saved | machine |", "|---|---|---|---|"]
    for run, name in zip(runs, names):
        lines.append(f"| {name} | `{run.path}` | {run.datetime[:19]} | {describe_machine(run)} |")
    return "\n".join(lines)


def side_by_side_table(benchmarks: pd.DataFrame, names: list[str]) -> str:
    """Median (IQR share) of each implementation in each run, and each run's ratio to the first."""
    header = ["implementation"] + [f"{name}" for name in names] + [f"{name} / {names[0]}" for name in names[1:]]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    order = benchmarks.groupby("implementation")["median"].min().sort_values().index
    for implementation in order:
        rows = benchmarks[benchmarks["implementation"] == implementation].set_index("run")
        cells, ratios = [f"`{implementation}`"], []
        for name in names:
            if name not in rows.index:
                cells.append("–")
                continue
            row = rows.loc[name]
            spread = row["iqr"] / row["median"]
            cells.append(f"{format_seconds(row['median'])} ({spread:.1%}{', ⚠' if spread > UNRELIABLE_SPREAD else ''})")
        for name in names[1:]:
            both = name in rows.index and names[0] in rows.index
            ratios.append(format_ratio(rows.loc[name, "median"] / rows.loc[names[0], "median"]) if both else "–")
        lines.append("| " + " | ".join(cells + ratios) + " |")
    return "\n".join(lines)


def probes_table(probes: pd.DataFrame) -> str:
    """The "where the time goes" measurements: each piece of an epoch, timed apart."""
    lines = ["| framework | what is timed | median | IQR |", "|---|---|---:|---:|"]
    for row in probes.itertuples():
        lines.append(f"| {row.framework} | {row.probe} | {format_seconds(row.median)} {row.unit} | "
                     f"{format_seconds(row.iqr)} ({row.iqr / row.median:.1%}) |")
    return "\n".join(lines)


PEAK_NOTE = "matrix multiply (same thread count)"
WITHIN_FASTEST = 2.0  # the crossover: from which size on an implementation stays within this factor of the fastest


def sweep_paths(sweep: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The sweep's points split into paths a line can follow: width grows, batch grows, both grow."""
    paths = {
        "hidden width grows, batch 1": sweep[sweep["batch"] == 1],
        "batch grows, width 3": sweep[sweep["n_hidden"] == 3],
        "width and batch grow together": sweep[((sweep["batch"] > 1) & (sweep["n_hidden"] > 3))
                                               | ((sweep["batch"] == 1) & (sweep["n_hidden"] == 3))],
    }
    return {title: points for title, points in paths.items() if points["flops_per_epoch"].nunique() > 1}


def peak_rate(peak: pd.DataFrame) -> tuple[float, str]:
    """The best matrix-multiply rate measured (flop/s), and which library reached it."""
    rates = peak["flops"] / peak["median"]
    best = rates.idxmax()
    return float(rates[best]), f"{peak.loc[best, 'library']} {peak.loc[best, 'size']}² matmul"


def plot_sweep(sweep: pd.DataFrame, peak: pd.DataFrame, path: Path) -> None:
    """Time per epoch against work per epoch, log-log, one line per implementation, per path of the sweep."""
    paths = sweep_paths(sweep)
    fig, axes = plt.subplots(1, len(paths), figsize=(5.2 * len(paths), 4.8), layout="constrained", squeeze=False)
    for ax, (title, points) in zip(axes[0], paths.items()):
        for name, line in points.groupby("implementation", sort=False):
            line = line.sort_values("flops_per_epoch")
            native = name == SPEED_OF_LIGHT
            ax.plot(line["flops_per_epoch"], line["time_per_epoch_s"], "--" if native else "-o", color=color_of(name),
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
    plt.close(fig)


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


def write_report(runs: list[Run], out_dir: Path) -> Path:
    """Write report.md and its figures into out_dir, one run or several side by side; return the markdown file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = labels(runs)
    combined = pd.concat([run.benchmarks.assign(run=name) for run, name in zip(runs, names)], ignore_index=True)
    if len(runs) == 1:
        (run,) = runs
        lines = [f"# backprop-bench: {run.label}", "", f"Saved {run.datetime} from `{run.path}`.", "",
                 environment_table(run), ""]
        if len(run.benchmarks):
            lines += ["Implementations:", "", variants_legend(run.benchmarks), ""]
    else:
        lines = [f"# backprop-bench: {len(runs)} runs side by side", "", runs_table(runs, names), ""]
        differing = differences(runs)
        lines += ["What differs between the runs: " + "; ".join(f"{key}: {' vs '.join(column)}" for key, column in differing.items()) + ".", ""]
    for index, (group, benchmarks) in enumerate(combined.groupby("group", sort=False)):
        first = benchmarks.iloc[0]
        versions = {package: version for entry in benchmarks[benchmarks["run"] == first["run"]]["versions"] for package, version in entry.items()}
        lines += [f"## {group}", "",
                  f"{first['n_in']}-{first['n_hidden']}-{first['n_out']} network, batch {first['batch']}, "
                  f"{first['epochs']} epochs, {first['dtype']}. Versions: "
                  + ", ".join(f"{package} {version}" for package, version in sorted(versions.items())) + ".", ""]
        if len(runs) == 1:
            table = summary(benchmarks)
            lines += [markdown_table(table), "", parity_summary(benchmarks), "",
                      "Median and IQR are over the timed rounds of the whole training loop; compile time (compiled "
                      "implementations only) and the first call are measured once, outside the timed rounds."
                      + (f" ⚠ unreliable: the IQR is over {UNRELIABLE_SPREAD:.0%} of the median; rerun on a quieter "
                         "machine." if (table["spread"] > UNRELIABLE_SPREAD).any() else ""), ""]
        else:
            lines += [side_by_side_table(benchmarks, names), "",
                      f"Median of the timed rounds (IQR as a share of the median; ⚠ above {UNRELIABLE_SPREAD:.0%}). "
                      "For significance, use `backprop-bench compare`.", ""]
        time_figure, loss_figure = f"training_time_{index}.png", f"loss_curves_{index}.png"
        plot_training_time(benchmarks, [name for name in names if name in set(benchmarks["run"])], f"Training time, {group}", out_dir / time_figure)
        plot_loss_curves(benchmarks[benchmarks["run"] == first["run"]], f"Training loss, {group}", out_dir / loss_figure)
        lines += [f"![Training time, {group}]({time_figure})", "", f"![Training loss, {group}]({loss_figure})", ""]
    for run, name in zip(runs, names):
        if len(run.sweep):
            figure = f"sweep_{names.index(name)}.png"
            plot_sweep(run.sweep, run.peak, out_dir / figure)
            peak = (f"The peak is the best float64 {PEAK_NOTE} measured in the same run: "
                    + ", ".join(f"{row.library} {row.flops / row.median / 1e9:.1f} GFLOP/s" for row in run.peak.itertuples()) + "."
                    if len(run.peak) else "The run measured no peak.")
            lines += [f"## Scaling sweep{f' ({name})' if len(runs) > 1 else ''}", "",
                      "Time per epoch against the work of an epoch's matrix products (forward, backward and both "
                      "updates: 2·B·H·(2·inputs + 3·outputs) flop), every point checked against NumPy's result. " + peak, "",
                      f"![Scaling sweep]({figure})", "", crossover_table(run.sweep, run.peak), ""]
        if len(run.probes):
            lines += [f"## Where the time goes{f' ({name})' if len(runs) > 1 else ''}", "",
                      "Pieces of one epoch of the notebook's problem (float64 unless named), timed apart.", "",
                      probes_table(run.probes), ""]
    text = "\n".join(lines)
    markdown = atomic_write_text(out_dir / "report.md", text)
    write_html(markdown, text, lines[0].removeprefix("# "))
    return markdown


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1200px; margin: 2rem auto;
       padding: 0 1rem; color: #1f2328; line-height: 1.5; }}
h1 {{ font-size: 1.6rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }}
h2 {{ font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: .9rem; font-variant-numeric: tabular-nums; }}
th, td {{ border: 1px solid #d0d7de; padding: .3rem .6rem; }}
th {{ background: #f6f8fa; }}
tr:nth-child(even) td {{ background: #fbfcfd; }}
code {{ background: #eff1f3; padding: .1rem .3rem; border-radius: 4px; font-size: .85em; }}
img {{ max-width: 100%; height: auto; display: block; margin: 1rem 0; }}
footer {{ margin-top: 3rem; color: #656d76; font-size: .8rem; }}
</style>
</head>
<body>
{body}
<footer>Made by backprop-bench from <code>{source}</code>; self-contained: the figures are embedded.</footer>
<script>
// lets a test, or a reader's console, check that every figure decoded
window.addEventListener("load", () => {{
  const figures = [...document.images];
  document.body.dataset.figures = figures.length;
  document.body.dataset.figuresLoaded = figures.filter((img) => img.complete && img.naturalWidth > 0).length;
}});
</script>
</body>
</html>
"""


def write_html(markdown_path: Path, text: str, title: str) -> Path:
    """report.html beside report.md: the same content in one file, figures embedded, readable offline."""
    import base64
    import html
    import re

    import markdown

    body = markdown.markdown(text, extensions=["tables"])

    def embed(match: re.Match) -> str:
        figure = markdown_path.parent / html.unescape(match.group(1))
        return f'src="data:image/png;base64,{base64.b64encode(figure.read_bytes()).decode()}"'

    body = re.sub(r'src="([^"]+\.png)"', embed, body)
    page = PAGE.format(title=html.escape(title), body=body, source=html.escape(markdown_path.name))
    return atomic_write_text(markdown_path.with_suffix(".html"), page)
