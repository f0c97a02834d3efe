"""The network's forward pass and loss, written out once more in float64 NumPy, for checking the implementations."""

import numpy as np

FIELDS = ("weights_hidden", "weights_output", "loss_history", "final_output")


def sigmoid(z):
    """The logistic function."""
    return 1 / (1 + np.exp(-z))


def outputs(problem, weights_hidden, weights_output):
    """o = s(Wo s(Wh x)) for every sample, shaped (B, n_out)."""
    x = np.asarray(problem.batch_inputs, dtype=np.float64)
    return sigmoid(sigmoid(x @ np.transpose(weights_hidden)) @ np.transpose(weights_output))


def loss(problem, weights_hidden, weights_output):
    """L = 1/(2B) * sum over batch and outputs of (y - o)^2."""
    error = problem.batch_targets - outputs(problem, weights_hidden, weights_output)
    return np.sum(error**2) / (2 * len(error))


def largest_differences(result, other):
    """The largest absolute difference between two results, per field."""
    return {field: float(np.max(np.abs(getattr(result, field) - getattr(other, field)))) for field in FIELDS}
