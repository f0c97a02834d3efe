"""Compare two saved runs benchmark by benchmark: on replicate processes' medians with a confidence interval where both
runs have replicates, else with a significance test on the raw samples of one process each."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import mannwhitneyu, t, ttest_ind

from .machines import machine_changes
from .runs import Run, RunFileError, differences
from .statistics import CONFIDENCE, SEED, bootstrap_medians, percentile_interval, projected_times

# asv's defaults: a difference is significant when its p-value is under 0.002 and the medians differ by
# at least 10%; samples from one run miss the run-to-run variance (the README gives what identical runs
# differed by here), so the p-value alone calls tiny differences significant
DEFAULT_ALPHA = 0.002
DEFAULT_MIN_CHANGE = 10.0  # percent
# a replicate this much slower (percent) than the fastest replicate of the same benchmark in the same run is set aside
# as a disturbed process: on a shared machine noise only adds time, and a disturbed process is slow for all its rounds
DEFAULT_SET_ASIDE = 15.0
MANN_WHITNEY, REPLICATES = "Mann-Whitney U on the raw samples", "Welch's t on the logarithms of the replicate medians"
BOOTSTRAP = "a bootstrap of both times (a projected loop's fit resampled, a measured loop's median)"


@dataclass(frozen=True)
class Comparison:
    """One benchmark in both runs."""

    group: str
    implementation: str
    base_median: float  # with replicates, the geometric mean of the replicates' medians
    new_median: float
    p_value: float  # NaN when a run kept no samples
    alpha: float
    min_change: float = DEFAULT_MIN_CHANGE  # percent
    method: str = MANN_WHITNEY
    interval: tuple[float, float] | None = None  # the ratio's 95% confidence interval, with replicates
    replicates: tuple[int, int] = (0, 0)  # in the base and the new run
    set_aside: tuple[int, int] = (0, 0)  # of those, the disturbed ones left out of the interval
    # whether the base's and the new run's times are projections from shorter lengths
    projected: tuple[bool, bool] = (False, False)
    base_interval: tuple[float, float] = (float("nan"), float("nan"))  # each median's own 95% interval
    new_interval: tuple[float, float] = (float("nan"), float("nan"))

    @property
    def ratio(self) -> float:
        """New median over base median: above 1 is slower."""
        return self.new_median / self.base_median

    @property
    def significant(self) -> bool:
        """Whether the runs differ more than chance explains (p < alpha, or with replicates an interval that excludes
        1), by at least min_change percent."""
        factor = 1 + self.min_change / 100
        beyond_chance = (
            not self.interval[0] <= 1 <= self.interval[1] if self.interval else bool(self.p_value < self.alpha)
        )
        return beyond_chance and not (1 / factor < self.ratio < factor)

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


def replicate_medians(replicates) -> list[float]:
    """The medians of a benchmark's replicate processes (empty for a run without replicates)."""
    return [entry["median"] for entry in replicates] if isinstance(replicates, list) else []


def undisturbed(medians: list[float], set_aside: float | None) -> list[float]:
    """The replicate medians within set_aside percent of the fastest; all of them when set_aside is None, or when
    fewer than two would be left (then the replicates disagree too much to tell the disturbed ones, and the interval
    says so)."""
    if set_aside is None:
        return medians
    kept = [median for median in medians if median <= min(medians) * (1 + set_aside / 100)]
    return kept if len(kept) >= 2 else medians


def ratio_interval(
    base: list[float], new: list[float], confidence: float = CONFIDENCE
) -> tuple[float, float, tuple[float, float], float]:
    """From replicate medians: the geometric means of base and new, the ratio's confidence interval and the two-sided
    p-value, by Welch's t on the logarithms (timings are positive and their noise multiplicative)."""
    log_base, log_new = np.log(base), np.log(new)
    difference = log_new.mean() - log_base.mean()
    variances = log_base.var(ddof=1) / len(base), log_new.var(ddof=1) / len(new)
    error = np.sqrt(sum(variances))
    if error == 0:  # identical replicates: no spread to estimate, the difference is exact
        return (
            float(np.exp(log_base.mean())),
            float(np.exp(log_new.mean())),
            (np.exp(difference),) * 2,
            float(difference == 0),
        )
    # Welch-Satterthwaite degrees of freedom
    freedom = error**4 / (variances[0] ** 2 / (len(base) - 1) + variances[1] ** 2 / (len(new) - 1))
    half = t.ppf((1 + confidence) / 2, freedom) * error
    p_value = float(ttest_ind(log_new, log_base, equal_var=False).pvalue)
    interval = (float(np.exp(difference - half)), float(np.exp(difference + half)))
    return float(np.exp(log_base.mean())), float(np.exp(log_new.mean())), interval, p_value


def time_distribution(row, side: str, seed: int) -> np.ndarray:
    """A bootstrap distribution of one run's time for a benchmark: its projected loop's fit resampled, or its samples'
    median."""
    projection = getattr(row, f"projection_{side}", None)
    if getattr(row, f"projected_{side}") and isinstance(projection, dict):
        return projected_times(projection["epochs"], projection["seconds"], getattr(row, f"epochs_{side}"), seed=seed)
    return bootstrap_medians(getattr(row, f"data_{side}"), seed=seed)


def bootstrap_ratio(row) -> tuple[tuple[float, float], float]:
    """The new/base ratio's 95% interval from independent bootstraps of both runs, and the two-sided bootstrap p-value
    of no change (twice the share of resampled ratios on the other side of 1, at least one resample's worth)."""
    ratios = time_distribution(row, "new", SEED + 1) / time_distribution(row, "base", SEED)
    interval = percentile_interval(ratios, CONFIDENCE)
    p_value = min(1.0, 2 * max(1 / len(ratios), min(np.mean(ratios <= 1), np.mean(ratios >= 1))))
    return (interval.low, interval.high), float(p_value)


def compare_runs(
    base: Run,
    new: Run,
    alpha: float = DEFAULT_ALPHA,
    min_change: float = DEFAULT_MIN_CHANGE,
    set_aside: float | None = DEFAULT_SET_ASIDE,
) -> list[Comparison]:
    """Every benchmark present in both runs, matched by group and implementation: on replicate medians where both runs
    have at least two undisturbed replicates of it; else, where either time is a projection, by a bootstrap of both;
    else by Mann-Whitney on the raw samples."""
    key = ["group", "implementation"]
    merged = base.benchmarks.merge(new.benchmarks, on=key, suffixes=("_base", "_new"))
    if merged.empty:
        raise RunFileError(
            f"{new.path}: no benchmark in common with {base.path} (base has "
            f"{', '.join(sorted(base.benchmarks['implementation']))}; new has "
            f"{', '.join(sorted(new.benchmarks['implementation']))})"
        )
    comparisons = []
    for row in merged.itertuples():
        replicated = [replicate_medians(getattr(row, f"replicates_{side}", None)) for side in ("base", "new")]
        kept = [undisturbed(medians, set_aside) for medians in replicated]
        projected = (bool(getattr(row, "projected_base", False)), bool(getattr(row, "projected_new", False)))
        common = Comparison(
            row.group,
            row.implementation,
            row.median_base,
            row.median_new,
            float("nan"),
            alpha,
            min_change,
            replicates=(len(replicated[0]), len(replicated[1])),
            set_aside=(len(replicated[0]) - len(kept[0]), len(replicated[1]) - len(kept[1])),
            projected=projected,
            base_interval=(row.ci_low_base, row.ci_high_base),
            new_interval=(row.ci_low_new, row.ci_high_new),
        )
        if min(map(len, kept)) >= 2:
            base_mean, new_mean, interval, p_value = ratio_interval(*kept)
            comparisons.append(
                replace(
                    common,
                    base_median=base_mean,
                    new_median=new_mean,
                    p_value=p_value,
                    method=REPLICATES,
                    interval=interval,
                )
            )
        elif any(projected):
            interval, p_value = bootstrap_ratio(row)
            comparisons.append(replace(common, p_value=p_value, method=BOOTSTRAP, interval=interval, set_aside=(0, 0)))
        else:
            comparisons.append(replace(common, p_value=mann_whitney_p(row.data_base, row.data_new), set_aside=(0, 0)))
    return comparisons


MACHINE_KEYS = ("CPU", "machine id")  # what differs between two runs' descriptions that machine_changes says in full


@dataclass(frozen=True)
class RunComparison:
    """Two runs compared, whole: what `backprop-bench compare` shows, decided here and only rendered by the
    presentation."""

    base: Run
    new: Run
    benchmarks: list[Comparison]  # every benchmark in both runs
    machine_changes: list[str]  # what differs between the runs' machines, the CPU first; empty for one machine
    measured_differently: dict[
        str, list[str]
    ]  # what else differs in how the runs were measured (versions, threads, budget), before and after
    interrupted: list[Run]  # of the two, those saved by an interrupted session (holding only what finished)
    faster: list[Comparison]  # significantly faster
    slower: list[Comparison]  # significantly slower
    regressions: list[Comparison]  # slower by more than fail_above, where a gate was asked for
    alpha: float
    min_change: float
    set_aside: float | None
    fail_above: float | None

    @property
    def moved_both_ways(self) -> bool:
        """Whether benchmarks moved significantly both ways: what one change of code rarely does, and a machine whose
        speed changed between the runs, or within them, often does."""
        return bool(self.faster and self.slower)


def compare_two(
    base: Run,
    new: Run,
    alpha: float = DEFAULT_ALPHA,
    min_change: float = DEFAULT_MIN_CHANGE,
    set_aside: float | None = DEFAULT_SET_ASIDE,
    fail_above: float | None = None,
) -> RunComparison:
    """The whole comparison of two runs: every benchmark's verdict, what differs between the runs, and with a gate
    (fail_above, percent) the benchmarks significantly slower than it allows."""
    comparisons = compare_runs(base, new, alpha, min_change, set_aside)
    differing = {key: column for key, column in differences([base, new]).items() if key not in MACHINE_KEYS}
    return RunComparison(
        base,
        new,
        comparisons,
        machine_changes(base.fingerprint, new.fingerprint),
        differing,
        [run for run in (base, new) if run.machine_info.get("interrupted")],
        [c for c in comparisons if c.verdict == "faster"],
        [c for c in comparisons if c.verdict == "slower"],
        regressions(comparisons, fail_above) if fail_above is not None else [],
        alpha,
        min_change,
        set_aside,
        fail_above,
    )


def regressions(comparisons: list[Comparison], fail_above_percent: float) -> list[Comparison]:
    """The benchmarks significantly slower than the base by more than the given percentage."""
    return [c for c in comparisons if c.verdict == "slower" and c.ratio > 1 + fail_above_percent / 100]


def slowed(run: Run, factor: float, implementation: str | None = None) -> Run:
    """The run as if its code had been `factor` times slower (one implementation, or all): every sample, median and
    replicate median, and a projected loop's every timing, scaled. Real noise, a known slowdown: what the gate's
    calibration injects."""
    benchmarks = run.benchmarks.copy()
    rows = benchmarks["implementation"] == implementation if implementation else np.ones(len(benchmarks), dtype=bool)
    for column in (
        "min",
        "max",
        "median",
        "q1",
        "q3",
        "iqr",
        "ld15iqr",
        "hd15iqr",
        "ci_low",
        "ci_high",
        "per_epoch_s",
        "fixed_s",
    ):
        benchmarks.loc[rows, column] = benchmarks.loc[rows, column] * factor
    benchmarks.loc[rows, "data"] = benchmarks.loc[rows, "data"].map(
        lambda data: None if data is None else [x * factor for x in data]
    )
    if "replicates" in benchmarks:
        benchmarks.loc[rows, "replicates"] = benchmarks.loc[rows, "replicates"].map(
            lambda entries: (
                [entry | {"median": entry["median"] * factor} for entry in entries]
                if isinstance(entries, list)
                else entries
            )
        )
    if "projection" in benchmarks:
        benchmarks.loc[rows, "projection"] = benchmarks.loc[rows, "projection"].map(
            lambda fit: (
                {
                    key: scaled(value, factor) if key not in ("epochs", "confidence") else value
                    for key, value in fit.items()
                }
                if isinstance(fit, dict)
                else fit
            )
        )
    return replace(run, benchmarks=benchmarks)


def scaled(value, factor: float):
    """A time, or a list of times, `factor` times longer."""
    return [item * factor for item in value] if isinstance(value, list) else value * factor
