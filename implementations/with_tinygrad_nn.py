"""The notebook's network as tinygrad's training examples write one: nn.Linear layers, nn.optim.SGD over
nn.state.get_parameters, zero_grad, backward and step under Context(TRAINING=1), the step under TinyJit."""

import numpy as np
from tinygrad import Context, Tensor, TinyJit, dtypes, nn

from .problem import Problem, TrainResult
from .with_tinygrad import set_threads

FRAMEWORK = "tinygrad"
VARIANT = "nn.Linear, nn.optim.SGD: backward() and step() under TinyJit"
COMPILED = True
GRADIENTS = "autodiff"
REQUIRES = ("tinygrad>=0.14",)
EXTRAS = ("tinygrad",)
# beyond pip
PROGRAMS = (
    {
        "program": "clang",
        "variable": "CC",
        "for": "tinygrad's CPU device compiles every kernel with it",
        "package": "clang",
    },
)
COST_CLASS = "compiled step"
SWEEP_RANGE = (
    0,
    1_000_000,
    "an nn layer over tinygrad's kernels: past this size an epoch is those kernels, timed there by the `tinygrad` row",
)
CARD = {
    "finished work": "every epoch realizes the parameters, the loss and the outputs, and copies the loss out",
    "compiled": "the step's kernels (clang), optimizer included, captured by TinyJit in prepare()",
    "threads": "no thread setting: CPU affinity only",
    "idiom": "as tinygrad's examples: a jitted train step of zero_grad, loss.backward() and the optimizer's step, "
    "realized with "
    "the loss and outputs (optimizer.schedule_step(), what step() realizes); the default float set to float64 for a "
    "float64 problem (else SGD keeps its learning rate in float32)",
}
__all__ = ["prepare", "set_threads"]


class Network:
    """Two bias-free linear layers with sigmoids."""

    def __init__(self, problem: Problem, dtype):
        n_hidden, n_in = problem.weights_hidden.shape
        self.hidden = nn.Linear(n_in, n_hidden, bias=False)
        self.output = nn.Linear(n_hidden, problem.weights_output.shape[0], bias=False)
        self.hidden.weight = Tensor(problem.weights_hidden.copy(), dtype=dtype).realize()
        self.output.weight = Tensor(problem.weights_output.copy(), dtype=dtype).realize()

    def __call__(self, x: Tensor) -> Tensor:
        return self.output(self.hidden(x).sigmoid()).sigmoid()


def prepare(problem: Problem):
    """Build the network and its optimizer, and capture the step's kernels (TinyJit records on its second call); return
    the training loop, which sets the problem's weights into the same parameters and replays the step."""
    dtype = dtypes.float64 if problem.dtype == "float64" else dtypes.float32
    x, y = Tensor(problem.batch_inputs, dtype=dtype).realize(), Tensor(problem.batch_targets, dtype=dtype).realize()
    n_out = y.shape[1]
    model = Network(problem, dtype)
    with Context(DEFAULT_FLOAT=problem.dtype):  # SGD keeps its learning rate in the default float (float32 by default)
        # MSE's gradient is 2/n_out times L's: SGD at lr * n_out/2 takes L's step
        optimizer = nn.optim.SGD(nn.state.get_parameters(model), lr=problem.learning_rate * n_out / 2)

    @TinyJit
    def step():
        optimizer.zero_grad()
        o = model(x)
        loss = ((y - o) ** 2).mean()  # mean((y - o)^2) over the batch and the outputs: the recorded loss
        loss.backward()
        # the step, the loss and the outputs in one schedule: the loss and outputs of this epoch's weights, before its
        # update
        Tensor.realize(loss, o, *optimizer.schedule_step())
        return loss, o

    def train(epochs: int = problem.epochs) -> TrainResult:
        model.hidden.weight.assign(Tensor(problem.weights_hidden, dtype=dtype)).realize()
        model.output.weight.assign(Tensor(problem.weights_output, dtype=dtype)).realize()
        loss_history = np.empty(epochs, dtype=problem.dtype)
        with Context(TRAINING=1):
            for epoch in range(epochs):
                loss, o = step()
                loss_history[epoch] = loss.numpy()
        return TrainResult(
            model.hidden.weight.numpy(), model.output.weight.numpy(), loss_history, problem.unbatch(o.numpy())
        )

    train(3)
    return train
