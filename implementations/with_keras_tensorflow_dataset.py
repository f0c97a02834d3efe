"""Keras 3 on its TensorFlow backend fed a tf.data.Dataset of the one batch, TensorFlow's recommended input."""

import tensorflow as tf

from .keras_model import fit_loop, require_backend
from .problem import Problem
from .with_tensorflow import set_threads

FRAMEWORK = "keras"
BUILT_ON = "tensorflow"
VARIANT = "model.fit on the TensorFlow backend, data as a tf.data.Dataset"
COMPILED = True  # Keras runs its train step as a tf.function (a graph), traced at the first fit()
GRADIENTS = "autodiff"
REQUIRES = ("keras>=3.15", "tensorflow-cpu>=2.21")  # the distributions it needs
EXTRAS = ("keras", "tensorflow")  # the suite's extras that install them
ENVIRONMENT = {"KERAS_BACKEND": "tensorflow"}  # Keras reads its backend once per process, before its import
COST_CLASS = "own process"
SWEEP_RANGE = (
    1_000_000,
    None,
    "model.fit costs milliseconds per epoch, and each Keras backend runs in a process of its own (seconds to start): "
    "timed where an epoch is milliseconds of math and 10 epochs run",
)
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "fit() returns after every epoch's loss is read back as a Python float",
    "compiled": "Keras's train step by tf.function, traced at the warm-up fit() in prepare()",
    "threads": "tf.config.threading intra- and inter-op pools; in a process of its own (KERAS_BACKEND=tensorflow)",
    "idiom": "best: the same model and fit(), the data as Dataset.from_tensors, which skips the array adapter's "
    "pipeline",
}
__all__ = ["prepare", "set_threads"]

require_backend("tensorflow")


def prepare(problem: Problem):
    """Build and compile the model for this problem; return the training loop."""
    data = tf.data.Dataset.from_tensors((problem.batch_inputs, problem.batch_targets))
    return fit_loop(problem, {"x": data, "shuffle": False})  # nothing to shuffle: one batch
