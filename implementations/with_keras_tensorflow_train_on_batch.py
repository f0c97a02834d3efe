"""The notebook's network in Keras 3 on its TensorFlow backend, trained as the low-level API is written:
model.train_on_batch in a Python loop, with SGD and mean squared error."""

from .keras_model import require_backend, train_on_batch_loop
from .problem import Problem
from .with_tensorflow import set_threads

FRAMEWORK = "keras"
BUILT_ON = "tensorflow"
VARIANT = "model.train_on_batch in a Python loop, on the TensorFlow backend"
COMPILED = True
GRADIENTS = "autodiff"
REQUIRES = ("keras>=3.15", "tensorflow-cpu>=2.21")  # the distributions it needs
EXTRAS = ("keras", "tensorflow")  # the suite's extras that install them
ENVIRONMENT = {"KERAS_BACKEND": "tensorflow"}  # Keras reads its backend once per process, before its import
COST_CLASS = "own process"
SWEEP_RANGE = (
    1_000_000,
    None,
    "each Keras backend runs in a process of its own (seconds to start): timed where an epoch is milliseconds of math "
    "and 10 epochs run",
)
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "train_on_batch() returns each epoch's loss as a Python float",
    "compiled": "Keras's train step by tf.function, traced at the warm-up train_on_batch() in prepare()",
    "threads": "tf.config.threading intra- and inter-op pools; in a process of its own (KERAS_BACKEND=tensorflow)",
    "idiom": "the low-level loop: Sequential, compile(), train_on_batch() per epoch on NumPy arrays (no fit() epoch "
    "machinery)",
}
__all__ = ["prepare", "set_threads"]

require_backend("tensorflow")


def prepare(problem: Problem):
    """Build and compile the model for this problem; return the training loop."""
    return train_on_batch_loop(problem)
