"""The notebook's network in JAX: gradients from jax.grad of the loss, one jitted step per epoch."""

import jax
import jax.numpy as jnp
import numpy as np

from .problem import Problem, TrainResult

FRAMEWORK = "jax"
VARIANT = "jitted step called from Python each epoch"
COMPILED = True  # the step is compiled by XLA in prepare()
GRADIENTS = "autodiff"
REQUIRES = ("jax>=0.10", "jaxlib>=0.10")  # the distributions it needs
EXTRAS = ("jax",)  # the suite's extras that install them
COST_CLASS = "compiled step"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "np.asarray of every result waits for JAX's asynchronous dispatch",
    "compiled": "the step by jax.jit (XLA), ahead of time in prepare()",
    "threads": "CPU affinity (XLA sizes its pool from it) and XLA_FLAGS",
    "idiom": "plain: a jitted step in a Python loop",
}


def loss_and_outputs(weights, x, y):
    """L = 1/(2B) sum (y - o)^2, and the outputs o."""
    wh, wo = weights
    o = jax.nn.sigmoid(jax.nn.sigmoid(x @ wh.T) @ wo.T)
    return jnp.sum((y - o) ** 2) / (2 * x.shape[0]), o


def step(weights, x, y, lr):
    """One epoch: the forward pass, its loss and outputs, and the updated weights."""
    (loss, o), grads = jax.value_and_grad(loss_and_outputs, has_aux=True)(weights, x, y)
    new_weights = tuple(w - lr * g for w, g in zip(weights, grads, strict=True))
    return new_weights, loss * (2 / y.shape[1]), o  # mean((y - o)^2) = 2BL / (B n_out)


def prepare(problem: Problem):
    """Compile the step for this problem's shapes and dtype; return the training loop."""
    # x64 only inside this context, so the rest of the process keeps JAX's float32 default
    with jax.enable_x64(True):
        weights = (jnp.asarray(problem.weights_hidden), jnp.asarray(problem.weights_output))
        x, y = jnp.asarray(problem.batch_inputs), jnp.asarray(problem.batch_targets)
        lr = jnp.asarray(problem.learning_rate, dtype=problem.dtype)
        compiled_step = jax.jit(step).lower(weights, x, y, lr).compile()

    def train() -> TrainResult:
        with jax.enable_x64(True):
            w, losses = weights, []
            for _ in range(problem.epochs):
                w, loss, o = compiled_step(w, x, y, lr)
                losses.append(loss)
            # np.asarray waits for each result; per scalar it is far cheaper than jax.device_get of the list
            loss_history = np.array([np.asarray(loss) for loss in losses])
            wh, wo, o = (np.asarray(a) for a in (*w, o))
        return TrainResult(wh, wo, loss_history, problem.unbatch(o))

    return train
