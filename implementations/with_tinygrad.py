"""The notebook's network in tinygrad, eager: gradients from Tensor.gradient of the loss, kernels scheduled every
epoch."""

import dataclasses

import numpy as np
from tinygrad import Tensor, dtypes

from .problem import Problem, TrainResult

FRAMEWORK = "tinygrad"
VARIANT = "Tensor.gradient, eager"
COMPILED = False  # kernels are compiled by clang on first use and cached, but scheduled and lowered every epoch
GRADIENTS = "autodiff"
REQUIRES = ("tinygrad>=0.14",)  # the distributions it needs
EXTRAS = ("tinygrad",)  # the suite's extras that install them
# beyond pip
PROGRAMS = (
    {
        "program": "clang",
        "variable": "CC",
        "for": "tinygrad's CPU device compiles every kernel with it",
        "package": "clang",
    },
)
COST_CLASS = "eager, lowered every epoch"
SWEEP_RANGE = (
    1_000_000,
    None,
    "eager tinygrad schedules and lowers its kernels every epoch (tens of ms): timed where an epoch is milliseconds "
    "of math and 10 epochs run (tinygrad-jit sweeps every size)",
)
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "every epoch realizes its tensors and copies the loss out",
    "compiled": "each kernel by clang on first use (the warm-up epoch in prepare()), cached; scheduled every epoch",
    "threads": "no thread setting: CPU affinity only",
    "idiom": "plain: tensors and Tensor.gradient, without TinyJit",
}


def set_threads(threads: int) -> dict[str, object]:
    """tinygrad offers no thread setting: only the CPU affinity the knob sets applies."""
    return {"tinygrad_threads": "no setting; CPU affinity applies"}


def loss_and_outputs(wh, wo, x, y):
    """L = 1/(2B) sum (y - o)^2, and the outputs o."""
    o = ((x @ wh.T).sigmoid() @ wo.T).sigmoid()
    return ((y - o) ** 2).sum() / (2 * x.shape[0]), o


def step(wh, wo, x, y, lr):
    """One epoch: the forward pass and its gradients, the weights assigned in place, all realized; the loss and
    outputs."""
    loss, o = loss_and_outputs(wh, wo, x, y)
    grad_wh, grad_wo = loss.gradient(wh, wo)
    wh.assign(wh - lr * grad_wh)
    wo.assign(wo - lr * grad_wo)
    Tensor.realize(wh, wo, loss, o)
    return loss, o


def run_epochs(epoch_step, problem: Problem) -> TrainResult:
    """The training loop around a step (eager, or jitted); each epoch's loss is copied out before the next epoch reuses
    its buffer."""
    dtype = dtypes.float64 if problem.dtype == "float64" else dtypes.float32
    x, y = Tensor(problem.batch_inputs, dtype=dtype).realize(), Tensor(problem.batch_targets, dtype=dtype).realize()
    wh = Tensor(problem.weights_hidden.copy(), dtype=dtype).realize()
    wo = Tensor(problem.weights_output.copy(), dtype=dtype).realize()
    lr = problem.learning_rate  # a Python number becomes a constant of the tensors' dtype in the kernels
    loss_history = np.empty(problem.epochs, dtype=problem.dtype)
    for epoch in range(problem.epochs):
        loss, o = epoch_step(wh, wo, x, y, lr)
        loss_history[epoch] = loss.numpy()
    loss_history *= 2 / y.shape[1]  # mean((y - o)^2) = 2BL / (B n_out)
    return TrainResult(wh.numpy(), wo.numpy(), loss_history, problem.unbatch(o.numpy()))


def prepare(problem: Problem):
    """Compile the step's kernels for this problem's shapes and dtype (one epoch run once); return the training loop."""
    run_epochs(step, dataclasses.replace(problem, epochs=1))
    return lambda: run_epochs(step, problem)
