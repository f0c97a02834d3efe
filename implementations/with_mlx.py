"""The notebook's network in MLX on its CPU device: gradients from mx.value_and_grad of the loss, evaluated each
epoch."""

import mlx.core as mx
import numpy as np

from .problem import Problem, TrainResult

FRAMEWORK = "mlx"
VARIANT = "mx.value_and_grad, evaluated each epoch"
COMPILED = False
GRADIENTS = "autodiff"
REQUIRES = ("mlx>=0.32", "mlx-cpu>=0.32")  # the distributions it needs
EXTRAS = ("mlx",)  # the suite's extras that install them
COST_CLASS = "eager"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "mx.eval of the weights, loss and outputs every epoch (MLX is lazy)",
    "compiled": "nothing",
    "threads": "no thread setting: CPU affinity only",
    "idiom": "plain: value_and_grad and mx.eval each step, as MLX's examples do",
}

mx.set_default_device(mx.cpu)  # MLX's float64 runs only on the CPU


def set_threads(threads: int) -> dict[str, object]:
    """MLX offers no thread setting: only the CPU affinity the knob sets applies."""
    return {"mlx_threads": "no setting; CPU affinity applies"}


def sigmoid(z):
    """1 / (1 + e^-z), written as (1 + tanh(z/2)) / 2: MLX's float64 exp (and mx.sigmoid) compute in float32 on the
    CPU, its tanh in float64, so this form keeps a float64 problem in float64."""
    return 0.5 + 0.5 * mx.tanh(0.5 * z)


def loss_and_outputs(weights, x, y):
    """L = 1/(2B) sum (y - o)^2, and the outputs o (MLX differentiates the first)."""
    wh, wo = weights
    o = sigmoid(sigmoid(x @ wh.T) @ wo.T)
    return mx.sum((y - o) ** 2) / (2 * x.shape[0]), o


loss_gradients = mx.value_and_grad(loss_and_outputs)


def step(weights, x, y, lr):
    """One epoch: the forward pass, its loss and outputs, and the updated weights."""
    (loss, o), grads = loss_gradients(weights, x, y)
    return [w - lr * g for w, g in zip(weights, grads, strict=True)], loss, o


def run_epochs(step, problem: Problem) -> TrainResult:
    """The training loop around a step; MLX is lazy, so each epoch's weights and loss are evaluated before the next."""
    dtype = getattr(mx, problem.dtype)  # mx.array would turn float64 NumPy arrays into float32 unless told
    x, y = mx.array(problem.batch_inputs, dtype=dtype), mx.array(problem.batch_targets, dtype=dtype)
    weights = [mx.array(problem.weights_hidden, dtype=dtype), mx.array(problem.weights_output, dtype=dtype)]
    lr, losses = mx.array(problem.learning_rate, dtype=dtype), []
    for _ in range(problem.epochs):
        weights, loss, o = step(weights, x, y, lr)
        mx.eval(weights, loss, o)
        losses.append(loss)
    loss_history = mx.stack(losses) * (2 / y.shape[1])  # mean((y - o)^2) = 2BL / (B n_out)
    wh, wo, loss_history, o = (np.array(a) for a in (*weights, loss_history, o))
    return TrainResult(wh, wo, loss_history, problem.unbatch(o))


def prepare(problem: Problem):
    """Return the training loop for this problem."""
    return lambda: run_epochs(step, problem)
