"""The speed-of-light reference: the same math as loops compiled to machine code by Numba, no framework.

Nothing of size batch x hidden is stored unless the layer is narrow. A wide layer goes one sample at a time,
forward and backward fused, its hidden layer in the L1 cache while the gradients add up, loops along the hidden
layer; a narrow layer with many samples goes a layer at a time, loops along the batch. Either way the loops are
contiguous so LLVM vectorizes them, and the sigmoid's exp is a polynomial LLVM can vectorize too (a libm call cannot
be). A network of a few numbers gets its sizes compiled in, so its loops unroll; with more than one thread, a wide
layer's batch runs in chunks in parallel, each with its own gradients, summed before the update.
"""

import functools
import math

import numba
import numpy as np
from numba import prange, types
from numba.extending import intrinsic, overload

from .problem import Problem, TrainResult

FRAMEWORK = "numba"
VARIANT = "fused, vectorized loops compiled by Numba"
COMPILED = True
GRADIENTS = "hand-written"
REQUIRES = ("numba>=0.60",)  # the distributions it needs
COST_CLASS = "compiled loop"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "plain machine code: done when it returns",
    "compiled": "the loops by Numba (LLVM), in prepare(); cached on disk, tiny sizes compiled in",
    "threads": "numba.set_num_threads: with more than one, a wide layer's batch in chunks, in parallel",
    "idiom": "best: the speed-of-light loop, no framework",
}
TINY = 64  # hidden x batch up to which a scalar libm exp beats a vectorized one (the vectors are too short)
PARALLEL_WORK = 8192  # hidden x batch per thread below which a parallel region costs more than it saves


def set_threads(threads: int) -> dict[str, object]:
    """Numba's own pool, which the parallel loops use."""
    numba.set_num_threads(threads)
    return {"numba_threads": numba.get_num_threads(), "numba_threading_layer": numba.config.THREADING_LAYER}


# exp(t) = 2^n exp(r), t = n ln 2 + r, |r| <= ln(2)/2: Taylor terms of exp(r) to the dtype's precision, 2^n written
# into the exponent bits; t is clamped where the sigmoid has long saturated, so 2^n stays a normal number
EXP_CONSTANTS = {  # dtype: (largest |t|, ln 2 in a high and a low part, Taylor degree, exponent bias, mantissa bits)
    np.float64: (708.0, 6.93147180369123816490e-01, 1.90821492927058770002e-10, 13, 1023, 52),
    np.float32: (87.0, 0.693359375, -2.12194440e-4, 7, 127, 23),
}
BY_SAMPLE, BY_LAYER = 0, 1  # how an epoch's samples are computed: loops along the hidden layer, or the batch


@intrinsic
def float_from_bits(typingctx, bits):
    """The float whose bit pattern is this integer's (a no-op in machine code, so loops still vectorize)."""
    float_type = types.float64 if bits.bitwidth == 64 else types.float32

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(float_type))

    return float_type(bits), codegen


def sigmoid(z):
    """s(z) = 1 / (1 + e^-z) in z's own precision, as code LLVM can vectorize (a libm call cannot be)."""


def _sigmoid_in(dtype):
    limit, ln2_high, ln2_low, degree, bias, mantissa = EXP_CONSTANTS[dtype]
    int_t = {np.float64: np.int64, np.float32: np.int32}[dtype]
    coefficients = tuple(dtype(1 / math.factorial(k)) for k in range(degree, -1, -1))
    limit, ln2_high, ln2_low, log2e, half, one = (dtype(v) for v in (limit, ln2_high, ln2_low, 1 / math.log(2), 0.5, 1))

    def vectorizable_sigmoid(z):
        t = min(max(-z, -limit), limit)
        n = np.floor(t * log2e + half)
        r = (t - n * ln2_high) - n * ln2_low
        p = coefficients[0]
        for c in coefficients[1:]:  # a constant count: LLVM unrolls it
            p = p * r + c
        return one / (one + p * float_from_bits(int_t((np.int64(n) + bias) << mantissa)))

    return vectorizable_sigmoid


SIGMOIDS = {bits: _sigmoid_in(dtype) for bits, dtype in ((64, np.float64), (32, np.float32))}


@overload(sigmoid, fastmath={"contract"}, error_model="numpy")
def _sigmoid(z):
    return SIGMOIDS[z.bitwidth]


JIT = dict(fastmath={"contract", "reassoc"}, error_model="numpy", cache=True)  # reassoc: sums along vectors vectorize
INLINED = dict(JIT, inline="always")  # no call, and no reference counting of its arrays, per epoch


@numba.njit(**INLINED)
def by_sample(x, y, wh_t, wo, first, last, grad_h, grad_o, o, work, chunk, one):
    """Samples first..last-1 (columns of x, y, o) one at a time, loops along the hidden layer (wide layers): add their
    -B dL/dW to grad_h, grad_o, return their squared errors. work has rows h, dH, dO (first n_out places) per chunk."""
    (n_in, n_hidden), n_out, zero = wh_t.shape, wo.shape[0], one - one
    h, d_hidden, d_output = work[3 * chunk], work[3 * chunk + 1], work[3 * chunk + 2]
    squared_error = zero
    for b in range(first, last):
        for j in range(n_hidden):  # h = s(Wh x)
            h[j] = zero
        for i in range(n_in):
            for j in range(n_hidden):
                h[j] += wh_t[i, j] * x[i, b]
        for j in range(n_hidden):
            h[j] = sigmoid(h[j])
        for k in range(n_out):  # o = s(Wo h), dO = (y - o) o (1 - o)
            z = zero
            for j in range(n_hidden):
                z += wo[k, j] * h[j]
            out = sigmoid(z)
            o[k, b] = out
            error = y[k, b] - out
            squared_error += error * error
            d_output[k] = error * out * (one - out)
        for j in range(n_hidden):  # dH = (Wo^T dO) h (1 - h); dO h^T
            d_hidden[j] = zero
        for k in range(n_out):
            for j in range(n_hidden):
                d_hidden[j] += wo[k, j] * d_output[k]
                grad_o[k, j] += d_output[k] * h[j]
        for j in range(n_hidden):
            d_hidden[j] *= h[j] * (one - h[j])
        for i in range(n_in):  # dH x^T
            for j in range(n_hidden):
                grad_h[i, j] += d_hidden[j] * x[i, b]
    return squared_error


@numba.njit(**INLINED)
def by_layer(x, y, wh_t, wo, first, last, grad_h, grad_o, o, work, chunk, one):
    """Samples first..last-1 (columns of x, y, o) a layer at a time, loops along the batch (narrow layers): add their -B
    dL/dW to grad_h, grad_o, return their squared errors. work's columns are samples: rows h, dO, and one for sums."""
    (n_in, n_hidden), n_out, zero = wh_t.shape, wo.shape[0], one - one
    h, d_output, row = work[:n_hidden], work[n_hidden : n_hidden + n_out], work[n_hidden + n_out]
    squared_error = zero
    for j in range(n_hidden):  # h = s(Wh x)
        for b in range(first, last):
            h[j, b] = zero
        for i in range(n_in):
            for b in range(first, last):
                h[j, b] += wh_t[i, j] * x[i, b]
        for b in range(first, last):
            h[j, b] = sigmoid(h[j, b])
    for k in range(n_out):  # o = s(Wo h), dO = (y - o) o (1 - o)
        for b in range(first, last):
            row[b] = zero
        for j in range(n_hidden):
            for b in range(first, last):
                row[b] += wo[k, j] * h[j, b]
        for b in range(first, last):
            out = sigmoid(row[b])
            o[k, b] = out
            error = y[k, b] - out
            squared_error += error * error
            d_output[k, b] = error * out * (one - out)
    for j in range(n_hidden):  # dH = (Wo^T dO) h (1 - h); dO h^T, dH x^T
        for b in range(first, last):
            row[b] = zero
        for k in range(n_out):
            for b in range(first, last):
                row[b] += wo[k, j] * d_output[k, b]
        for b in range(first, last):
            row[b] *= h[j, b] * (one - h[j, b])
        for k in range(n_out):
            z = zero
            for b in range(first, last):
                z += d_output[k, b] * h[j, b]
            grad_o[k, j] += z
        for i in range(n_in):
            z = zero
            for b in range(first, last):
                z += row[b] * x[i, b]
            grad_h[i, j] += z
    return squared_error


@functools.cache
def tiny_kernel(n_in: int, n_hidden: int, n_out: int, batch: int):
    """The training loop for a network of a few numbers, its sizes compiled in so LLVM unrolls every loop: libm's exp,
    whose latency beats the vectorized polynomial's on so few, and the weights updated straight from dO and dH."""

    @numba.njit(**JIT)
    def train_tiny(x, y, wh_t, wo, step, one, loss_history, o, work):
        """As train_in_place; work's rows hold h, dH and dO, a sample per column."""
        zero = one - one
        h, d_hidden, d_output = work[:n_hidden], work[n_hidden : 2 * n_hidden], work[2 * n_hidden :]
        for epoch in range(loss_history.size):
            squared_error = zero
            for b in range(batch):
                for j in range(n_hidden):  # h = s(Wh x)
                    z = zero
                    for i in range(n_in):
                        z += wh_t[i, j] * x[i, b]
                    h[j, b] = one / (one + math.exp(-z))
                for k in range(n_out):  # o = s(Wo h), dO = (y - o) o (1 - o)
                    z = zero
                    for j in range(n_hidden):
                        z += wo[k, j] * h[j, b]
                    out = one / (one + math.exp(-z))
                    o[k, b] = out
                    error = y[k, b] - out
                    squared_error += error * error
                    d_output[k, b] = error * out * (one - out)
                for j in range(n_hidden):  # dH = (Wo^T dO) h (1 - h), before Wo changes
                    z = zero
                    for k in range(n_out):
                        z += wo[k, j] * d_output[k, b]
                    d_hidden[j, b] = z * h[j, b] * (one - h[j, b])
            loss_history[epoch] = squared_error / (batch * n_out)
            for k in range(n_out):  # Wo += lr dO h^T
                for j in range(n_hidden):
                    z = zero
                    for b in range(batch):
                        z += d_output[k, b] * h[j, b]
                    wo[k, j] += step * z
            for i in range(n_in):  # Wh += lr dH x^T
                for j in range(n_hidden):
                    z = zero
                    for b in range(batch):
                        z += d_hidden[j, b] * x[i, b]
                    wh_t[i, j] += step * z

    return train_tiny


@numba.njit(**INLINED)
def some_samples(layout, x, y, wh_t, wo, first, last, grad_h, grad_o, o, work, chunk, one):
    """The samples first..last-1 in the chosen layout."""
    if layout == BY_LAYER:
        return by_layer(x, y, wh_t, wo, first, last, grad_h, grad_o, o, work, chunk, one)
    return by_sample(x, y, wh_t, wo, first, last, grad_h, grad_o, o, work, chunk, one)


@numba.njit(**JIT, parallel=True)
def in_parallel(layout, x, y, wh_t, wo, grad_h, grad_o, o, work, errors, one):
    """The batch cut into as many chunks as grad_h has, run on Numba's threads."""
    batch, chunks = x.shape[1], grad_h.shape[0]
    for c in prange(chunks):
        errors[c] = some_samples(
            layout,
            x,
            y,
            wh_t,
            wo,
            c * batch // chunks,
            (c + 1) * batch // chunks,
            grad_h[c],
            grad_o[c],
            o,
            work,
            c,
            one,
        )


@numba.njit(**JIT)
def train_in_place(layout, x, y, wh_t, wo, step, one, chunks, loss_history, o, work):
    """Train wh_t (Wh transposed) and wo in place, one sample per column of x, y and o; step is lr / B; chunks of the
    batch run at once; `one` is 1 in the problem's dtype, which every constant derives from."""
    (n_in, n_hidden), (n_out, batch) = wh_t.shape, y.shape
    grad_h = np.zeros((chunks, n_in, n_hidden), dtype=wh_t.dtype)
    grad_o = np.zeros((chunks, n_out, n_hidden), dtype=wh_t.dtype)
    errors = np.empty(chunks, dtype=wh_t.dtype)
    for epoch in range(loss_history.size):
        if chunks == 1:
            errors[0] = some_samples(layout, x, y, wh_t, wo, 0, batch, grad_h[0], grad_o[0], o, work, 0, one)
        else:
            in_parallel(layout, x, y, wh_t, wo, grad_h, grad_o, o, work, errors, one)
        squared_error = one - one
        for c in range(chunks):  # Wo += lr dO h^T, Wh += lr dH x^T (the 1/B of dO applied here); gradients reset
            squared_error += errors[c]
            for k in range(n_out):
                for j in range(n_hidden):
                    wo[k, j] += step * grad_o[c, k, j]
                    grad_o[c, k, j] = 0
            for i in range(n_in):
                for j in range(n_hidden):
                    wh_t[i, j] += step * grad_h[c, i, j]
                    grad_h[c, i, j] = 0
        loss_history[epoch] = squared_error / (batch * n_out)


def prepare(problem: Problem):
    """Choose the loops for this shape, compile them for this dtype (cached on disk after the first time)."""
    x, y = problem.batch_inputs.T.copy(), problem.batch_targets.T.copy()  # a sample per column
    dtype = np.dtype(problem.dtype).type
    (n_hidden, n_in), (n_out, batch) = problem.weights_hidden.shape, y.shape
    step, one = dtype(problem.learning_rate / batch), dtype(1)
    if n_hidden * batch <= TINY:
        work = np.empty((2 * n_hidden + n_out, batch), dtype=dtype)
        train_tiny = tiny_kernel(n_in, n_hidden, n_out, batch)
        kernel = lambda wh_t, wo, loss_history, o: train_tiny(x, y, wh_t, wo, step, one, loss_history, o, work)  # noqa: E731
    else:  # vectors along the longer of the batch and the hidden layer
        layout = BY_LAYER if n_hidden < batch else BY_SAMPLE
        # only wide layers run in parallel: by layer, two threads took longer than one at every size tried
        chunks = (
            max(1, min(numba.get_num_threads(), batch, n_hidden * batch // PARALLEL_WORK)) if layout == BY_SAMPLE else 1
        )
        shape = (n_hidden + n_out + 1, batch) if layout == BY_LAYER else (3 * chunks, max(n_hidden, n_out))
        work = np.empty(shape, dtype=dtype)
        kernel = lambda wh_t, wo, loss_history, o: train_in_place(  # noqa: E731
            layout, x, y, wh_t, wo, step, one, chunks, loss_history, o, work
        )

    def train() -> TrainResult:
        wh_t, wo = problem.weights_hidden.T.copy(), problem.weights_output.copy()
        loss_history = np.empty(problem.epochs, dtype=problem.dtype)
        o = np.empty_like(y)
        kernel(wh_t, wo, loss_history, o)
        return TrainResult(wh_t.T.copy(), wo, loss_history, problem.unbatch(o.T.copy()))

    # compile now, on one epoch of throwaway copies, so no timed call pays for it
    kernel(
        problem.weights_hidden.T.copy(),
        problem.weights_output.copy(),
        np.empty(1, dtype=problem.dtype),
        np.empty_like(y),
    )
    return train
