"""A Problem is valid when built, or it is refused with a message naming the problem."""

import dataclasses

import numpy as np
import pytest

from implementations import Problem, random_problem, seed_problem

SEED = seed_problem()
FIELDS = dict(
    inputs=SEED.inputs,
    targets=SEED.targets,
    weights_hidden=SEED.weights_hidden,
    weights_output=SEED.weights_output,
    learning_rate=0.1,
    epochs=1000,
)


def build(**changes):
    """The notebook's problem with some fields changed."""
    return Problem(**{**FIELDS, **changes})


def test_the_seed_problem_is_the_notebooks():
    assert SEED.sizes == {"n_in": 3, "n_hidden": 3, "n_out": 2, "batch": 1}
    assert (SEED.learning_rate, SEED.epochs, SEED.dtype, SEED.batched) == (0.1, 1000, "float64", False)
    np.testing.assert_array_equal(SEED.weights_output, [[-3, 1, -3], [0, 1, 2]])


def test_sizes_come_from_the_weights():
    p = random_problem(seed=0, n_in=7, n_hidden=11, n_out=5, batch=13)
    assert p.sizes == {"n_in": 7, "n_hidden": 11, "n_out": 5, "batch": 13}
    assert p.batch_inputs.shape == (13, 7) and p.batched


def test_arrays_are_read_only_copies():
    weights = np.array(SEED.weights_hidden)
    p = build(weights_hidden=weights)
    weights[0, 0] = 99.0
    assert p.weights_hidden[0, 0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        p.weights_hidden[0, 0] = 5.0


def test_float32_problems_hold_float32_arrays():
    assert SEED.with_dtype("float32").weights_hidden.dtype == np.float32


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        # the notebook's own bug: weights written (in, out) instead of one row per neuron
        (
            dict(weights_output=SEED.weights_output.T),
            r"weights_output has shape \(3, 2\) but must be \(n_out, n_hidden\)",
        ),
        (dict(weights_hidden=np.ones((3, 4))), r"inputs have shape \(3,\) .* n_in = 4"),
        (dict(targets=[0.9, 0.3, 0.1]), r"targets have shape \(3,\) .* n_out = 2"),
        (dict(inputs=np.ones((4, 3))), r"inputs \(4, 3\) and targets \(2,\) must hold the same samples"),
        (dict(inputs=np.ones((4, 3)), targets=np.ones((5, 2))), r"inputs \(4, 3\) and targets \(5, 2\)"),
        (dict(weights_hidden=np.ones(3)), r"weights_hidden must have shape \(n_hidden, n_in\), got shape \(3,\)"),
        (
            dict(inputs=np.ones((2, 2, 3))),
            r"inputs must have shape \(n_in,\) or \(batch, n_in\), got shape \(2, 2, 3\)",
        ),
        (dict(inputs=[]), r"inputs must not be empty"),
        (dict(inputs=[0.5, float("nan"), -0.3]), r"inputs must be finite, but inputs\[1\] is nan"),
        (dict(weights_output=[[-3, 1, float("inf")], [0, 1, 2]]), r"weights_output\[0, 2\] is inf"),
        (dict(targets=["a", "b"]), r"targets must be an array of numbers"),
        (dict(weights_hidden=[[1, 2, 3], [4, 5]]), r"weights_hidden must be an array of numbers"),
        (dict(epochs=0), r"epochs must be an integer >= 1, got 0"),
        (dict(epochs=-5), r"epochs must be an integer >= 1, got -5"),
        (dict(epochs=10.5), r"epochs must be an integer >= 1, got 10.5"),
        (dict(epochs=True), r"epochs must be an integer >= 1, got True"),
        (dict(learning_rate=0), r"learning_rate must be a finite number > 0, got 0"),
        (dict(learning_rate=-0.1), r"learning_rate must be a finite number > 0, got -0.1"),
        (dict(learning_rate=float("nan")), r"learning_rate must be a finite number > 0, got nan"),
        (dict(learning_rate="fast"), r"learning_rate must be a number > 0, got 'fast'"),
        (dict(dtype="float16"), r"dtype must be one of float64, float32, got 'float16'"),
        (dict(inputs=[1e39, 0, 0], dtype="float32"), r"inputs must be finite, but inputs\[0\] is inf"),
    ],
)
def test_invalid_problems_are_refused_with_a_message_naming_the_problem(changes, message):
    with pytest.raises(ValueError, match=message):
        build(**changes)


def test_replacing_a_field_validates_again():
    with pytest.raises(ValueError, match="epochs"):
        dataclasses.replace(SEED, epochs=0)
