"""The notebook's network in PyTensor, Theano's successor, in its define-and-compile style: a symbolic graph, its
gradient by pytensor.grad, and one compiled function whose updates write the new weights into shared variables."""

import numpy as np
import pytensor
import pytensor.tensor as pt

from .problem import Problem, TrainResult

FRAMEWORK = "pytensor"
VARIANT = "a symbolic graph, pytensor.grad, pytensor.function with updates=, compiled by its default Numba backend"
COMPILED = True
GRADIENTS = "autodiff"
REQUIRES = ("pytensor>=3.0", "numba>=0.58")  # its default backend compiles with Numba
EXTRAS = ("pytensor",)
COST_CLASS = "compiled step"
CARD = {
    "finished work": "the compiled function returns NumPy arrays: done when each call returns",
    "compiled": "the graph, its gradient and the updates by pytensor.function (its default mode: Numba), on the first "
    "call "
    "in prepare(); PyTensor caches the compiled code on disk",
    "threads": "the BLAS its compiled code calls for the products, set with every BLAS pool (threadpoolctl)",
    "idiom": "plain: Theano's idiom, updates=[(w, w - lr * g)] on shared variables, the learning rate an input",
}


def step_function(dtype: str):
    """The compiled epoch: (inputs, targets, learning rate) -> (mean((y - o)^2), o) before the update, which it
    applies."""
    x, y = pt.matrix("x", dtype=dtype), pt.matrix("y", dtype=dtype)
    lr = pt.scalar("lr", dtype=dtype)  # an input, not a constant: every problem of a dtype reuses one compiled graph
    wh = pytensor.shared(np.zeros((1, 1), dtype=dtype), name="wh", shape=(None, None))
    wo = pytensor.shared(np.zeros((1, 1), dtype=dtype), name="wo", shape=(None, None))
    o = pt.sigmoid(pt.sigmoid(x @ wh.T) @ wo.T)
    loss = pt.sum((y - o) ** 2) / (2 * x.shape[0]).astype(dtype)  # L = 1/(2B) sum (y - o)^2
    grad_wh, grad_wo = pytensor.grad(loss, [wh, wo])
    step = pytensor.function(
        [x, y, lr], [pt.mean((y - o) ** 2), o], updates=[(wh, wh - lr * grad_wh), (wo, wo - lr * grad_wo)]
    )
    return step, wh, wo


def prepare(problem: Problem):
    """Build and compile the step (one epoch run once); return the training loop."""
    step, wh, wo = step_function(problem.dtype)
    x, y = problem.batch_inputs, problem.batch_targets
    lr = np.asarray(problem.learning_rate, dtype=problem.dtype)

    def train(epochs=problem.epochs) -> TrainResult:
        wh.set_value(np.array(problem.weights_hidden))
        wo.set_value(np.array(problem.weights_output))
        loss_history = np.empty(epochs, dtype=problem.dtype)
        for epoch in range(epochs):
            loss_history[epoch], o = step(x, y, lr)
        return TrainResult(wh.get_value(), wo.get_value(), loss_history, problem.unbatch(o))

    train(epochs=1)
    return train
