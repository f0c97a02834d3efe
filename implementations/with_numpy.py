"""The notebook's network in NumPy, with the backward pass written by hand."""

import numpy as np

from .problem import Problem, TrainResult

FRAMEWORK = "numpy"
VARIANT = "hand-written backward pass, eager"
COMPILED = False
GRADIENTS = "hand-written"
REQUIRES = ("numpy>=2.0",)  # the distributions it needs
COST_CLASS = "eager"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "eager: every operation is done when it returns",
    "compiled": "nothing",
    "threads": "NumPy's BLAS pool, through threadpoolctl",
    "idiom": "plain: NumPy as a textbook writes it",
}


def sigmoid(z):
    """The logistic function 1 / (1 + e^-z)."""
    with np.errstate(over="ignore"):  # e^-z overflowing to inf gives the right limit, 0
        return 1 / (1 + np.exp(-z))


def prepare(problem: Problem):
    """Return the training loop for this problem."""
    x, y = problem.batch_inputs, problem.batch_targets
    lr, batch = problem.learning_rate, len(x)

    def train() -> TrainResult:
        wh, wo = problem.weights_hidden.copy(), problem.weights_output.copy()
        loss_history = np.empty(problem.epochs, dtype=problem.dtype)
        for epoch in range(problem.epochs):
            h = sigmoid(x @ wh.T)
            o = sigmoid(h @ wo.T)
            error = y - o
            loss_history[epoch] = np.mean(error**2)
            d_output = error * o * (1 - o) / batch
            d_hidden = (d_output @ wo) * h * (1 - h)
            wo += lr * (d_output.T @ h)
            wh += lr * (d_hidden.T @ x)
        return TrainResult(wh, wo, loss_history, problem.unbatch(o))

    return train
