"""The notebook's network in HIPS autograd: gradients from autograd's value_and_grad of the loss, over NumPy."""

import autograd.numpy as anp
import numpy as np
from autograd import value_and_grad

from .problem import Problem, TrainResult

FRAMEWORK = "autograd"
VARIANT = "autograd.value_and_grad over NumPy, eager"
COMPILED = False
GRADIENTS = "autodiff"
REQUIRES = ("autograd>=1.7",)  # the distributions it needs
EXTRAS = ("autograd",)  # the suite's extras that install them
COST_CLASS = "eager"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "eager NumPy: done when each call returns",
    "compiled": "nothing",
    "threads": "NumPy's BLAS pool, through threadpoolctl",
    "idiom": "plain: grad over NumPy, as its README shows",
}


def outputs(weights, x):
    """o = s(Wo s(Wh x)) for every sample."""
    wh, wo = weights
    with np.errstate(over="ignore"):  # e^-z overflowing to inf gives the right limit, 0
        return 1 / (1 + anp.exp(-(1 / (1 + anp.exp(-(x @ wh.T))) @ wo.T)))


def loss(weights, x, y):
    """L = 1/(2B) sum (y - o)^2."""
    return anp.sum((y - outputs(weights, x)) ** 2) / (2 * x.shape[0])


loss_and_gradients = value_and_grad(loss)


def prepare(problem: Problem):
    """Return the training loop for this problem."""
    x, y = problem.batch_inputs, problem.batch_targets
    lr, n_out = problem.learning_rate, y.shape[1]

    def train() -> TrainResult:
        weights = [problem.weights_hidden.copy(), problem.weights_output.copy()]
        loss_history = np.empty(problem.epochs, dtype=problem.dtype)
        for epoch in range(problem.epochs):
            last_weights = weights
            value, gradients = loss_and_gradients(weights, x, y)
            loss_history[epoch] = value * (2 / n_out)  # mean((y - o)^2) = 2BL / (B n_out)
            weights = [w - lr * g for w, g in zip(weights, gradients, strict=True)]
        # autograd returns no auxiliary outputs: the last epoch's forward pass, once more at its weights
        return TrainResult(*weights, loss_history, problem.unbatch(outputs(last_weights, x)))

    return train
