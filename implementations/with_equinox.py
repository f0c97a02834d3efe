"""The notebook's network in Equinox, as its examples write one: an eqx.Module of bias-free eqx.nn.Linear layers,
optax.sgd, and eqx.apply_updates in a step under eqx.filter_jit."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .problem import Problem, TrainResult

FRAMEWORK = "equinox"
BUILT_ON = "jax"
VARIANT = "eqx.nn.Linear, optax.sgd, eqx.apply_updates, step under eqx.filter_jit"
COMPILED = True
GRADIENTS = "autodiff"
REQUIRES = ("equinox>=0.13", "optax>=0.2", "jax>=0.10", "jaxlib>=0.10")
EXTRAS = ("equinox", "jax")
COST_CLASS = "compiled step"
SWEEP_RANGE = (
    0,
    1_000_000,
    "an nn layer over JAX's kernels: past this size an epoch is those kernels, timed there by the `jax` row",
)
CARD = {
    "finished work": "np.asarray of every result waits for JAX's asynchronous dispatch",
    "compiled": "the train step, optimizer update included, by eqx.filter_jit (XLA), traced at the warm-up epoch in "
    "prepare()",
    "threads": "CPU affinity (XLA sizes its pool from it) and XLA_FLAGS",
    "idiom": "plain: eqx.filter_value_and_grad, optimizer.update, eqx.apply_updates in an eqx.filter_jit step, which "
    "flattens and filters the model in Python at every call",
}


class Network(eqx.Module):
    """Two bias-free linear layers with sigmoids, holding the problem's weights in its dtype."""

    hidden: eqx.nn.Linear
    output: eqx.nn.Linear

    def __init__(self, problem: Problem):
        n_hidden, n_in = problem.weights_hidden.shape
        dtype, (first, second) = jnp.dtype(problem.dtype), jax.random.split(jax.random.key(0))
        hidden = eqx.nn.Linear(n_in, n_hidden, use_bias=False, dtype=dtype, key=first)
        output = eqx.nn.Linear(n_hidden, problem.weights_output.shape[0], use_bias=False, dtype=dtype, key=second)
        self.hidden = eqx.tree_at(lambda layer: layer.weight, hidden, jnp.asarray(problem.weights_hidden))
        self.output = eqx.tree_at(lambda layer: layer.weight, output, jnp.asarray(problem.weights_output))

    def __call__(self, x):
        return jax.nn.sigmoid(self.output(jax.nn.sigmoid(self.hidden(x))))


def loss_and_outputs(model: Network, x, y):
    """mean((y - o)^2) over the batch and the outputs (the recorded loss), and the outputs o, the model mapped over
    samples."""
    o = jax.vmap(model)(x)
    return jnp.mean((y - o) ** 2), o


@eqx.filter_jit
def train_step(model: Network, state, optimizer, x, y):
    """One epoch: the loss and outputs of the forward pass, and the updated model and optimizer state."""
    (loss, o), grads = eqx.filter_value_and_grad(loss_and_outputs, has_aux=True)(model, x, y)
    updates, state = optimizer.update(grads, state, model)
    return eqx.apply_updates(model, updates), state, loss, o


def prepare(problem: Problem):
    """Trace and compile the step for this problem's shapes and dtype (one epoch run once); return the training loop."""
    # x64 only inside this context, so the rest of the process keeps JAX's float32 default
    with jax.enable_x64(True):
        x, y = jnp.asarray(problem.batch_inputs), jnp.asarray(problem.batch_targets)
        # MSE's gradient is 2/n_out times L's: SGD at lr * n_out/2 takes L's step
        optimizer = optax.sgd(np.asarray(problem.learning_rate * y.shape[1] / 2, dtype=problem.dtype))
        initial = Network(problem)

    def train(epochs: int = problem.epochs) -> TrainResult:
        with jax.enable_x64(True):
            model, losses = initial, []
            state = optimizer.init(eqx.filter(model, eqx.is_array))
            for _ in range(epochs):
                model, state, loss, o = train_step(model, state, optimizer, x, y)
                losses.append(loss)
            loss_history = np.array([np.asarray(loss) for loss in losses])
            wh, wo, o = (np.asarray(a) for a in (model.hidden.weight, model.output.weight, o))
        return TrainResult(wh, wo, loss_history, problem.unbatch(o))

    train(1)
    return train
