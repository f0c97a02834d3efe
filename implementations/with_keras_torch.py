"""The notebook's network in Keras 3 on its PyTorch backend: model.fit with SGD and mean squared error."""

from .keras_model import array_arguments, fit_loop, require_backend
from .problem import Problem
from .with_torch import set_threads

FRAMEWORK = "keras"
BUILT_ON = "torch"
VARIANT = "model.fit on the PyTorch backend"
COMPILED = False  # Keras on PyTorch runs its train step eagerly unless jit_compile is asked for
GRADIENTS = "autodiff"
REQUIRES = ("keras>=3.15", "torch>=2.4")  # the distributions it needs
EXTRAS = ("keras", "torch")  # the suite's extras that install them
ENVIRONMENT = {"KERAS_BACKEND": "torch"}  # Keras reads its backend once per process, before its import
COST_CLASS = "own process"
SWEEP_RANGE = (
    1_000_000,
    None,
    "model.fit costs milliseconds per epoch, and each Keras backend runs in a process of its own (seconds to start): "
    "timed where an epoch is milliseconds of math and 10 epochs run",
)
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "fit() returns after every epoch's loss is read back as a Python float",
    "compiled": "nothing: Keras's default on PyTorch is an eager train step",
    "threads": "PyTorch's intra- and inter-op pools; in a process of its own (KERAS_BACKEND=torch)",
    "idiom": "plain: Sequential, compile(), fit() on NumPy arrays",
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
    return fit_loop(problem, array_arguments(problem))
