"""torch-nn's training step compiled by torch.compile as far as PyTorch 2.13 goes: the forward pass, the loss and
backward() in one graph, the optimizer's step in another (SGD breaks the graph around its step on purpose)."""

import torch
from torch import nn

from .problem import Problem, TrainResult
from .with_torch import set_threads
from .with_torch_nn import network

FRAMEWORK = "torch"
VARIANT = "nn.Sequential, nn.MSELoss, optim.SGD: the step torch.compile'd, backward() traced"
COMPILED = True
GRADIENTS = "autodiff"
REQUIRES = ("torch>=2.4",)
EXTRAS = ("torch",)
# beyond pip
PROGRAMS = (
    {
        "program": "g++",
        "variable": "CXX",
        "for": "Inductor compiles the CPU kernels with a C++ compiler",
        "package": "g++",
    },
)
COST_CLASS = "compiled step"
SWEEP_RANGE = (
    0,
    1_000_000,
    "an nn layer over PyTorch's kernels: past this size an epoch is those kernels, timed there by the `torch` row",
)
CARD = {
    "finished work": "the compiled graphs run eagerly on the CPU; .numpy() at the end",
    "compiled": "by torch.compile (inductor), in prepare(): forward, loss and backward() as one graph (Dynamo traces "
    "backward() with trace_autograd_ops on), optimizer.step() as a second (Optimizer.step breaks the graph "
    "around itself, pytorch#104053); zero_grad() stays eager (Dynamo skips it)",
    "threads": "torch.set_num_threads and set_num_interop_threads",
    "idiom": "best: torch-nn's loop with its step compiled, as the PyTorch 2 docs advise for training",
}
__all__ = ["prepare", "set_threads"]

mse = nn.MSELoss()  # mean((y - o)^2) over the batch and the outputs: the recorded loss


@torch.compile
def step(model: nn.Module, optimizer: torch.optim.Optimizer, x, y, loss_out, o_out):
    """One epoch after zero_grad(): the forward pass, its loss and outputs kept in loss_out and o_out, backward(), the
    optimizer's step. Nothing is returned: a result that outlives backward() breaks the graph before it."""
    o = model(x)
    loss = mse(o, y)
    loss_out.copy_(loss.detach().reshape(1))
    o_out.copy_(o.detach())
    loss.backward()
    optimizer.step()


def prepare(problem: Problem):
    """Compile the step for this problem's model, optimizer, shapes and dtype (one epoch run once); return the training
    loop, which starts that model from the problem's weights (a new model or optimizer would be compiled anew)."""
    x, y = torch.tensor(problem.batch_inputs), torch.tensor(problem.batch_targets)
    n_out = y.shape[1]
    model = network(problem)
    # MSE's gradient is 2/n_out times L's: SGD at lr * n_out/2 takes exactly L's step, W -= lr dL/dW
    optimizer = torch.optim.SGD(model.parameters(), lr=problem.learning_rate * n_out / 2)
    # one element, not a 0-d tensor: the compiled float64 step never wrote a 0-d one (torch 2.13, found by the parity
    # tests)
    loss_out, o_out = torch.empty(1, dtype=x.dtype), torch.empty_like(y)

    # each prepare() compiles anew (Dynamo guards on the model and optimizer), and the entries of those gone still count
    # towards recompile_limit, past which Dynamo would run the step eagerly without a word: a higher limit, and an error
    @torch._dynamo.config.patch(trace_autograd_ops=True, recompile_limit=256, fail_on_recompile_limit_hit=True)
    def train(epochs=problem.epochs) -> TrainResult:
        with torch.no_grad():
            model[0].weight.copy_(torch.tensor(problem.weights_hidden))
            model[2].weight.copy_(torch.tensor(problem.weights_output))
        loss_history = torch.empty(epochs, dtype=x.dtype)
        for epoch in range(epochs):
            optimizer.zero_grad()
            step(model, optimizer, x, y, loss_out, o_out)
            loss_history[epoch] = loss_out[0]
        return TrainResult(
            model[0].weight.detach().clone().numpy(),
            model[2].weight.detach().clone().numpy(),
            loss_history.numpy(),
            problem.unbatch(o_out.clone().numpy()),
        )

    train(epochs=1)
    return train
