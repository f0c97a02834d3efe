"""The notebook's network in Keras 3 on its JAX backend: model.fit with SGD and mean squared error, JAX's x64 on."""

import jax

from .keras_model import array_arguments, fit_loop, require_backend
from .problem import Problem

FRAMEWORK = "keras"
BUILT_ON = "jax"
VARIANT = "model.fit on the JAX backend"
COMPILED = True  # Keras jits its train step with jax.jit at the first fit()
GRADIENTS = "autodiff"
REQUIRES = ("keras>=3.15", "jax>=0.10", "jaxlib>=0.10")  # the distributions it needs
EXTRAS = ("keras", "jax")  # the suite's extras that install them
ENVIRONMENT = {"KERAS_BACKEND": "jax"}  # Keras reads its backend once per process, before its import
COST_CLASS = "own process"
SWEEP_RANGE = (
    1_000_000,
    None,
    "model.fit costs milliseconds per epoch, and each Keras backend runs in a process of its own (seconds to start): "
    "timed where an epoch is milliseconds of math and 10 epochs run",
)
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "fit() returns after every epoch's loss is read back as a Python float",
    "compiled": "Keras's train step by jax.jit, at the warm-up fit() in prepare()",
    "threads": "CPU affinity (XLA sizes its pool from it) and XLA_FLAGS; in a process of its own (KERAS_BACKEND=jax)",
    "idiom": "plain: Sequential, compile(), fit() on NumPy arrays",
}
# measured by the equivalence tests, which fail if it ever becomes exact (then delete this line)
FLOAT64_CAUSE = (
    "Keras's type promotion (keras.backend.result_type) maps float64 to float32 on every backend but TensorFlow, so "
    "ops.mean in the mean-squared-error loss computes in float32 even with JAX's x64 on: the loss history is rounded "
    "to float32 and the gradient's 1/(B n_out) is a float32 number (keras-team/keras#23704)"
)

require_backend("jax")


def prepare(problem: Problem):
    """Build, compile and trace the model for this problem; return the training loop (x64 on in both, as
    Keras on JAX otherwise computes in float32 even with float64 variables)."""
    with jax.enable_x64(True):
        train = fit_loop(problem, array_arguments(problem))

    def train_x64():
        with jax.enable_x64(True):
            return train()

    return train_x64
