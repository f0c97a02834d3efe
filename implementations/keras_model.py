"""The notebook's network as a Keras 3 user writes it: a Sequential of two bias-free sigmoid Dense layers, model.fit.

Keras's backend is chosen by KERAS_BACKEND before its import; the registry starts each Keras implementation
in a process with the backend it needs, and `require_backend` refuses any other.
"""

import contextlib
import warnings

import keras
import numpy as np

from .problem import Problem, TrainResult


def require_backend(backend: str) -> None:
    """Refuse to run on a Keras that was imported with another backend."""
    if keras.backend.backend() != backend:
        raise ImportError(
            f"Keras runs on its {keras.backend.backend()} backend in this process, but this implementation needs "
            f"{backend}: set KERAS_BACKEND={backend} before keras is imported"
        )


@contextlib.contextmanager
def floatx(dtype: str):
    """Keras's default float type set to the problem's dtype: the variables, the data adapter's casts, the
    learning rate and the loss tracker all follow it (float32 otherwise, whatever the weights are)."""
    before = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(before)


def compiled_model(problem: Problem) -> keras.Sequential:
    """The network with the problem's weights, compiled with SGD and mean squared error so fit() takes L's step."""
    n_hidden, n_in = problem.weights_hidden.shape
    n_out = problem.weights_output.shape[0]
    dtype = problem.dtype  # named on each layer too: Keras fixes its global dtype policy from floatx at first use
    model = keras.Sequential(
        [
            keras.Input((n_in,), dtype=dtype),
            keras.layers.Dense(n_hidden, activation="sigmoid", use_bias=False, dtype=dtype),
            keras.layers.Dense(n_out, activation="sigmoid", use_bias=False, dtype=dtype),
        ]
    )
    # Keras's MSE is mean((y - o)^2) over the batch and the n_out outputs, whose gradient is 2/n_out times that
    # of L = 1/(2B) sum (y - o)^2: SGD at lr * n_out/2 takes exactly the step W -= lr * dL/dW
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=problem.learning_rate * n_out / 2),
        loss=keras.losses.MeanSquaredError(dtype=dtype),
    )
    return model


def to_numpy(tensor) -> np.ndarray:
    """A backend tensor as a NumPy array, as keras.ops.convert_to_numpy gives it."""
    with warnings.catch_warnings():
        # Keras 3.15 passes copy=False to the __array__ of PyTorch and TensorFlow tensors, which predates NumPy 2's
        # keyword and warns; the conversion itself is exact
        warnings.filterwarnings("ignore", "__array__ implementation doesn't accept a copy keyword", DeprecationWarning)
        return keras.ops.convert_to_numpy(tensor)


class LastForwardPass(keras.callbacks.Callback):
    """Keeps the model's output at the start of the last epoch: the output of that epoch's forward pass."""

    def __init__(self, x, last_epoch: int):
        super().__init__()
        self.x, self.last_epoch, self.output = keras.ops.convert_to_tensor(x), last_epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.last_epoch:
            self.output = to_numpy(self.model(self.x))


def fit_loop(problem: Problem, fit_arguments) -> callable:
    """Build and compile the model (one epoch run once, to trace its train step); return the training loop, in
    which `model.fit(**fit_arguments, epochs=problem.epochs)` trains from the problem's weights."""
    initial = [problem.weights_hidden.T, problem.weights_output.T]  # Keras's kernels are (inputs, units)
    x = problem.batch_inputs

    with floatx(problem.dtype):
        model = compiled_model(problem)
        model.fit(**fit_arguments, epochs=1, verbose=0)

    def train() -> TrainResult:
        with floatx(problem.dtype):
            model.set_weights(initial)
            last = LastForwardPass(x, problem.epochs - 1)
            history = model.fit(**fit_arguments, epochs=problem.epochs, verbose=0, callbacks=[last])
            kernel_hidden, kernel_output = (to_numpy(variable.value) for variable in model.weights)
            # the history holds Python floats: give them back the dtype of the loss tracker that averaged them
            loss_dtype = keras.backend.standardize_dtype(model.metrics[0].variables[0].dtype)
            return TrainResult(
                weights_hidden=kernel_hidden.T,
                weights_output=kernel_output.T,
                loss_history=np.asarray(history.history["loss"], dtype=loss_dtype),
                final_output=problem.unbatch(last.output),
            )

    return train


def array_arguments(problem: Problem) -> dict:
    """fit()'s arguments for NumPy arrays, as most Keras code passes them: one batch of the whole data, in order."""
    return dict(x=problem.batch_inputs, y=problem.batch_targets, batch_size=len(problem.batch_inputs), shuffle=False)


def train_on_batch_loop(problem: Problem) -> callable:
    """Build and compile the model (one train_on_batch run once, to trace its train step); return the training loop, a
    Python loop of `model.train_on_batch(x, y)`, the low-level API that skips fit()'s epoch machinery."""
    initial = [problem.weights_hidden.T, problem.weights_output.T]  # Keras's kernels are (inputs, units)
    x, y = problem.batch_inputs, problem.batch_targets

    with floatx(problem.dtype):
        model = compiled_model(problem)
        model.train_on_batch(x, y)
        inputs = keras.ops.convert_to_tensor(x)
        loss_dtype = keras.backend.standardize_dtype(model.metrics[0].variables[0].dtype)

    def train() -> TrainResult:
        with floatx(problem.dtype):
            model.set_weights(initial)
            losses = []
            for _ in range(problem.epochs - 1):
                losses.append(model.train_on_batch(x, y))  # the batch's loss, read back as a Python float
            output = to_numpy(model(inputs))  # the last epoch's forward pass, before its update
            losses.append(model.train_on_batch(x, y))
            kernel_hidden, kernel_output = (to_numpy(variable.value) for variable in model.weights)
            return TrainResult(
                weights_hidden=kernel_hidden.T,
                weights_output=kernel_output.T,
                loss_history=np.asarray(losses, dtype=loss_dtype),
                final_output=problem.unbatch(output),
            )

    return train
