"""The statistics a saved time stands on: the median's order-statistic interval (its coverage computed
a second way, from scipy's binomial, and by simulation) and the per-epoch line fitted through a projected loop's
timings."""

import numpy as np
import pytest
from scipy.stats import binom

from benchmarks.model.statistics import fit_epochs, median_interval


def independent_interval(n: int, confidence: float = 0.95) -> tuple[int, int, float]:
    """The order statistics (1-based) of the narrowest symmetric interval for the median with at least `confidence`
    coverage, from scipy's binomial: P(x_(j) <= median <= x_(n+1-j)) = P(j <= K <= n-j), K ~ Bin(n, 1/2)."""
    best = (1, n, binom.cdf(n - 1, n, 0.5) - binom.cdf(0, n, 0.5))
    for j in range(1, (n + 1) // 2 + 1):
        coverage = binom.cdf(n - j, n, 0.5) - binom.cdf(j - 1, n, 0.5)
        if j < n + 1 - j and coverage >= confidence:
            best = (j, n + 1 - j, coverage)
    return best


@pytest.mark.parametrize("n", [*range(2, 41), 60, 100, 250, 1000])
def test_the_median_interval_is_the_order_statistics_scipys_binomial_gives(n):
    samples = np.random.default_rng(n).lognormal(size=n)  # skewed, as timings are: the interval assumes no distribution
    low, high, coverage = independent_interval(n)
    interval = median_interval(samples)
    ordered = np.sort(samples)
    assert (interval.low, interval.high) == (ordered[low - 1], ordered[high - 1])
    assert interval.coverage == pytest.approx(coverage, abs=1e-12)
    # too few samples for 95%: the widest, with what it covers
    assert interval.coverage >= 0.95 or (low, high) == (
        1,
        n,
    )


def test_six_samples_give_their_range_at_96_9_percent_and_five_fall_short():
    six = median_interval([3.0, 1.0, 2.0, 6.0, 5.0, 4.0])
    assert (six.low, six.high, six.coverage) == (1.0, 6.0, pytest.approx(1 - 2 / 64))
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]).coverage == pytest.approx(1 - 2 / 32)


def test_the_interval_covers_the_true_median_as_often_as_it_says():
    rng = np.random.default_rng(3)
    trials, n = 4000, 10
    true_median = np.exp(0.0)  # of a standard log-normal
    covered = sum(
        interval.low <= true_median <= interval.high
        for interval in (median_interval(rng.lognormal(size=n)) for _ in range(trials))
    )
    coverage = median_interval(np.arange(n)).coverage  # 97.85% for 10 samples
    assert abs(covered / trials - coverage) < 4 * np.sqrt(coverage * (1 - coverage) / trials)


def test_the_line_through_a_loop_without_noise_is_its_cost_exactly():
    lengths = [length for _ in range(5) for length in (3, 6, 12, 24)]
    fit = fit_epochs(lengths, [0.04 + 0.0021 * length for length in lengths], 1000)
    assert (fit.fixed_s, fit.per_epoch_s, fit.projected_s) == pytest.approx((0.04, 0.0021, 0.04 + 2.1))
    assert (fit.per_epoch.low, fit.per_epoch.high) == pytest.approx((0.0021, 0.0021)) and fit.lengths == (3, 6, 12, 24)


def test_the_fit_recovers_a_known_cost_per_epoch_within_its_interval_under_noise():
    lengths = [length for _ in range(5) for length in (1, 2, 4, 8)]
    hits = 0
    for seed in range(40):  # log-normal noise of median 1: the medians of each length lie on the true line
        noise = np.random.default_rng(seed).lognormal(0, 0.05, len(lengths))
        fit = fit_epochs(
            lengths, [(0.09 + 0.064 * length) * factor for length, factor in zip(lengths, noise, strict=True)], 1000
        )
        hits += fit.per_epoch.low <= 0.064 <= fit.per_epoch.high
        assert (
            fit.per_epoch.low <= fit.per_epoch_s <= fit.per_epoch.high
            and fit.projected.low <= fit.projected_s <= fit.projected.high
        )
        assert fit.projected_s == pytest.approx(fit.fixed_s + 1000 * fit.per_epoch_s)
    assert hits >= 30  # a bootstrap interval of 20 timings at 4 lengths holds the true cost in most of 40 trials


def test_a_line_needs_two_lengths():
    with pytest.raises(ValueError, match="two lengths"):
        fit_epochs([8, 8, 8], [1.0, 1.1, 0.9], 1000)
