"""The notebook's network as most PyTorch code is written: nn.Sequential, nn.MSELoss, torch.optim.SGD, backward and
step."""

import torch
from torch import nn

from .problem import Problem, TrainResult
from .with_torch import set_threads

FRAMEWORK = "torch"
VARIANT = "nn.Sequential, nn.MSELoss, optim.SGD: backward() and step(), eager"
COMPILED = False
GRADIENTS = "autodiff"
REQUIRES = ("torch>=2.4",)
EXTRAS = ("torch",)
COST_CLASS = "eager"
SWEEP_RANGE = (
    0,
    1_000_000,
    "an nn layer over PyTorch's kernels: past this size an epoch is those kernels, timed there by the `torch` row",
)
CARD = {
    "finished work": "eager on the CPU: done when each call returns; .numpy() at the end",
    "compiled": "nothing",
    "threads": "torch.set_num_threads and set_num_interop_threads",
    "idiom": "plain: the tutorials' loop (zero_grad, forward, loss, backward, step), SGD's default per-tensor update",
}
__all__ = ["prepare", "set_threads"]


def network(problem: Problem) -> nn.Sequential:
    """Two bias-free linear layers with sigmoids, holding the problem's weights in its dtype."""
    n_hidden, n_in = problem.weights_hidden.shape
    n_out = problem.weights_output.shape[0]
    dtype = getattr(torch, problem.dtype)
    model = nn.Sequential(
        nn.Linear(n_in, n_hidden, bias=False, dtype=dtype),
        nn.Sigmoid(),
        nn.Linear(n_hidden, n_out, bias=False, dtype=dtype),
        nn.Sigmoid(),
    )
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor(problem.weights_hidden))
        model[2].weight.copy_(torch.tensor(problem.weights_output))
    return model


def prepare(problem: Problem):
    """Return the training loop for this problem."""
    x, y = torch.tensor(problem.batch_inputs), torch.tensor(problem.batch_targets)
    n_out = y.shape[1]
    mse = nn.MSELoss()  # mean((y - o)^2) over the batch and the outputs: the recorded loss

    def train() -> TrainResult:
        model = network(problem)
        # MSE's gradient is 2/n_out times L's: SGD at lr * n_out/2 takes exactly L's step, W -= lr dL/dW
        optimizer = torch.optim.SGD(model.parameters(), lr=problem.learning_rate * n_out / 2)
        loss_history = torch.empty(problem.epochs, dtype=x.dtype)
        for epoch in range(problem.epochs):
            optimizer.zero_grad()
            o = model(x)
            loss = mse(o, y)
            loss.backward()
            optimizer.step()
            loss_history[epoch] = loss.detach()
        return TrainResult(
            model[0].weight.detach().numpy(),
            model[2].weight.detach().numpy(),
            loss_history.numpy(),
            problem.unbatch(o.detach().numpy()),
        )

    return train
