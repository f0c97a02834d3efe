"""The notebook's network as MLX's examples write one: an nn.Module of bias-free nn.Linear layers, nn.value_and_grad, an
mlx.optimizers.SGD step, and mx.eval of the parameters and the optimizer's state every epoch."""

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

from .problem import Problem, TrainResult
from .with_mlx import set_threads

FRAMEWORK = "mlx"
VARIANT = "nn.Module, nn.value_and_grad, optimizers.SGD, evaluated each epoch"
COMPILED = False
GRADIENTS = "autodiff"
REQUIRES = ("mlx>=0.32", "mlx-cpu>=0.32")
EXTRAS = ("mlx",)
COST_CLASS = "eager"
SWEEP_RANGE = (
    0,
    1_000_000,
    "an nn layer over MLX's kernels: past this size an epoch is those kernels, timed there by the `mlx` row",
)
CARD = {
    "finished work": "mx.eval of the parameters, the optimizer's state and the loss every epoch (MLX is lazy)",
    "compiled": "nothing",
    "threads": "no thread setting: CPU affinity only",
    "idiom": "plain: nn.Linear and nn.sigmoid, nn.losses.mse_loss, optimizers.SGD with its learning rate as a float64 "
    "array",
}
# measured by the equivalence tests, which fail if it ever becomes exact (then delete this line)
FLOAT64_CAUSE = (
    "nn.sigmoid is mx.sigmoid, which computes in float32 on the CPU even for float64 arrays (its result is float64, "
    "its value float32-rounded): every epoch's activations, and so the step, are float32-accurate"
)
__all__ = ["prepare", "set_threads"]

mx.set_default_device(mx.cpu)  # MLX's float64 runs only on the CPU


class Network(nn.Module):
    """Two bias-free linear layers with sigmoids."""

    def __init__(self, problem: Problem):
        super().__init__()
        n_hidden, n_in = problem.weights_hidden.shape
        self.hidden = nn.Linear(n_in, n_hidden, bias=False)
        self.output = nn.Linear(n_hidden, problem.weights_output.shape[0], bias=False)

    def __call__(self, x):
        return nn.sigmoid(self.output(nn.sigmoid(self.hidden(x))))


def prepare(problem: Problem):
    """Return the training loop for this problem."""
    dtype = getattr(mx, problem.dtype)  # mx.array would turn float64 NumPy arrays into float32 unless told
    x, y = mx.array(problem.batch_inputs, dtype=dtype), mx.array(problem.batch_targets, dtype=dtype)
    n_out = y.shape[1]

    def loss_and_outputs(model, x, y):
        o = model(x)
        return nn.losses.mse_loss(o, y), o  # mean((y - o)^2) over the batch and the outputs: the recorded loss

    def train() -> TrainResult:
        model = Network(problem)
        model.update(
            {
                "hidden": {"weight": mx.array(problem.weights_hidden, dtype=dtype)},
                "output": {"weight": mx.array(problem.weights_output, dtype=dtype)},
            }
        )
        # MSE's gradient is 2/n_out times L's: SGD at lr * n_out/2 takes L's step; an array keeps it in the problem's
        # dtype
        optimizer = optim.SGD(learning_rate=mx.array(problem.learning_rate * n_out / 2, dtype=dtype))
        step = nn.value_and_grad(model, loss_and_outputs)
        losses = []
        for _ in range(problem.epochs):
            (loss, o), grads = step(model, x, y)
            optimizer.update(model, grads)
            mx.eval(model.parameters(), optimizer.state, loss, o)
            losses.append(loss)
        wh, wo, loss_history, o = (np.array(a) for a in (model.hidden.weight, model.output.weight, mx.stack(losses), o))
        return TrainResult(wh, wo, loss_history, problem.unbatch(o))

    return train
