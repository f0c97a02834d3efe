"""The statistics of timings: a distribution-free interval for a median, and a line fitted to a loop timed at several
lengths.

A median's interval comes from order statistics, as asv's does: [x_(j), x_(n+1-j)] holds the true median unless at least
n+1-j of the n samples fall on one side of it, so its coverage is exactly 1 - 2 P(K <= j-1) for K ~ Bin(n, 1/2),
whatever the distribution of the timings. A loop too slow to time at its full length is timed several times at each of a
few shorter lengths K, and a line time = fixed + per epoch x K fitted by least squares through the median time of each
length (criterion's linear sampling, made robust to the slow outliers of a shared machine), with bootstrap intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 2000  # bootstrap resamples: enough for the 2.5% and 97.5% percentiles to settle
SEED = 20  # the bootstrap's seed: the same samples give the same interval every time they are read


@dataclass(frozen=True)
class Interval:
    """A confidence interval and its coverage: exact (order statistics) or nominal (bootstrap)."""

    low: float
    high: float
    coverage: float
    method: str  # "order statistics" or "bootstrap"

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high


def binomial_tail(n: int, k: int) -> float:
    """P(K <= k) for K ~ Bin(n, 1/2), summed in logarithms so that thousands of samples do not underflow."""
    if k < 0:
        return 0.0
    log_half_n = n * math.log(2)
    return min(
        1.0,
        sum(
            math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - log_half_n)
            for i in range(k + 1)
        ),
    )


def median_interval(samples: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The narrowest order-statistic interval [x_(j), x_(n+1-j)] whose coverage of the median is at least `confidence`;
    with too few samples for that, [min, max] with the coverage it has (n = 5 gives 93.8%, n = 6 96.9%)."""
    ordered = sorted(samples)
    n = len(ordered)
    if n == 0:
        raise ValueError("no samples: a median needs at least one")
    j, tail = 1, binomial_tail(n, 0)  # tail = P(K <= j-1)
    while j + 1 <= n - j:  # try the next pair inwards while it still holds two distinct order statistics
        inner_tail = tail + math.exp(math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) - n * math.log(2))
        if 1 - 2 * inner_tail < confidence:
            break
        j, tail = j + 1, inner_tail
    return Interval(float(ordered[j - 1]), float(ordered[n - j]), max(0.0, 1 - 2 * tail), "order statistics")


def bootstrap_medians(samples: Sequence[float], resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """The medians of `resamples` resamples (with replacement) of the samples."""
    values = np.asarray(samples, dtype=float)
    picks = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values)))
    return np.median(values[picks], axis=1)


def percentile_interval(values: np.ndarray, confidence: float = CONFIDENCE, floor: float = -np.inf) -> Interval:
    """The central `confidence` share of a bootstrap distribution, no lower than `floor` (a time is never negative)."""
    low, high = np.maximum(np.percentile(values, [50 * (1 - confidence), 50 * (1 + confidence)]), floor)
    return Interval(float(low), float(high), confidence, "bootstrap")


def least_squares(epochs: np.ndarray, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intercept and slope of time = fixed + per_epoch x epochs, along the last axis (one fit per row)."""
    mean_k, mean_t = epochs.mean(axis=-1, keepdims=True), seconds.mean(axis=-1, keepdims=True)
    slope = ((epochs - mean_k) * (seconds - mean_t)).sum(axis=-1) / ((epochs - mean_k) ** 2).sum(axis=-1)
    return mean_t[..., 0] - slope * mean_k[..., 0], slope


@dataclass(frozen=True)
class EpochFit:
    """A loop timed at several lengths: its fixed cost, its cost per epoch, and the time it would take for `epochs`."""

    epochs: int  # the length projected to
    fixed_s: float
    per_epoch_s: float
    per_epoch: Interval
    projected_s: float
    projected: Interval
    lengths: tuple[int, ...]  # the epoch counts timed


def resampled_fits(
    epochs: Sequence[int], seconds: Sequence[float], resamples: int = RESAMPLES, seed: int = SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Intercepts and slopes of `resamples` bootstrap fits: the timings of every length resampled within that length,
    and the line fitted through the resampled medians (the design kept: every length stays in every resample)."""
    epochs, seconds = np.asarray(epochs, dtype=float), np.asarray(seconds, dtype=float)
    rng = np.random.default_rng(seed)
    lengths = np.unique(epochs)
    medians = np.empty((resamples, len(lengths)))
    for column, length in enumerate(lengths):
        timings = seconds[epochs == length]
        medians[:, column] = np.median(timings[rng.integers(0, len(timings), size=(resamples, len(timings)))], axis=1)
    return least_squares(np.broadcast_to(lengths, medians.shape), medians)


def fit_epochs(
    epochs: Sequence[int], seconds: Sequence[float], total_epochs: int, confidence: float = CONFIDENCE
) -> EpochFit:
    """Fit time = fixed + per_epoch x K by least squares through the median timing of the loop at each length K, and
    project to total_epochs; the intervals are bootstrap percentiles (the timings resampled within each length)."""
    lengths = tuple(sorted({int(k) for k in epochs}))
    if len(lengths) < 2:
        raise ValueError(f"a line needs timings at two lengths at least, got {lengths}")
    epochs, seconds = np.asarray(epochs, dtype=float), np.asarray(seconds, dtype=float)
    fixed, slope = least_squares(
        np.asarray(lengths, dtype=float), np.array([np.median(seconds[epochs == length]) for length in lengths])
    )
    intercepts, slopes = resampled_fits(epochs, seconds)
    # a few noisy timings at short lengths can tilt a resampled line below zero: a cost is never negative
    return EpochFit(
        total_epochs,
        float(fixed),
        float(slope),
        percentile_interval(slopes, confidence, floor=0.0),
        float(fixed + slope * total_epochs),
        percentile_interval(intercepts + slopes * total_epochs, confidence, floor=0.0),
        lengths,
    )


def projected_times(
    epochs: Sequence[int], seconds: Sequence[float], total_epochs: int, resamples: int = RESAMPLES, seed: int = SEED
) -> np.ndarray:
    """The bootstrap distribution of the projected time for total_epochs (what compare sets against another run's)."""
    intercepts, slopes = resampled_fits(epochs, seconds, resamples, seed)
    return intercepts + slopes * total_epochs
