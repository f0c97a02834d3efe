"""A report of saved runs: report.md and report.html with their figures, one run or several side by side."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.model.files import atomic_write_text
from benchmarks.model.machines import machine_changes
from benchmarks.model.runs import Run, differences, labels
from benchmarks.model.time_to_result import time_to_result

from .figures import plot_loss_curves, plot_training_time
from .formatting import UNRELIABLE_SPREAD
from .html_page import write_html
from .sweep_report import sweep_section
from .tables import (
    environment_table,
    fairness_table,
    markdown_table,
    parity_summary,
    probes_table,
    runs_table,
    side_by_side_table,
    summary,
    time_to_result_table,
    variants_legend,
)
from .tidy import write_csv


def machine_warning(runs: list[Run], names: list[str]) -> list[str]:
    """The first warning of a report of runs from different machines: what changed from the first run's, the CPU first."""
    first = runs[0].fingerprint
    changed = [f"- {name} ({run.fingerprint['id']}): " + "; ".join(changes) for run, name in zip(runs[1:], names[1:], strict=True)
               if (changes := machine_changes(first, run.fingerprint))]
    if not changed:
        return []
    return [f"⚠ **Different machines**: the ratios measure the machines as much as the code. Changes from {names[0]}'s "
            f"machine ({first['id']}):", "", *changed, ""]


def write_report(runs: list[Run], out_dir: Path) -> Path:
    """Write report.md and its figures into out_dir, one run or several side by side; return the markdown file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = labels(runs)
    combined = pd.concat([run.benchmarks.assign(run=name) for run, name in zip(runs, names, strict=True)], ignore_index=True)
    if len(runs) == 1:
        (run,) = runs
        lines = [f"# backprop-bench: {run.label}", "", f"Saved {run.datetime} from `{run.path}`.", "",
                 environment_table(run), ""]
        if len(run.benchmarks):
            lines += ["Implementations:", "", variants_legend(run.benchmarks), ""]
        if {"card", "dtype_computed"} <= set(run.benchmarks.columns):
            lines += ["## Fairness", "", fairness_table(run.benchmarks), ""]
    else:
        lines = [f"# backprop-bench: {len(runs)} runs side by side", "", runs_table(runs, names), ""]
        lines += machine_warning(runs, names)
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
                      "implementations only) and the first call are measured once, outside the timed rounds. Peak "
                      "memory: how far the process's resident set rose, from after prepare() through the first call and "
                      "the timed rounds, every framework's allocations counted (the kernel's high-water mark, reset)."
                      + (f" ⚠ unreliable: the IQR is over {UNRELIABLE_SPREAD:.0%} of the median; rerun on a quieter "
                         "machine." if (table["spread"] > UNRELIABLE_SPREAD).any() else "")
                      + (" (slow loop): timed in fewer rounds than pytest-benchmark's minimum, at least 5, to keep the "
                         "run's length reasonable." if table["few_rounds"].any() else ""), ""]
        else:
            lines += [side_by_side_table(benchmarks, names), "",
                      f"Median of the timed rounds (IQR as a share of the median; ⚠ above {UNRELIABLE_SPREAD:.0%}). "
                      "For significance, use `backprop-bench compare`.", ""]
        if len(runs) == 1 and group.startswith("notebook problem") and len(time_to_result(benchmarks)):
            lines += [f"### Time to result, {group}", "",
                      "What a user waits for from a fresh interpreter: importing the implementation (its framework "
                      "with it, in a fresh process), preparing and compiling the loop, the first call's one-time extra, "
                      "then the epochs at the timed rate per epoch (10 and 100,000 epochs extrapolated from the timed "
                      f"{first['epochs']:,}). The shortest wait of each column is in bold.", "",
                      time_to_result_table(benchmarks), ""]
        time_figure, loss_figure = f"training_time_{index}.png", f"loss_curves_{index}.png"
        plot_training_time(benchmarks, [name for name in names if name in set(benchmarks["run"])], f"Training time, {group}", out_dir / time_figure)
        plot_loss_curves(benchmarks[benchmarks["run"] == first["run"]], f"Training loss, {group}", out_dir / loss_figure)
        lines += [f"![Training time, {group}]({time_figure})", "", f"![Training loss, {group}]({loss_figure})", ""]
    for run, name in zip(runs, names, strict=True):
        if len(run.sweep):
            heading = f"## Scaling sweep{f' ({name})' if len(runs) > 1 else ''}"
            lines += sweep_section(run, heading, f"sweep_{names.index(name)}.png", out_dir)
        if len(run.probes):
            lines += [f"## Where the time goes{f' ({name})' if len(runs) > 1 else ''}", "",
                      "Pieces of one epoch of the notebook's problem (float64 unless named), timed apart.", "",
                      probes_table(run.probes), ""]
    write_csv(runs, names, out_dir / "report.csv")
    lines += ["Every benchmark of this report as one row (implementation, dtype, sizes, median, IQR, replicates, machine id): "
              "[report.csv](report.csv).", ""]
    text = "\n".join(lines)
    markdown = atomic_write_text(out_dir / "report.md", text)
    write_html(markdown, text, lines[0].removeprefix("# "))
    return markdown
