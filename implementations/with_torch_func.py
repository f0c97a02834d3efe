"""The notebook's network in PyTorch's functional style: torch.func.grad_and_value of the loss, the closest to JAX."""

import torch

from .problem import Problem, TrainResult
from .with_torch import loss_and_outputs

FRAMEWORK = "torch"
VARIANT = "torch.func.grad_and_value, eager"
COMPILED = False
GRADIENTS = "autodiff"
REQUIRES = ("torch>=2.4",)  # the distributions it needs
EXTRAS = ("torch",)  # the suite's extras that install them
COST_CLASS = "eager"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "eager on the CPU: done when each call returns; .numpy() at the end",
    "compiled": "nothing",
    "threads": "torch.set_num_threads and set_num_interop_threads",
    "idiom": "plain: the functional API, closest to JAX",
}

# d/dWh and d/dWo of L, with the loss and outputs passed through
loss_gradients = torch.func.grad_and_value(loss_and_outputs, argnums=(0, 1), has_aux=True)


def step(wh, wo, x, y, lr):
    """One epoch: the forward pass, its loss and outputs, and the updated weights."""
    (grad_wh, grad_wo), (loss, o) = loss_gradients(wh, wo, x, y)
    return wh - lr * grad_wh, wo - lr * grad_wo, loss, o


def run_epochs(step, problem: Problem) -> TrainResult:
    """The training loop around a functional step; the step decides how it is executed."""
    x, y = torch.tensor(problem.batch_inputs), torch.tensor(problem.batch_targets)
    wh, wo = torch.tensor(problem.weights_hidden), torch.tensor(problem.weights_output)
    lr = torch.tensor(problem.learning_rate, dtype=x.dtype)  # a tensor, so torch.compile does not specialise on it
    loss_history = torch.empty(problem.epochs, dtype=x.dtype)
    n_out = y.shape[1]
    for epoch in range(problem.epochs):
        wh, wo, loss, o = step(wh, wo, x, y, lr)
        loss_history[epoch] = loss * (2 / n_out)  # mean((y - o)^2) = 2BL / (B n_out)
    return TrainResult(wh.numpy(), wo.numpy(), loss_history.numpy(), problem.unbatch(o.numpy()))


def prepare(problem: Problem):
    """Return the training loop for this problem."""
    return lambda: run_epochs(step, problem)
