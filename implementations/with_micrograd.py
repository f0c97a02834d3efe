"""The notebook's network in karpathy's micrograd, the scalar autograd engine many teachers start from: every weight a
Value, the loss's backward() for the gradients, and micrograd's own update, p.data -= lr * p.grad."""

import math

import numpy as np
from micrograd.engine import Value

from .problem import Problem, TrainResult

FRAMEWORK = "micrograd"
VARIANT = "scalar Values, loss.backward(), p.data -= lr * p.grad"
COMPILED = False
GRADIENTS = "autodiff"
REQUIRES = ("micrograd>=0.1",)
EXTRAS = ("micrograd",)
COST_CLASS = "interpreted"
SWEEP_RANGE = (
    0,
    10_000,
    "a scalar autograd graph of Python objects, rebuilt every epoch: seconds per epoch past small sizes",
)
CARD = {
    "finished work": "plain Python: done when it returns",
    "compiled": "nothing",
    "threads": "single-threaded",
    "idiom": "micrograd's own: its Value has no exp, so the sigmoid is a Value op written as the lecture writes tanh; "
    "its "
    "update by hand, as in micrograd's demo",
}


def sigmoid(z: Value, number) -> Value:
    """s(z) as a micrograd op: its value, and ds/dz = s (1 - s) for backward()."""
    try:
        s = number(1) / (number(1) + number(math.exp(-z.data)))
    except OverflowError:  # e^-z beyond the float range: the limit is 0
        s = number(0)
    out = Value(s, (z,), "sigmoid")

    def _backward():
        z.grad += s * (1 - s) * out.grad

    out._backward = _backward
    return out


def total(values: list[Value]) -> Value:
    """The sum of the values, added pairwise: backward() recurses through the graph, which a long chain of + would
    deepen."""
    while len(values) > 1:
        values = [values[i] + values[i + 1] if i + 1 < len(values) else values[i] for i in range(0, len(values), 2)]
    return values[0]


def prepare(problem: Problem):
    """Return the training loop; a float32 problem holds NumPy float32 scalars in its Values, rounding every
    operation."""
    number = float if problem.dtype == "float64" else np.float32
    x = [[number(v) for v in row] for row in problem.batch_inputs]
    y = [[number(v) for v in row] for row in problem.batch_targets]
    lr, batch, n_out = number(problem.learning_rate), len(x), len(y[0])

    def train() -> TrainResult:
        wh = [[Value(number(v)) for v in row] for row in problem.weights_hidden]
        wo = [[Value(number(v)) for v in row] for row in problem.weights_output]
        parameters = [w for row in wh + wo for w in row]
        loss_history = np.empty(problem.epochs, dtype=problem.dtype)
        for epoch in range(problem.epochs):
            hidden = [
                [sigmoid(total([w * xi for w, xi in zip(row, sample, strict=True)]), number) for row in wh]
                for sample in x
            ]
            o = [[sigmoid(total([w * hi for w, hi in zip(row, h, strict=True)]), number) for row in wo] for h in hidden]
            squares = [
                (yi - oi) ** 2
                for target, output in zip(y, o, strict=True)
                for yi, oi in zip(target, output, strict=True)
            ]
            loss = total(squares) * (number(1) / number(2 * batch))  # L = 1/(2B) sum (y - o)^2
            loss_history[epoch] = loss.data * number(2 / n_out)  # mean((y - o)^2) = 2BL / (B n_out)
            for p in parameters:
                p.grad = number(0)
            loss.backward()
            for p in parameters:
                p.data -= lr * p.grad
        weights_hidden = np.array([[w.data for w in row] for row in wh], dtype=problem.dtype)
        weights_output = np.array([[w.data for w in row] for row in wo], dtype=problem.dtype)
        outputs = np.array([[oi.data for oi in row] for row in o], dtype=problem.dtype)
        return TrainResult(weights_hidden, weights_output, loss_history, problem.unbatch(outputs))

    return train
