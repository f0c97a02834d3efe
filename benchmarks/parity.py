"""Numerical parity of every implementation on one problem: pairwise differences, a heatmap, and the loss gaps."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from implementations import Problem, TrainResult, get
from implementations.problem import float32_drift_bound

from .files import atomic_write_text, save_figure

FIELDS = ("weights_hidden", "weights_output", "final_output", "loss_history")
FLOAT64_TOLERANCE = 1e-12
REFERENCE = "numpy"


def default_tolerance(problem: Problem, exact: TrainResult) -> float:
    """1e-12 in float64; in float32, the worst case of rounding every weight once per epoch."""
    if problem.dtype == "float64":
        return FLOAT64_TOLERANCE
    return float32_drift_bound(problem.epochs, max(np.max(np.abs(exact.weights_hidden)), np.max(np.abs(exact.weights_output))))


@dataclass(frozen=True)
class Parity:
    """Every implementation's result on one problem, and how far apart they are."""

    problem: Problem
    results: dict[str, TrainResult]
    tolerance: float

    @property
    def pairs(self) -> pd.DataFrame:
        """One row per pair: the largest absolute difference in each field, the largest of those, and the verdict."""
        rows = []
        for first, second in itertools.combinations(self.results, 2):
            a, b = self.results[first], self.results[second]
            row = {"first": first, "second": second}
            row |= {field: float(np.max(np.abs(getattr(a, field) - getattr(b, field)))) for field in FIELDS}
            rows.append(row)
        table = pd.DataFrame(rows, columns=["first", "second", *FIELDS])
        table["largest"] = table[list(FIELDS)].max(axis=1)
        table["passes"] = table["largest"] <= self.tolerance
        return table

    @property
    def passes(self) -> bool:
        return bool(self.pairs["passes"].all())


def reference_of(results: dict[str, TrainResult]) -> TrainResult:
    """NumPy's result, or the first implementation's when NumPy was not among them."""
    return results.get(REFERENCE) or next(iter(results.values()))


def check_parity(problem: Problem, names: list[str], tolerance: float | None = None) -> Parity:
    """Train every named implementation on the problem (raises Diverged if one blows up) and compare them."""
    results = {name: get(name).train(problem) for name in names}
    return Parity(problem, results, tolerance if tolerance is not None else default_tolerance(problem, reference_of(results)))


def markdown_table(parity: Parity) -> str:
    """The pairwise table, largest differences first."""
    lines = ["| pair | weights_hidden | weights_output | final_output | loss_history | largest | within tolerance |",
             "|---|---:|---:|---:|---:|---:|:---:|"]
    for row in parity.pairs.sort_values("largest", ascending=False).itertuples():
        cells = [f"{getattr(row, field):.1e}" for field in FIELDS]
        lines.append(f"| `{row.first}` – `{row.second}` | {' | '.join(cells)} | {row.largest:.1e} | {'✅' if row.passes else '❌ FAIL'} |")
    return "\n".join(lines)


def plot_heatmap(parity: Parity, path: Path) -> None:
    """Largest difference between every pair, on a log colour scale, tolerance marked in the colour bar."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    names = list(parity.results)
    grid = np.full((len(names), len(names)), np.nan)
    for row in parity.pairs.itertuples():
        i, j = names.index(row.first), names.index(row.second)
        grid[i, j] = grid[j, i] = max(row.largest, 1e-18)
    fig, ax = plt.subplots(figsize=(1.2 + 0.75 * len(names), 0.8 + 0.7 * len(names)), layout="constrained")
    image = ax.imshow(grid, cmap="viridis", norm=LogNorm(vmin=1e-18, vmax=max(parity.tolerance * 10, np.nanmax(grid))))
    for i, j in itertools.product(range(len(names)), repeat=2):
        if i != j:
            value = grid[i, j]
            ax.text(j, i, "0" if value <= 1e-18 else f"{value:.0e}", ha="center", va="center", fontsize=7,
                    color="white" if value < parity.tolerance else "red")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    bar = fig.colorbar(image, ax=ax, label="largest absolute difference")
    bar.ax.axhline(parity.tolerance, color="red", linewidth=2)
    ax.set_title(f"Largest difference between implementations\n(red line: tolerance {parity.tolerance:.0e})", fontsize=10)
    save_figure(fig, path)
    plt.close(fig)


def plot_loss_differences(parity: Parity, path: Path) -> None:
    """|loss - NumPy's loss| at every epoch, log scale, one line per implementation."""
    import matplotlib.pyplot as plt

    from .report import color_of

    reference = reference_of(parity.results)
    floor = 1e-18
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    for name, result in parity.results.items():
        if result is reference:
            continue
        gap = np.abs(result.loss_history.astype(np.float64) - reference.loss_history.astype(np.float64))
        ax.plot(np.arange(len(gap)), np.maximum(gap, floor), color=color_of(name), linewidth=1.2, alpha=0.85, label=name)
    ax.axhline(parity.tolerance, color="red", linestyle="--", label=f"tolerance {parity.tolerance:.0e}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"|loss − {REFERENCE} loss| (exact zeros drawn at {floor:.0e})")
    ax.set_title("Per-epoch loss difference from NumPy")
    ax.grid(which="major", alpha=0.3)
    ax.legend(fontsize=8, ncols=2)
    save_figure(fig, path)
    plt.close(fig)


def write_parity_report(parity: Parity, source: str, out_dir: Path) -> Path:
    """parity.md with the table and both figures."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_heatmap(parity, out_dir / "parity_heatmap.png")
    plot_loss_differences(parity, out_dir / "loss_differences.png")
    sizes = parity.problem.sizes
    verdict = "PASS: every pair agrees within" if parity.passes else "FAIL: some pairs differ by more than"
    lines = [
        "# backprop-bench parity", "",
        f"Problem: {source}; {sizes['n_in']}-{sizes['n_hidden']}-{sizes['n_out']} network, batch {sizes['batch']}, "
        f"{parity.problem.epochs} epochs, learning rate {parity.problem.learning_rate:g}, {parity.problem.dtype}.", "",
        f"**{verdict} the tolerance {parity.tolerance:.1e}** (largest absolute difference, per field, between every pair "
        "of implementations: final weights, final outputs, and the loss of every epoch).", "",
        markdown_table(parity), "",
        "![Largest difference between every pair](parity_heatmap.png)", "",
        "![Per-epoch loss difference from NumPy](loss_differences.png)", "",
    ]
    return atomic_write_text(out_dir / "parity.md", "\n".join(lines))
