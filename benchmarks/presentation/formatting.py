"""How numbers and implementations look in every table and figure: durations, ratios, spreads and colours."""

from __future__ import annotations

import math

from implementations.registry import REGISTRY

UNRELIABLE_SPREAD = 0.10  # IQR / median above this marks a benchmark unreliable, as torch.utils.benchmark warns
# matplotlib's "tab10" palette, then the light shades of "tab20", written out so that text-only commands need
# not import matplotlib: twenty implementations get twenty colours
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
    "#dbdb8d",
    "#9edae5",
)


ALIGNMENTS = {"l": "---", "r": "---:", "c": ":---:"}


def markdown_table(header: list[str], rows, align: str) -> str:
    """A GitHub markdown table: the header, then each row's cells; `align` has one letter per column, l, r or c."""
    if len(align) != len(header):
        raise ValueError(f"{len(header)} columns but {len(align)} alignments")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(ALIGNMENTS[letter] for letter in align) + "|"]
    for cells in rows:
        cells = [str(cell) for cell in cells]
        if len(cells) != len(header):
            raise ValueError(f"a row of {len(cells)} cells in a table of {len(header)} columns")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_seconds(seconds: float) -> str:
    """A duration with a unit that keeps 3 significant digits readable."""
    if seconds != seconds:  # NaN: not measured
        return "–"
    if seconds >= 1000:
        return f"{seconds:,.0f} s"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(seconds) >= scale or unit == "ns":
            return f"{seconds / scale:.3g} {unit}"
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """A session's length as a reader says it: 48 s, 4 min 25 s, 1 h 2 min."""
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def format_median(median: float, projected: bool) -> str:
    """A loop's time, labelled where it is a projection from shorter lengths rather than a measurement: 79.2 s
    (projected)."""
    return format_seconds(median) + (" (projected)" if projected else "")


def format_bounds(low: float, high: float, like: float) -> str:
    """An interval's bounds in the unit `like` is written in: "42.2, 43.0" for a median of 42.6 ms."""
    if like != like or low != low:
        return "–"
    unit = format_seconds(like).split()[-1]
    scale = {"s": 1, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}[unit]
    digits = max(0, 2 - math.floor(math.log10(max(abs(like) / scale, 1e-300))))
    return f"{low / scale:.{digits}f}, {high / scale:.{digits}f} {unit}"


def format_interval(median: float, low: float, high: float, coverage: float, projected: bool = False) -> str:
    """A median's interval, in the median's unit, with its coverage: "42.2, 43.0 ms (95.7%)"; a projection's is a
    bootstrap's."""
    if low != low:
        return "–"
    return f"{format_bounds(low, high, median)} ({coverage:.1%}{', bootstrap' if projected else ''})"


def format_bytes(count: float | None) -> str:
    """A size in bytes with a binary unit, 3 significant digits ("–": not measured)."""
    if count is None or count != count:
        return "–"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return (
                f"{count / scale:.3g} {unit}"
                if count < 1000 * scale or unit == "GiB"
                else f"{count / scale:.0f} {unit}"
            )
    return f"{count:.0f} B"


def format_ratio(ratio: float) -> str:
    """A ratio with 3 significant digits, without exponents."""
    if ratio != ratio:
        return "–"
    if ratio >= 1000:
        return f"{ratio:,.0f}×"
    return f"{ratio:.3g}×" if ratio >= 0.01 else f"{ratio:.2g}×"


def is_unreliable(iqr: float, median: float) -> bool:
    """Whether the timed rounds spread too much for their median to be trusted."""
    return iqr / median > UNRELIABLE_SPREAD


def format_spread(iqr: float, median: float, warning: str = "⚠ unreliable") -> str:
    """The IQR as a share of the median, with a warning when it is over UNRELIABLE_SPREAD."""
    return f"{iqr / median:.1%}" + (f", {warning}" if is_unreliable(iqr, median) else "")


def palette_color(index: int) -> str:
    """The index-th colour of the palette, cycling."""
    return PALETTE[index % len(PALETTE)]


def color_of(name: str) -> str:
    """One colour per implementation, the same in every figure and every report."""
    return palette_color(palette_index(name))


def line_style_of(name: str) -> str:
    """Solid for the first round of the palette's colours, then dashed, then dotted: no two registered lines look
    alike."""
    return ("-", "--", ":")[palette_index(name) // len(PALETTE) % 3]


def palette_index(name: str) -> int:
    """An implementation's place in the registry, or past it for one no longer registered."""
    names = list(REGISTRY)
    return names.index(name) if name in names else len(names) + sum(map(ord, name))
