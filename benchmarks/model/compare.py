"""Compare two saved runs benchmark by benchmark, with a significance test on the raw samples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import mannwhitneyu

from .runs import Run, RunFileError

# asv's defaults: a difference is significant when its p-value is under 0.002 and the medians differ by
# at least 10%; samples from one run miss the run-to-run variance (the README gives what identical runs
# differed by here), so the p-value alone calls tiny differences significant
DEFAULT_ALPHA = 0.002
DEFAULT_MIN_CHANGE = 10.0  # percent


@dataclass(frozen=True)
class Comparison:
    """One benchmark in both runs."""

    group: str
    implementation: str
    base_median: float
    new_median: float
    p_value: float  # two-sided Mann-Whitney U on the raw samples; NaN when a run kept none
    alpha: float
    min_change: float = DEFAULT_MIN_CHANGE  # percent

    @property
    def ratio(self) -> float:
        """New median over base median: above 1 is slower."""
        return self.new_median / self.base_median

    @property
    def significant(self) -> bool:
        """Whether the samples differ more than chance explains, by at least min_change percent."""
        factor = 1 + self.min_change / 100
        return bool(self.p_value < self.alpha) and not (1 / factor < self.ratio < factor)

    @property
    def verdict(self) -> str:
        """faster, slower, or no significant change."""
        if np.isnan(self.p_value):
            return "unknown: no raw samples saved"
        if not self.significant:
            return "no significant change"
        return "slower" if self.ratio > 1 else "faster"


def mann_whitney_p(base: list[float] | None, new: list[float] | None) -> float:
    """Two-sided Mann-Whitney U p-value of two samples of timings (NaN without samples)."""
    if not base or not new:
        return float("nan")
    return float(mannwhitneyu(base, new, alternative="two-sided").pvalue)


def compare_runs(base: Run, new: Run, alpha: float = DEFAULT_ALPHA, min_change: float = DEFAULT_MIN_CHANGE) -> list[Comparison]:
    """Every benchmark present in both runs, matched by group and implementation."""
    key = ["group", "implementation"]
    merged = base.benchmarks.merge(new.benchmarks, on=key, suffixes=("_base", "_new"))
    if merged.empty:
        raise RunFileError(
            f"{new.path}: no benchmark in common with {base.path} (base has "
            f"{', '.join(sorted(base.benchmarks['implementation']))}; new has {', '.join(sorted(new.benchmarks['implementation']))})"
        )
    return [Comparison(row.group, row.implementation, row.median_base, row.median_new,
                       mann_whitney_p(row.data_base, row.data_new), alpha, min_change) for row in merged.itertuples()]


def regressions(comparisons: list[Comparison], fail_above_percent: float) -> list[Comparison]:
    """The benchmarks significantly slower than the base by more than the given percentage."""
    return [c for c in comparisons if c.verdict == "slower" and c.ratio > 1 + fail_above_percent / 100]
