"""The speed-of-light loop's own machinery: its vectorizable sigmoid, and each of its loop layouts against NumPy."""

import numba
import numpy as np
import pytest

from implementations import get, random_problem
from implementations.agreement import FLOAT64_TOLERANCE
from implementations.problem import RESULT_FIELDS

native = pytest.importorskip("implementations.with_numba")

# per dtype: the sigmoid's largest relative error, and the agreement of a short training run with NumPy's
PRECISION = {
    "float64": (4 * np.finfo(np.float64).eps, FLOAT64_TOLERANCE),
    "float32": (4 * np.finfo(np.float32).eps, 1e-5),
}


@numba.njit(error_model="numpy")
def sigmoid_of(z):
    out = np.empty_like(z)
    for j in range(z.size):
        out[j] = native.sigmoid(z[j])
    return out


@pytest.mark.parametrize("dtype", PRECISION)
def test_the_vectorized_sigmoid_is_as_exact_as_the_dtype_allows(dtype):
    z = np.concatenate([np.linspace(-50, 50, 100_001), [-1000, -745, -88, 0, 88, 745, 1000]]).astype(dtype)
    exact = 1 / (1 + np.exp(-z.astype(np.longdouble)))
    computed = sigmoid_of(z)
    assert computed.dtype == dtype
    # past the clamp the sigmoid has saturated: there it stops at its value at the clamp, far below anything trained
    floor = 1 / (1 + np.exp(np.longdouble(native.EXP_CONSTANTS[np.dtype(dtype).type][0])))
    saturated = exact < floor
    assert np.max(np.abs(computed - exact)[~saturated] / exact[~saturated]) < PRECISION[dtype][0]
    assert np.all(computed[saturated] <= floor * (1 + PRECISION[dtype][0]))


# a shape per way the loop runs: sizes compiled in, by sample (wide), by layer (narrow, many samples), in chunks
LAYOUTS = {"tiny": (3, 4), "by sample": (200, 30), "by layer": (5, 300), "by sample in chunks": (1024, 24)}


@pytest.mark.parametrize("dtype", PRECISION)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_trains_as_numpy_does(layout, dtype, monkeypatch):
    n_hidden, batch = LAYOUTS[layout]
    if layout.endswith("chunks"):  # cut in two as with two threads (a pool of one thread runs the chunks in turn)
        monkeypatch.setattr(native.numba, "get_num_threads", lambda: 2)
    problem = random_problem(
        7, n_in=3, n_hidden=n_hidden, n_out=2, batch=batch, learning_rate=0.1, epochs=40, dtype=dtype
    )
    result, reference = get("native").train(problem), get("numpy").train(problem)
    for name in RESULT_FIELDS:
        assert getattr(result, name).dtype == dtype
        np.testing.assert_allclose(
            getattr(result, name), getattr(reference, name), rtol=0, atol=PRECISION[dtype][1], err_msg=name
        )
