"""The speed-of-light reference: the same loop as scalar code compiled to machine code by Numba, no framework."""

import math

import numba
import numpy as np

from .problem import Problem, TrainResult

FRAMEWORK = "numba"
VARIANT = "scalar loops compiled by Numba"
COMPILED = True
GRADIENTS = "hand-written"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "plain machine code: done when it returns",
    "compiled": "the scalar loop by Numba (LLVM), in prepare(), cached on disk",
    "threads": "single-threaded code",
    "idiom": "best: the speed-of-light loop, no framework",
}


@numba.njit(cache=True)
def train_in_place(x, y, wh, wo, lr, one, inv_batch, loss_history, o):
    """Train wh and wo in place; `one` and `inv_batch` (1 and 1/B in the problem's dtype) keep float32 in float32."""
    batch, n_in = x.shape
    n_hidden, n_out = wh.shape[0], wo.shape[0]
    h = np.empty((batch, n_hidden), dtype=x.dtype)
    d_output = np.empty((batch, n_out), dtype=x.dtype)
    d_hidden = np.empty((batch, n_hidden), dtype=x.dtype)
    zero = one - one
    for epoch in range(loss_history.size):
        squared_error = zero
        for b in range(batch):
            for j in range(n_hidden):  # h = s(Wh x)
                z = zero
                for i in range(n_in):
                    z += wh[j, i] * x[b, i]
                h[b, j] = one / (one + math.exp(-z))
            for k in range(n_out):  # o = s(Wo h), dO = (y - o) o (1 - o) / B
                z = zero
                for j in range(n_hidden):
                    z += wo[k, j] * h[b, j]
                o[b, k] = one / (one + math.exp(-z))
                error = y[b, k] - o[b, k]
                squared_error += error * error
                d_output[b, k] = error * o[b, k] * (one - o[b, k]) * inv_batch
            for j in range(n_hidden):  # dH = (Wo^T dO) h (1 - h), before Wo changes
                z = zero
                for k in range(n_out):
                    z += wo[k, j] * d_output[b, k]
                d_hidden[b, j] = z * h[b, j] * (one - h[b, j])
        loss_history[epoch] = squared_error * inv_batch / n_out
        for k in range(n_out):  # Wo += lr dO h^T
            for j in range(n_hidden):
                z = zero
                for b in range(batch):
                    z += d_output[b, k] * h[b, j]
                wo[k, j] += lr * z
        for j in range(n_hidden):  # Wh += lr dH x^T
            for i in range(n_in):
                z = zero
                for b in range(batch):
                    z += d_hidden[b, j] * x[b, i]
                wh[j, i] += lr * z


def prepare(problem: Problem):
    """Compile the loop for this dtype (cached on disk after the first time); return it."""
    x, y = problem.batch_inputs, problem.batch_targets
    dtype = np.dtype(problem.dtype).type
    lr, one, inv_batch = dtype(problem.learning_rate), dtype(1), dtype(1 / len(x))

    def train() -> TrainResult:
        wh, wo = problem.weights_hidden.copy(), problem.weights_output.copy()
        loss_history = np.empty(problem.epochs, dtype=problem.dtype)
        o = np.empty_like(y)
        train_in_place(x, y, wh, wo, lr, one, inv_batch, loss_history, o)
        return TrainResult(wh, wo, loss_history, problem.unbatch(o))

    # compile now, on one epoch of throwaway copies, so no timed call pays for it
    train_in_place(x, y, problem.weights_hidden.copy(), problem.weights_output.copy(), lr, one, inv_batch,
                   np.empty(1, dtype=problem.dtype), np.empty_like(y))
    return train
