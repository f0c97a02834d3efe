"""The notebook's network in PyTorch, with gradients from autograd of the loss."""

import contextlib

import torch

from .problem import Problem, TrainResult

FRAMEWORK = "torch"
VARIANT = "torch.autograd.grad, eager"
COMPILED = False
GRADIENTS = "autodiff"
REQUIRES = ("torch>=2.4",)  # the distributions it needs
EXTRAS = ("torch",)  # the suite's extras that install them
COST_CLASS = "eager"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "eager on the CPU: done when each call returns; .numpy() at the end",
    "compiled": "nothing",
    "threads": "torch.set_num_threads and set_num_interop_threads",
    "idiom": "plain: autograd.grad in an eager loop",
}


def set_threads(threads: int) -> dict[str, object]:
    """PyTorch's intra-op pool, and its inter-op pool while it may still change; return what is in force."""
    torch.set_num_threads(threads)
    if torch.get_num_interop_threads() != threads:
        with contextlib.suppress(
            RuntimeError
        ):  # allowed once, before any inter-op work: the reading below shows what stuck
            torch.set_num_interop_threads(threads)
    return {"torch_intra_op": torch.get_num_threads(), "torch_inter_op": torch.get_num_interop_threads()}


def loss_and_outputs(wh, wo, x, y):
    """L = 1/(2B) sum (y - o)^2, and the outputs o."""
    o = torch.sigmoid(torch.sigmoid(x @ wh.T) @ wo.T)
    return (y - o).pow(2).sum() / (2 * len(x)), o


def prepare(problem: Problem):
    """Return the training loop for this problem."""
    x, y = torch.tensor(problem.batch_inputs), torch.tensor(problem.batch_targets)
    lr, n_out = problem.learning_rate, y.shape[1]

    def train() -> TrainResult:
        wh = torch.tensor(problem.weights_hidden, requires_grad=True)
        wo = torch.tensor(problem.weights_output, requires_grad=True)
        loss_history = torch.empty(problem.epochs, dtype=x.dtype)
        for epoch in range(problem.epochs):
            loss, o = loss_and_outputs(wh, wo, x, y)
            grad_wh, grad_wo = torch.autograd.grad(loss, (wh, wo))
            with torch.no_grad():
                loss_history[epoch] = loss * (2 / n_out)  # mean((y - o)^2) = 2BL / (B n_out)
                wh -= lr * grad_wh
                wo -= lr * grad_wo
        return TrainResult(
            wh.detach().numpy(), wo.detach().numpy(), loss_history.numpy(), problem.unbatch(o.detach().numpy())
        )

    return train
