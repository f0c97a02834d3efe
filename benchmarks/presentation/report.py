"""A report of saved runs: report.md and report.html with their figures, one run or several side by side."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.model.files import atomic_write_text, outputs_in
from benchmarks.model.machines import cpu_words, machine_changes
from benchmarks.model.runs import Run, differences, labels
from benchmarks.model.time_to_result import time_to_result

from .figures import plot_loss_curves, plot_training_time
from .formatting import UNRELIABLE_SPREAD, markdown_table
from .html_page import write_html
from .sweep_report import sweep_section
from .tables import (
    environment_table,
    fairness_table,
    layers_table,
    parity_summary,
    probes_table,
    projections_table,
    runs_table,
    side_by_side_table,
    summary,
    summary_table,
    time_to_result_table,
    variants_legend,
)
from .tidy import write_csv


def machine_warning(runs: list[Run], names: list[str]) -> list[str]:
    """The first warning of a report of runs from different machines: what changed from the first run's, the CPU
    first."""
    first = runs[0].fingerprint
    changed = [
        f"- {name} ({run.fingerprint['id']}): " + "; ".join(changes)
        for run, name in zip(runs[1:], names[1:], strict=True)
        if (changes := machine_changes(first, run.fingerprint))
    ]
    if not changed:
        return []
    return [
        f"⚠ **Different machines**: the ratios measure the machines as much as the code. Changes from {names[0]}'s "
        f"machine ({first['id']}):",
        "",
        *changed,
        "",
    ]


def single_run_title(run: Run) -> str:
    """A title a person reads: what was trained, how many implementations, on which CPU, when."""
    cpu = run.fingerprint.get("microarchitecture") or cpu_words(run.fingerprint)
    vendor = cpu_words(run.fingerprint).split()[0]
    machine = f"{vendor} {cpu}" if run.fingerprint.get("microarchitecture") else cpu
    when = run.datetime[:10]
    if len(run.benchmarks):
        first = run.benchmarks.iloc[0]
        source = (
            "the notebook's"
            if str(first["group"]).startswith("notebook")
            else f"{str(first['group']).split(',')[0].removeprefix('problem ')}'s"
        )
        what = (
            f"Training {source} {first['n_in']}-{first['n_hidden']}-{first['n_out']} network for {first['epochs']:,} "
            "epochs"
        )
        count = run.benchmarks["implementation"].nunique()
    else:
        what, count = "How cost grows with work: the scaling sweep", run.sweep["implementation"].nunique()
    return f"{what}: {count} implementations on {machine}, {when}"


def failed_lines(run: Run, name: str | None = None) -> list[str]:
    """The benchmarks of a run that failed (a child process killed or past its limit, a check that failed), each with
    why: rows the tables below do not have."""
    failed = run.machine_info.get("failed") or {}
    if not failed:
        return []
    rows = [[f"`{benchmark}`", why.replace("|", "\\|")] for benchmark, why in sorted(failed.items())]
    return [
        f"**Failed{f' ({name})' if name else ''}**: {len(failed)} benchmark{'s' * (len(failed) > 1)} of this run have "
        "no result, and why:",
        "",
        markdown_table(["benchmark", "why it failed"], rows, "ll"),
        "",
    ]


def unavailable_lines(run: Run, name: str | None = None) -> list[str]:
    """The implementations that could not run on the run's machine (a framework or a program missing), each with why:
    rows no table below has."""
    missing = run.machine_info.get("unavailable") or {}
    if not missing:
        return []
    rows = [[f"`{implementation}`", why.replace("|", "\\|")] for implementation, why in missing.items()]
    return [
        f"**Not run{f' ({name})' if name else ''}**: {len(missing)} implementation{'s' * (len(missing) > 1)} could not "
        "run on this machine, and why:",
        "",
        markdown_table(["implementation", "why not"], rows, "ll"),
        "",
    ]


def run_line(run: Run) -> str:
    """Under the title: which run, its budget and how it was measured."""
    info = run.machine_info
    budget = info.get("budget", {})
    measured = (
        f"the {budget['name']} budget ({budget['rule'].split(': ', 1)[-1]})"
        if budget.get("rule")
        else "before budgets (pytest-benchmark's rounds)"
    )
    replicates = f", {info['replicates']['count']} replicates" if info.get("replicates") else ""
    threads = info.get("threads", {}).get("requested", "?")
    return (
        f"Run `{run.label}` (`{run.path}`), saved {run.datetime[:16].replace('T', ' ')}, timed under {measured}; "
        f"{info.get('process_mode', '?')} process mode{replicates}, {threads} thread{'s' * (threads != 1)}. The "
        "machine, the versions and each implementation's fairness card are at the end."
    )


def group_section(
    benchmarks: pd.DataFrame, group: str, index: int, names: list[str], out_dir: Path, single: bool
) -> list[str]:
    """One group of benchmarks (a problem in one dtype): the figure and the ranking first, then how they were timed,
    time to result and the loss curves."""
    first = benchmarks.iloc[0]
    versions = {
        package: version
        for entry in benchmarks[benchmarks["run"] == first["run"]]["versions"]
        for package, version in entry.items()
    }
    time_figure, loss_figure = f"training_time_{index}.png", f"loss_curves_{index}.png"
    plot_training_time(
        benchmarks,
        [name for name in names if name in set(benchmarks["run"])],
        f"Training time, {group}",
        out_dir / time_figure,
    )
    recorded = benchmarks[(benchmarks["run"] == first["run"]) & benchmarks["loss_history"].notna()]
    if len(recorded):
        plot_loss_curves(recorded, f"Training loss, {group}", out_dir / loss_figure)
    lines = [f"## {group}", "", f"![Training time, {group}]({time_figure})", ""]
    if not single:
        return lines + [
            side_by_side_table(benchmarks, names),
            "",
            f"Median of the timed calls (IQR as a share of the median; ⚠ above {UNRELIABLE_SPREAD:.0%}); a projected "
            "loop's time comes from its fit. For significance, use `backprop-bench compare`.",
            "",
        ]
    table = summary(benchmarks)
    lines += [
        summary_table(table),
        "",
        f"{first['n_in']}-{first['n_hidden']}-{first['n_out']} network, batch {first['batch']}, {first['epochs']:,} "
        f"epochs, {first['dtype']}; "
        + ", ".join(f"{package} {version}" for package, version in sorted(versions.items()))
        + ". Fastest "
        "first: the median of the timed calls of the whole training loop with its 95% interval: "
        "from the samples' order statistics (its exact coverage in brackets), or, for a loop **projected** from "
        "timings at "
        "shorter lengths, a bootstrap of its fit (below). Compile time (compiled implementations only) and the first "
        "call's "
        "extra (one-time work, from a first call at a few epochs) are measured once, outside the timed calls. Peak "
        "memory: "
        "how far the process's resident set rose while the loop ran, every framework's allocations counted."
        + (
            f" ⚠ unreliable: the IQR is over {UNRELIABLE_SPREAD:.0%} of the median; rerun on a quieter machine."
            if (table["spread"] > UNRELIABLE_SPREAD).any()
            else ""
        ),
        "",
    ]
    if layers := layers_table(benchmarks):
        lines += [
            f"### What a framework's layers cost, {group}",
            "",
            "Each framework with several rows: its raw autodiff, the nn + optimizer idiom most code is written in, "
            "its compiled forms and the libraries built on it, on the same run, against the framework's fastest.",
            "",
            layers,
            "",
        ]
    if projections := projections_table(benchmarks):
        lines += [
            f"### Timed per epoch, {group}",
            "",
            "A loop whose calls at full length would not fit the budget is timed at a few shorter lengths, "
            "interleaved, and a line time = fixed + per epoch × epochs is fitted through the median time of each "
            "length; its full-length time is the line's value there, a projection (bootstrap intervals: the timings "
            "resampled within each length)."
            + (
                " Under --rigorous the same loops were also measured at their full length: the last columns say how "
                "far each projection fell."
                if "projection off by" in projections
                else ""
            ),
            "",
            projections,
            "",
        ]
    if group.startswith("notebook problem") and len(time_to_result(benchmarks)):
        lines += [
            f"### Time to result, {group}",
            "",
            "What a user waits for from a fresh interpreter: importing the implementation (its framework with it, in "
            "a fresh process), preparing and compiling the loop, the first call's one-time extra, then the epochs at "
            "the loop's timed rate (10 and 100,000 epochs extrapolated; a projected loop's from its fit). The "
            "shortest wait of each column is in bold.",
            "",
            time_to_result_table(benchmarks),
            "",
        ]
    return (
        lines
        + ([f"![Training loss, {group}]({loss_figure})", ""] if len(recorded) else [])
        + [parity_summary(benchmarks), ""]
    )


def write_report(runs: list[Run], out_dir: Path) -> Path:
    """Write report.md and its figures into out_dir, one run or several side by side, all of them or none; return the
    markdown file."""
    with outputs_in(out_dir) as staging:
        written = write_report_files(runs, staging)
    return out_dir / written.name


def write_report_files(runs: list[Run], out_dir: Path) -> Path:
    """The report's files in out_dir. A single run's report opens with the answer: a title saying what ran where, the
    figure and the ranking; the machine, the fairness cards and the details after."""
    names = labels(runs)
    single = len(runs) == 1
    combined = pd.concat(
        [run.benchmarks.assign(run=name) for run, name in zip(runs, names, strict=True)], ignore_index=True
    )
    if single:
        (run,) = runs
        title = single_run_title(run)
        lines = [f"# {title}", "", run_line(run), "", *failed_lines(run), *unavailable_lines(run)]
    else:
        title = f"backprop-bench: {len(runs)} runs side by side"
        lines = [f"# {title}", "", runs_table(runs, names), "", *machine_warning(runs, names)]
        lines += [
            line
            for run, name in zip(runs, names, strict=True)
            for line in [*failed_lines(run, name), *unavailable_lines(run, name)]
        ]
        differing = differences(runs)
        what = (
            "; ".join(f"{key}: {' vs '.join(column)}" for key, column in differing.items())
            or "nothing recorded but the file"
        )
        lines += [f"What differs between the runs: {what}.", ""]
    for index, (group, benchmarks) in enumerate(combined.groupby("group", sort=False)):
        lines += group_section(benchmarks, group, index, names, out_dir, single)
    for run, name in zip(runs, names, strict=True):
        if len(run.sweep):
            heading = f"## Scaling sweep{f' ({name})' if len(runs) > 1 else ''}"
            lines += sweep_section(run, heading, f"sweep_{names.index(name)}.png", out_dir)
        if len(run.probes):
            lines += [
                f"## Where the time goes{f' ({name})' if len(runs) > 1 else ''}",
                "",
                "Pieces of one epoch of the notebook's problem (float64 unless named), timed apart.",
                "",
                probes_table(run.probes),
                "",
            ]
    if single and len(run.benchmarks):
        if {"card", "dtype_computed"} <= set(run.benchmarks.columns):
            lines += ["## Fairness", "", fairness_table(run.benchmarks), ""]
        lines += ["## Implementations", "", variants_legend(run.benchmarks), ""]
    if single:
        lines += ["## Measured on", "", environment_table(run), ""]
    write_csv(runs, names, out_dir / "report.csv")
    lines += [
        "Every benchmark of this report as one row (implementation, dtype, sizes, median and its interval, IQR, how "
        "it was timed, replicates, machine id): [report.csv](report.csv).",
        "",
    ]
    text = "\n".join(lines)
    markdown = atomic_write_text(out_dir / "report.md", text)
    write_html(markdown, text, title)
    return markdown
