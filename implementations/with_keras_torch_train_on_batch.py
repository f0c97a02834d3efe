"""The notebook's network in Keras 3 on its PyTorch backend, trained as the low-level API is written:
model.train_on_batch in a Python loop, with SGD and mean squared error."""

from .keras_model import require_backend, train_on_batch_loop
from .problem import Problem
from .with_torch import set_threads

FRAMEWORK = "keras"
BUILT_ON = "torch"
VARIANT = "model.train_on_batch in a Python loop, on the PyTorch backend"
COMPILED = False
GRADIENTS = "autodiff"
REQUIRES = ("keras>=3.15", "torch>=2.4")  # the distributions it needs
EXTRAS = ("keras", "torch")  # the suite's extras that install them
ENVIRONMENT = {"KERAS_BACKEND": "torch"}  # Keras reads its backend once per process, before its import
COST_CLASS = "own process"
SWEEP_RANGE = (
    1_000_000,
    None,
    "each Keras backend runs in a process of its own (seconds to start): timed where an epoch is milliseconds of math "
    "and 10 epochs run",
)
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "train_on_batch() returns each epoch's loss as a Python float",
    "compiled": "nothing: Keras on PyTorch runs its train step eagerly",
    "threads": "PyTorch's intra- and inter-op pools; in a process of its own (KERAS_BACKEND=torch)",
    "idiom": "the low-level loop: Sequential, compile(), train_on_batch() per epoch on NumPy arrays (no fit() epoch "
    "machinery)",
}
# measured by the equivalence tests, which fail if it ever becomes exact (then delete this line)
FLOAT64_CAUSE = (
    "Keras's type promotion (keras.backend.result_type) maps float64 to float32 on every backend but TensorFlow, so "
    "ops.matmul in Dense and ops.mean in the loss compute in float32 on PyTorch, with float64 weights and floatx "
    "float64: every epoch's step is rounded to float32 (keras-team/keras#23704)"
)
__all__ = ["prepare", "set_threads"]

require_backend("torch")


def prepare(problem: Problem):
    """Build and compile the model for this problem; return the training loop."""
    return train_on_batch_loop(problem)
