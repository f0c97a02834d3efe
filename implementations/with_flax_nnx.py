"""The notebook's network in Flax NNX, as its guides write one: an nnx.Module of bias-free nnx.Linear layers, an
nnx.Optimizer over optax.sgd, and a train step under nnx.jit."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from .problem import Problem, TrainResult

FRAMEWORK = "flax"
BUILT_ON = "jax"
VARIANT = "nnx.Linear, nnx.Optimizer(optax.sgd), step under nnx.jit"
COMPILED = True
GRADIENTS = "autodiff"
REQUIRES = ("flax>=0.12", "optax>=0.2", "jax>=0.10", "jaxlib>=0.10")
EXTRAS = ("flax", "jax")
COST_CLASS = "compiled step"
SWEEP_RANGE = (
    0,
    1_000_000,
    "an nn layer over JAX's kernels: past this size an epoch is those kernels, timed there by the `jax` row",
)
CARD = {
    "finished work": "np.asarray of every result waits for JAX's asynchronous dispatch",
    "compiled": "the train step, optimizer update included, by nnx.jit (XLA), traced at the warm-up epoch in prepare()",
    "threads": "CPU affinity (XLA sizes its pool from it) and XLA_FLAGS",
    "idiom": "plain: nnx.value_and_grad and optimizer.update(model, grads) in an nnx.jit step, which walks the module "
    "graph "
    "in Python at every call (Flax's performance guide)",
}


class Network(nnx.Module):
    """Two bias-free linear layers with sigmoids, holding the problem's weights in its dtype."""

    def __init__(self, problem: Problem):
        n_hidden, n_in = problem.weights_hidden.shape
        dtype, rngs = jnp.dtype(problem.dtype), nnx.Rngs(0)
        self.hidden = nnx.Linear(n_in, n_hidden, use_bias=False, dtype=dtype, param_dtype=dtype, rngs=rngs)
        self.output = nnx.Linear(
            n_hidden, problem.weights_output.shape[0], use_bias=False, dtype=dtype, param_dtype=dtype, rngs=rngs
        )
        self.hidden.kernel[...] = jnp.asarray(problem.weights_hidden.T)  # a kernel is (inputs, units)
        self.output.kernel[...] = jnp.asarray(problem.weights_output.T)

    def __call__(self, x):
        return nnx.sigmoid(self.output(nnx.sigmoid(self.hidden(x))))


def loss_and_outputs(model: Network, x, y):
    """mean((y - o)^2) over the batch and the outputs (the recorded loss), and the outputs o."""
    o = model(x)
    return jnp.mean((y - o) ** 2), o


@nnx.jit
def train_step(model: Network, optimizer: nnx.Optimizer, x, y):
    """One epoch: the loss and outputs of the forward pass, and the optimizer's update of the model in place."""
    (loss, o), grads = nnx.value_and_grad(loss_and_outputs, has_aux=True)(model, x, y)
    optimizer.update(model, grads)
    return loss, o


def prepare(problem: Problem):
    """Trace and compile the step for this problem's shapes and dtype (one epoch run once); return the training loop."""
    return prepare_bound(problem, lambda model, optimizer: functools.partial(train_step, model, optimizer))


def prepare_bound(problem: Problem, bind):
    """prepare(), with train_step bound to the model and optimizer by bind(model, optimizer) -> step(x, y)."""
    # x64 only inside this context, so the rest of the process keeps JAX's float32 default
    with jax.enable_x64(True):
        x, y = jnp.asarray(problem.batch_inputs), jnp.asarray(problem.batch_targets)
        # MSE's gradient is 2/n_out times L's: SGD at lr * n_out/2 takes L's step
        learning_rate = np.asarray(problem.learning_rate * y.shape[1] / 2, dtype=problem.dtype)
    # one transformation for every training: nnx.jit keys its cache on it, and a new one retraces and recompiles the
    # step
    sgd = optax.sgd(learning_rate)

    def train(epochs: int = problem.epochs) -> TrainResult:
        with jax.enable_x64(True):
            model = Network(problem)
            optimizer = nnx.Optimizer(model, sgd, wrt=nnx.Param)
            step = bind(model, optimizer)
            losses = []
            for _ in range(epochs):
                loss, o = step(x, y)
                losses.append(loss)
            loss_history = np.array([np.asarray(loss) for loss in losses])
            wh, wo, o = (np.asarray(a) for a in (model.hidden.kernel[...].T, model.output.kernel[...].T, o))
        return TrainResult(wh, wo, loss_history, problem.unbatch(o))

    train(1)
    return train
