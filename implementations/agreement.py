"""How closely two implementations' results must agree, and how far apart two results are."""

from __future__ import annotations

import numpy as np

from .problem import RESULT_FIELDS, Problem, TrainResult

# the same math in float64: only the order of the sums differs between implementations
FLOAT64_TOLERANCE = 1e-12


def float32_drift_bound(epochs: int, largest_value: float) -> float:
    """How far a float32 run may drift from float64.

    Each epoch rounds every weight once more, to within eps32 * |w|; in the worst case these errors add up
    linearly, so after `epochs` epochs a float32 run may be epochs * eps32 * max|w| from float64.
    """
    return epochs * float(np.finfo(np.float32).eps) * max(float(largest_value), 1.0)


def tolerance(dtype: str, epochs: int, *reference: np.ndarray, exact: bool = True) -> float:
    """The largest difference allowed: 1e-12 in float64; in float32, or for an implementation declared not
    float64-exact (it computes parts in float32), the float32 drift bound at the reference's largest value."""
    if dtype == "float64" and exact:
        return FLOAT64_TOLERANCE
    return float32_drift_bound(epochs, max(float(np.max(np.abs(values))) for values in reference))


def result_tolerance(problem: Problem, reference: TrainResult, exact: bool = True) -> float:
    """The tolerance for results of `problem`, at the largest weight of the reference result."""
    return tolerance(problem.dtype, problem.epochs, reference.weights_hidden, reference.weights_output, exact=exact)


def largest_differences(result: TrainResult, other: TrainResult) -> dict[str, float]:
    """The largest absolute difference between two results, per field of TrainResult."""
    return {name: float(np.max(np.abs(getattr(result, name) - getattr(other, name)))) for name in RESULT_FIELDS}


def loss_gap(history: np.ndarray, reference: np.ndarray) -> tuple[float, int]:
    """The largest difference between two loss curves over the epochs both recorded, and how many those are: a loop
    timed per epoch records only its first epochs."""
    common = min(len(history), len(reference))
    return float(
        np.max(np.abs(np.asarray(history[:common], np.float64) - np.asarray(reference[:common], np.float64)))
    ), common
