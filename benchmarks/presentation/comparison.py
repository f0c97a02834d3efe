"""The text `backprop-bench compare` prints: both runs, what differs between them, and a verdict per benchmark."""

from __future__ import annotations

from benchmarks.model.compare import Comparison
from benchmarks.model.machines import machine_changes
from benchmarks.model.runs import Run, differences

from .formatting import format_seconds


def comparison_lines(base: Run, new: Run, comparisons: list[Comparison], alpha: float, min_change: float) -> list[str]:
    """Warnings first, then one table per group of benchmarks, then how significance was decided."""
    lines = [f"base: {base.path}", f"new:  {new.path}", *different_machines(base, new)]
    for run in (base, new):
        if run.machine_info.get("interrupted"):
            lines.append(f"warning: {run.path} is from an interrupted run: it holds only the benchmarks that finished")
    differing = {key: column for key, column in differences([base, new]).items() if key not in MACHINE_KEYS}
    if differing:
        lines.append("warning: the runs were measured differently; the comparison mixes these with the code's own effect:")
        lines += [f"  {key}: {before} -> {after}" for key, (before, after) in differing.items()]
    width = max(14, *(len(c.implementation) for c in comparisons))
    for group in dict.fromkeys(c.group for c in comparisons):
        lines += ["", group, f"{'implementation':<{width}}  {'base':>10}  {'new':>10}  {'ratio':>7}  {'p-value':>8}  verdict"]
        lines += [f"{c.implementation:<{width}}  {format_seconds(c.base_median):>10}  {format_seconds(c.new_median):>10}"
                  f"  {c.ratio:>6.3f}×  {c.p_value:>8.2g}  {c.verdict}" for c in comparisons if c.group == group]
    lines += ["", f"Significant: p < {alpha} in a two-sided Mann-Whitney U test on the raw samples of each benchmark, "
                  f"and medians {min_change:g}% or more apart (asv's rule)."]
    return lines


MACHINE_KEYS = ("CPU", "machine id")  # what different_machines says in full


def different_machines(base: Run, new: Run) -> list[str]:
    """The first warning when the runs come from different machines: what changed, the CPU first."""
    changes = machine_changes(base.fingerprint, new.fingerprint)
    if not changes:
        return []
    return [f"warning: different machines (fingerprint {base.fingerprint['id']} -> {new.fingerprint['id']}): "
            "the ratios measure the machines as much as the code:", *(f"  {change}" for change in changes)]


def failure_lines(slower: list[Comparison], fail_above: float) -> list[str]:
    """One line per benchmark significantly slower than allowed."""
    return [f"FAIL: {c.implementation} ({c.group}) is {c.ratio - 1:.1%} slower, significantly, above the {fail_above:g}% allowed"
            for c in slower]
