"""The parity report: parity.md with the pairwise table, a heatmap of the differences, and the per-epoch loss gaps."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm

from benchmarks.model.files import atomic_write_text, outputs_in
from benchmarks.model.parity import Parity
from implementations.problem import RESULT_FIELDS
from implementations.registry import REFERENCE

from .figures import plt, save_figure
from .formatting import color_of, markdown_table


def parity_table(parity: Parity) -> str:
    """The pairwise table, largest differences first."""
    rows = (
        [
            f"`{row.first}` – `{row.second}`",
            *(f"{getattr(row, name):.1e}" for name in RESULT_FIELDS),
            f"{row.largest:.1e}",
            f"{row.allowed:.1e}",
            "✅" if row.passes else "❌ FAIL",
        ]
        for row in parity.pairs.sort_values("largest", ascending=False).itertuples()
    )
    return markdown_table(
        ["pair", *RESULT_FIELDS, "largest", "allowed", "within"], rows, "l" + "r" * (len(RESULT_FIELDS) + 2) + "c"
    )


def not_exact_lines(parity: Parity) -> list[str]:
    """The implementations declared not float64-exact, each with its measured cause, as a list."""
    if not parity.not_exact:
        return []
    return [
        "Not float64-exact, and why:",
        "",
        *(f"- `{name}`: {cause}" for name, cause in parity.not_exact.items()),
        "",
    ]


def plot_heatmap(parity: Parity, path: Path) -> None:
    """Largest difference between every pair, on a log colour scale, tolerance marked in the colour bar."""
    names = list(parity.results)
    grid = np.full((len(names), len(names)), np.nan)
    allowed = np.full_like(grid, parity.tolerance)
    for row in parity.pairs.itertuples():
        i, j = names.index(row.first), names.index(row.second)
        grid[i, j] = grid[j, i] = max(row.largest, 1e-18)
        allowed[i, j] = allowed[j, i] = row.allowed
    fig, ax = plt.subplots(figsize=(1.2 + 0.75 * len(names), 0.8 + 0.7 * len(names)), layout="constrained")
    image = ax.imshow(grid, cmap="viridis", norm=LogNorm(vmin=1e-18, vmax=max(parity.tolerance * 10, np.nanmax(grid))))
    for i, j in itertools.product(range(len(names)), repeat=2):
        if i != j:
            value = grid[i, j]
            ax.text(
                j,
                i,
                "0" if value <= 1e-18 else f"{value:.0e}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value <= allowed[i, j] else "red",
            )
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    bar = fig.colorbar(image, ax=ax, label="largest absolute difference")
    bar.ax.axhline(parity.tolerance, color="red", linewidth=2)
    if parity.not_exact:
        bar.ax.axhline(parity.own_bound, color="darkorange", linewidth=2)
    ax.set_title(
        f"Largest difference between implementations\n(red line: tolerance {parity.tolerance:.0e})", fontsize=10
    )
    save_figure(fig, path)


def plot_loss_differences(parity: Parity, path: Path) -> None:
    """|loss - NumPy's loss| at every epoch, log scale, one line per implementation."""
    reference = parity.reference
    floor = 1e-18
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    for name, result in parity.results.items():
        if result is reference:
            continue
        gap = np.abs(result.loss_history.astype(np.float64) - reference.loss_history.astype(np.float64))
        ax.plot(
            np.arange(len(gap)), np.maximum(gap, floor), color=color_of(name), linewidth=1.2, alpha=0.85, label=name
        )
    ax.axhline(parity.tolerance, color="red", linestyle="--", label=f"tolerance {parity.tolerance:.0e}")
    if parity.not_exact:
        ax.axhline(
            parity.own_bound,
            color="darkorange",
            linestyle=":",
            label=f"bound when not float64-exact {parity.own_bound:.0e}",
        )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"|loss − {REFERENCE} loss| (exact zeros drawn at {floor:.0e})")
    ax.set_title("Per-epoch loss difference from NumPy")
    ax.grid(which="major", alpha=0.3)
    ax.legend(fontsize=8, ncols=2)
    save_figure(fig, path)


def write_parity_report(parity: Parity, source: str, out_dir: Path) -> Path:
    """parity.md with the table and both figures, all of them or none."""
    with outputs_in(out_dir) as staging:
        written = write_parity_files(parity, source, staging)
    return out_dir / written.name


def write_parity_files(parity: Parity, source: str, out_dir: Path) -> Path:
    """parity.md and its figures in out_dir."""
    plot_heatmap(parity, out_dir / "parity_heatmap.png")
    plot_loss_differences(parity, out_dir / "loss_differences.png")
    sizes = parity.problem.sizes
    verdict = "PASS: every pair agrees within" if parity.passes else "FAIL: some pairs differ by more than"
    lines = [
        "# backprop-bench parity",
        "",
        f"Problem: {source}; {sizes['n_in']}-{sizes['n_hidden']}-{sizes['n_out']} network, batch {sizes['batch']}, "
        f"{parity.problem.epochs} epochs, learning rate {parity.problem.learning_rate:g}, {parity.problem.dtype}.",
        "",
        f"**{verdict} the tolerance {parity.tolerance:.1e}** (largest absolute difference, per field, between every "
        "pair of implementations: final weights, final outputs, and the loss of every epoch)"
        + (
            ", and pairs with an implementation that is not float64-exact within its own bound, float32's drift bound "
            f"{parity.own_bound:.1e}."
            if parity.not_exact
            else "."
        ),
        "",
        *not_exact_lines(parity),
        parity_table(parity),
        "",
        "![Largest difference between every pair](parity_heatmap.png)",
        "",
        "![Per-epoch loss difference from NumPy](loss_differences.png)",
        "",
    ]
    return atomic_write_text(out_dir / "parity.md", "\n".join(lines))
