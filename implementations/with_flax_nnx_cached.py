"""flax-nnx's step with its model and optimizer bound by nnx.cached_partial, which Flax's performance guide offers so
that nnx.jit stops walking the object graph in Python at every call."""

import functools

from flax import nnx

from .problem import Problem
from .with_flax_nnx import prepare_bound, train_step

FRAMEWORK = "flax"
BUILT_ON = "jax"
VARIANT = "nnx.Linear, nnx.Optimizer(optax.sgd), nnx.jit step bound by nnx.cached_partial"
COMPILED = True
GRADIENTS = "autodiff"
REQUIRES = ("flax>=0.12", "optax>=0.2", "jax>=0.10", "jaxlib>=0.10")
EXTRAS = ("flax", "jax")
COST_CLASS = "compiled step"
SWEEP_RANGE = (
    0,
    10_000,
    "flax-nnx's step and kernels less a fixed cost per call, which the small sizes show: past them an epoch is "
    "flax-nnx's, timed by the `flax-nnx` row",
)
CARD = {
    "finished work": "np.asarray of every result waits for JAX's asynchronous dispatch",
    "compiled": "flax-nnx's train step (nnx.jit, XLA), traced at the warm-up epoch in prepare(); nnx.cached_partial "
    "flattens the model and optimizer once per training instead of at every call",
    "threads": "CPU affinity (XLA sizes its pool from it) and XLA_FLAGS",
    "idiom": "best: Flax's performance guide's answer to nnx.jit's per-call graph walk, the same step as flax-nnx",
}


def prepare(problem: Problem):
    """Trace and compile the step for this problem's shapes and dtype (one epoch run once); return the training loop."""
    # its step updates the Variables of the model and optimizer it was given
    return prepare_bound(problem, functools.partial(nnx.cached_partial, train_step))
