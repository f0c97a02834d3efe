"""The oracle: the same loop in plain Python scalars and lists, no arrays, written straight from the math."""

import math

import numpy as np

from .problem import Problem, TrainResult

FRAMEWORK = "python"
VARIANT = "scalar loops in plain Python (the independent oracle)"
COMPILED = False
GRADIENTS = "hand-written"
REQUIRES = ("numpy>=2.0",)  # the distributions it needs
COST_CLASS = "interpreted"
SWEEP_RANGE = (0, 10_000, "the plain-Python oracle: its scalar loops take seconds per epoch past small sizes")
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "plain Python: done when it returns",
    "compiled": "nothing",
    "threads": "single-threaded",
    "idiom": "plain: the independent oracle, not a contender",
}


def prepare(problem: Problem):
    """Return the training loop; float32 problems compute with NumPy float32 scalars, rounding every operation."""
    number = float if problem.dtype == "float64" else np.float32
    x = [[number(v) for v in row] for row in problem.batch_inputs]
    y = [[number(v) for v in row] for row in problem.batch_targets]
    lr, one = number(problem.learning_rate), number(1)
    batch, n_in, n_hidden, n_out = len(x), len(x[0]), len(problem.weights_hidden), len(problem.weights_output)

    def sigmoid(z):
        try:
            return one / (one + number(math.exp(-z)))
        except OverflowError:  # e^-z beyond the float range: the limit is 0
            return one - one

    def train() -> TrainResult:
        wh = [[number(v) for v in row] for row in problem.weights_hidden]
        wo = [[number(v) for v in row] for row in problem.weights_output]
        loss_history = []
        for _ in range(problem.epochs):
            h = [[sigmoid(sum(wh[j][i] * x[b][i] for i in range(n_in))) for j in range(n_hidden)] for b in range(batch)]
            o = [
                [sigmoid(sum(wo[k][j] * h[b][j] for j in range(n_hidden))) for k in range(n_out)] for b in range(batch)
            ]
            errors = [[y[b][k] - o[b][k] for k in range(n_out)] for b in range(batch)]
            loss_history.append(sum(e * e for row in errors for e in row) / (batch * n_out))
            d_output = [[errors[b][k] * o[b][k] * (one - o[b][k]) / batch for k in range(n_out)] for b in range(batch)]
            d_hidden = [
                [
                    sum(wo[k][j] * d_output[b][k] for k in range(n_out)) * h[b][j] * (one - h[b][j])
                    for j in range(n_hidden)
                ]
                for b in range(batch)
            ]
            wo = [
                [wo[k][j] + lr * sum(d_output[b][k] * h[b][j] for b in range(batch)) for j in range(n_hidden)]
                for k in range(n_out)
            ]
            wh = [
                [wh[j][i] + lr * sum(d_hidden[b][j] * x[b][i] for b in range(batch)) for i in range(n_in)]
                for j in range(n_hidden)
            ]
        as_array = lambda values: np.array(values, dtype=problem.dtype)  # noqa: E731
        return TrainResult(as_array(wh), as_array(wo), as_array(loss_history), problem.unbatch(as_array(o)))

    return train
