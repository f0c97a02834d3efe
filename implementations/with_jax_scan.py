"""The notebook's network in JAX, the whole training loop, loss history included, compiled as one lax.scan."""

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .problem import Problem, TrainResult
from .with_jax import step

FRAMEWORK = "jax"
VARIANT = "whole loop in one compiled lax.scan"
COMPILED = True
GRADIENTS = "autodiff"
REQUIRES = ("jax>=0.10", "jaxlib>=0.10")  # the distributions it needs
EXTRAS = ("jax",)  # the suite's extras that install them
COST_CLASS = "compiled loop"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "np.asarray of the results waits for the whole loop",
    "compiled": "the whole loop by jax.jit (XLA), ahead of time in prepare()",
    "threads": "CPU affinity (XLA sizes its pool from it) and XLA_FLAGS",
    "idiom": "best: the loop inside XLA",
}


def train_all_epochs(weights, x, y, lr: float, epochs: int):
    """Every epoch in one scan: the carry holds the weights and the latest outputs, the scan stacks the losses."""

    def epoch(carry, _):
        weights, _ = carry
        weights, loss, o = step(weights, x, y, lr)
        return (weights, o), loss

    (weights, o), loss_history = lax.scan(epoch, (weights, jnp.zeros_like(y)), length=epochs)
    return weights, loss_history, o


def prepare(problem: Problem):
    """Compile the whole loop for this problem's shapes, dtype and epoch count; return it."""
    # x64 only inside this context, so the rest of the process keeps JAX's float32 default
    with jax.enable_x64(True):
        weights = (jnp.asarray(problem.weights_hidden), jnp.asarray(problem.weights_output))
        x, y = jnp.asarray(problem.batch_inputs), jnp.asarray(problem.batch_targets)
        # the learning rate is compiled in as a constant: passed as a float64 argument, it makes XLA's CPU loop
        # with the loss history several times slower (the README's "Where the time goes" has the measurement)
        compiled = (
            jax.jit(train_all_epochs, static_argnums=(3, 4))
            .lower(weights, x, y, problem.learning_rate, problem.epochs)
            .compile()
        )

    def train() -> TrainResult:
        with jax.enable_x64(True):
            (wh, wo), loss_history, o = compiled(weights, x, y)
            wh, wo, loss_history, o = (np.asarray(a) for a in (wh, wo, loss_history, o))  # waits for the result
        return TrainResult(wh, wo, loss_history, problem.unbatch(o))

    return train
