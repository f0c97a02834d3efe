"""The text `backprop-bench compare` prints: both runs, what differs between them, and a verdict per benchmark."""

from __future__ import annotations

from benchmarks.model.calibration import Calibration
from benchmarks.model.compare import BOOTSTRAP, MANN_WHITNEY, REPLICATES, Comparison, RunComparison
from benchmarks.model.machines import cpu_words
from benchmarks.model.runs import Run

from .formatting import format_bounds, format_seconds


def comparison_lines(result: RunComparison) -> list[str]:
    """Warnings first, then one table per group of benchmarks, then how significance was decided."""
    base, new, comparisons = result.base, result.new, result.benchmarks
    lines = [f"base: {base.path}", f"new:  {new.path}", *different_machines(result)]
    lines += [
        f"warning: {run.path} is from an interrupted run: it holds only the benchmarks that finished"
        for run in result.interrupted
    ]
    if result.measured_differently:
        lines.append(
            "warning: the runs were measured differently; the comparison mixes these with the code's own effect:"
        )
        lines += [f"  {key}: {before} -> {after}" for key, (before, after) in result.measured_differently.items()]
    for group in dict.fromkeys(c.group for c in comparisons):
        interval = " [95% interval]" if any(c.method != REPLICATES for c in comparisons if c.group == group) else ""
        rows = [["implementation", f"base{interval}", f"new{interval}", "ratio [95% CI]", "p-value", "verdict"]]
        # with replicates, each side is the geometric mean of its replicates' medians: their ratio carries the interval
        rows += [
            [
                c.implementation,
                *(
                    time_text(median, None if c.method == REPLICATES else interval, projected)
                    for median, interval, projected in (
                        (c.base_median, c.base_interval, c.projected[0]),
                        (c.new_median, c.new_interval, c.projected[1]),
                    )
                ),
                ratio_text(c),
                f"{c.p_value:.2g}",
                c.verdict + set_aside_text(c),
            ]
            for c in comparisons
            if c.group == group
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        lines += ["", group]
        lines += [
            "  ".join(
                cell.ljust(width) if column in (0, 3, 5) else cell.rjust(width)
                for column, (cell, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            for row in rows
        ]
    lines.append("")
    lines += both_ways(result)
    methods = {c.method for c in comparisons}
    min_change, set_aside = result.min_change, result.set_aside
    if any(projected for c in comparisons for projected in c.projected):
        lines.append(
            "~: projected from the loop timed at shorter lengths (its full length did not fit the run's budget); its "
            "interval is a bootstrap of its fit."
        )
    if REPLICATES in methods:
        counts = sorted({c.replicates for c in comparisons if c.method == REPLICATES})
        lines.append(
            f"With replicates ({', '.join(f'{base} and {new}' for base, new in counts)} fresh processes per "
            "benchmark): base and new are the geometric means of the replicates' medians, and the 95% confidence "
            f"interval of their ratio comes from {REPLICATES} (exact under log-normal noise between processes). "
            f"Significant: the interval excludes 1, and the ratio is {min_change:g}% or more from 1. "
            + (
                f"A replicate more than {set_aside:g}% slower than the fastest of its benchmark in the same run is set "
                "aside as a disturbed process, and counted after the verdict (--set-aside)."
                if set_aside is not None
                else "Every replicate is kept (--set-aside off)."
            )
        )
    if BOOTSTRAP in methods:
        lines.append(
            f"Where a time is projected: the ratio's 95% interval from {BOOTSTRAP}. Significant: the interval excludes "
            f"1, and the ratio is {min_change:g}% or more from 1."
        )
    if MANN_WHITNEY in methods:
        lines.append(
            f"{'Without replicates in both runs' if REPLICATES in methods else 'Without replicates'}: no interval, as "
            f"one process's samples miss the variation between processes. Significant: p < {result.alpha} in a "
            f"two-sided {MANN_WHITNEY} of each benchmark, and medians {min_change:g}% or more apart (asv's rule); "
            "`pytest --benchmark-only --replicates 3` makes runs this command can put an interval on."
        )
    return lines


def both_ways(result: RunComparison) -> list[str]:
    """A warning when benchmarks moved significantly both ways (the machine's speed, more often than the code)."""
    if not result.moved_both_ways:
        return []
    faster, slower = result.faster, result.slower
    fastest, slowest = min(faster, key=lambda c: c.ratio), max(slower, key=lambda c: c.ratio)
    return [
        f"warning: {len(faster)} benchmark{'s' * (len(faster) > 1)} significantly faster (up to "
        f"{1 - fastest.ratio:.0%}, {fastest.implementation}) and {len(slower)} slower (up to {slowest.ratio - 1:.0%}, "
        f"{slowest.implementation}): benchmarks moving both ways often mean the machine's speed changed between the "
        "runs or within them; `backprop-bench calibrate` on runs of identical code tells how far to trust a gate on "
        "this machine, and runs with --replicates let it tell noise from the code",
        "",
    ]


def set_aside_text(comparison: Comparison) -> str:
    """How many replicates of each run were set aside as disturbed, where any were."""
    base, new = comparison.set_aside
    if not base and not new:
        return ""
    return (
        f" ({base} of {comparison.replicates[0]} base and {new} of {comparison.replicates[1]} new replicates set aside)"
    )


def time_text(median: float, interval: tuple[float, float] | None, projected: bool) -> str:
    """A median with its 95% interval where it has one of its own, marked ~ where it is a projection: 42.6 ms [42.2,
    43.0 ms]."""
    return f"{'~' if projected else ''}{format_seconds(median)}" + (
        f" [{format_bounds(*interval, median)}]" if interval else ""
    )


def ratio_text(comparison: Comparison) -> str:
    """The ratio, with its confidence interval where it has one: 1.03× [0.98, 1.08]."""
    if comparison.interval is None:
        return f"{comparison.ratio:.3f}×"
    low, high = comparison.interval
    return f"{comparison.ratio:.2f}× [{low:.2f}, {high:.2f}]"


def different_machines(result: RunComparison) -> list[str]:
    """The first warning when the runs come from different machines: what changed, the CPU first."""
    if not result.machine_changes:
        return []
    return [
        f"warning: different machines (fingerprint {result.base.fingerprint['id']} -> {result.new.fingerprint['id']}): "
        "the ratios measure the machines as much as the code:",
        *(f"  {change}" for change in result.machine_changes),
    ]


def failure_lines(result: RunComparison) -> list[str]:
    """One line per benchmark significantly slower than the gate allows."""
    return [
        f"FAIL: {c.implementation} ({c.group}) is {c.ratio - 1:.1%} slower, significantly, above the "
        f"{result.fail_above:g}% allowed"
        for c in result.regressions
    ]


def calibration_lines(calibration: Calibration, run: Run, fail_above: float) -> list[str]:
    """The gate's false alarms and detections, in all and per benchmark, as `backprop-bench calibrate` prints them."""
    c = calibration
    measured = (
        f"{c.replicates} replicate processes per benchmark" if c.replicates else "one process per run (no replicates)"
    )
    lines = [
        f"`compare --fail-above {fail_above:g}` on {c.runs} runs of identical code from one machine "
        f"({run.fingerprint['id']}: {cpu_words(run.fingerprint)}), {measured}: {c.pairs} ordered pairs of "
        f"{c.benchmarks} benchmarks",
        f"false alarms: {c.false_alarm_pairs} of {c.pairs} pairs failed the gate ({c.false_alarm_rate:.1%}); "
        f"{sum(c.false_alarms.values())} of {c.pairs * c.benchmarks} benchmarks called slower "
        f"({c.per_benchmark_false_alarm_rate:.1%})",
    ]
    lines += [
        f"{slowdown:g}% slowdown of one benchmark: caught {sum(caught.values())} of {c.pairs * c.benchmarks} "
        f"({c.detection_rate(slowdown):.1%})"
        for slowdown, caught in c.caught.items()
    ]
    names = [f"{name} ({group})" for group, name in c.false_alarms]
    width = max(len("benchmark"), *map(len, names))
    lines += [
        "",
        f"{'benchmark':<{width}}  {'false alarms':>12}"
        + "".join(f"  {f'{slowdown:g}% caught':>10}" for slowdown in c.caught),
    ]
    for label, benchmark in zip(names, c.false_alarms, strict=True):
        lines.append(
            f"{label:<{width}}  {c.false_alarms[benchmark] / c.pairs:>12.1%}"
            + "".join(f"  {caught[benchmark] / c.pairs:>10.1%}" for caught in c.caught.values())
        )
    lines += [
        "",
        "A slowdown is injected by scaling every timing of one benchmark of the second run of a pair (its samples, "
        "median and replicate medians): real noise, a known change. The pairs share runs, so they are not independent "
        "trials.",
    ]
    return lines
