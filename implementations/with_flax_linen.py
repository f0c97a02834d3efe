"""The notebook's network in Flax Linen, as most existing JAX code is written: an nn.Module of bias-free nn.Dense
layers, a flax.training TrainState over optax.sgd, and state.apply_gradients inside a jax.jit step."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn
from flax.training import train_state

from .problem import Problem, TrainResult

FRAMEWORK = "flax"
BUILT_ON = "jax"
VARIANT = "linen nn.Dense, TrainState.apply_gradients(optax.sgd), step under jax.jit"
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
    "compiled": "the train step, optimizer update included, by jax.jit (XLA), ahead of time in prepare()",
    "threads": "CPU affinity (XLA sizes its pool from it) and XLA_FLAGS",
    "idiom": "plain: model.apply in a loss, jax.value_and_grad, state.apply_gradients, the step under jax.jit",
}


class Network(nn.Module):
    """Two bias-free dense layers with sigmoids."""

    n_hidden: int
    n_out: int
    dtype: jnp.dtype

    @nn.compact
    def __call__(self, x):
        hidden = nn.Dense(self.n_hidden, use_bias=False, dtype=self.dtype, param_dtype=self.dtype, name="hidden")
        output = nn.Dense(self.n_out, use_bias=False, dtype=self.dtype, param_dtype=self.dtype, name="output")
        return nn.sigmoid(output(nn.sigmoid(hidden(x))))


def train_step(state: train_state.TrainState, x, y):
    """One epoch: the loss (mean((y - o)^2), the recorded one) and outputs of the forward pass, and the updated
    state."""

    def loss_and_outputs(params):
        o = state.apply_fn({"params": params}, x)
        return jnp.mean((y - o) ** 2), o

    (loss, o), grads = jax.value_and_grad(loss_and_outputs, has_aux=True)(state.params)
    return state.apply_gradients(grads=grads), loss, o


def prepare(problem: Problem):
    """Compile the step for this problem's shapes and dtype; return the training loop."""
    # x64 only inside this context, so the rest of the process keeps JAX's float32 default
    with jax.enable_x64(True):
        x, y = jnp.asarray(problem.batch_inputs), jnp.asarray(problem.batch_targets)
        model = Network(problem.weights_hidden.shape[0], y.shape[1], jnp.dtype(problem.dtype))
        params = {
            "hidden": {"kernel": jnp.asarray(problem.weights_hidden.T)},  # a kernel is (inputs, units)
            "output": {"kernel": jnp.asarray(problem.weights_output.T)},
        }
        # MSE's gradient is 2/n_out times L's: SGD at lr * n_out/2 takes L's step
        optimizer = optax.sgd(np.asarray(problem.learning_rate * y.shape[1] / 2, dtype=problem.dtype))
        initial = train_state.TrainState.create(apply_fn=model.apply, params=params, tx=optimizer)
        compiled_step = jax.jit(train_step).lower(initial, x, y).compile()

    def train() -> TrainResult:
        with jax.enable_x64(True):
            state, losses = initial, []
            for _ in range(problem.epochs):
                state, loss, o = compiled_step(state, x, y)
                losses.append(loss)
            loss_history = np.array([np.asarray(loss) for loss in losses])
            wh, wo, o = (
                np.asarray(a) for a in (state.params["hidden"]["kernel"].T, state.params["output"]["kernel"].T, o)
            )
        return TrainResult(wh, wo, loss_history, problem.unbatch(o))

    return train
