"""Every implementation computes the same training run: the notebook's numbers, each other's, and the math's."""

import dataclasses
import itertools
from functools import cache

import numpy as np
import pytest

from benchmarks.model.roofline import EpochWork
from benchmarks.plugin.notebook import check_notebook_result
from benchmarks.plugin.parameters import skip_unless_available
from implementations import Problem, get, random_problem, seed_problem
from implementations.agreement import FLOAT64_TOLERANCE, largest_differences, result_tolerance
from implementations.problem import RESULT_FIELDS
from implementations.registry import REFERENCE, REGISTRY, declaration
from tests.helpers import implementation_params, loss, outputs

NAMES = implementation_params()

# layer sizes, batch sizes (None: one sample, as in the notebook), learning rates and seeds
RANDOM_CASES = {
    "1-1-1 single lr1": dict(seed=4, n_in=1, n_hidden=1, n_out=1, learning_rate=1.0),
    "3-3-2 single lr0.1": dict(seed=0),
    "10-32-3 batch1 lr2": dict(seed=2, n_in=10, n_hidden=32, n_out=3, batch=1, learning_rate=2.0),
    "5-8-4 batch16 lr0.5": dict(seed=1, n_in=5, n_hidden=8, n_out=4, batch=16, learning_rate=0.5),
    "4-64-10 batch64 lr0.01": dict(seed=3, n_in=4, n_hidden=64, n_out=10, batch=64, learning_rate=0.01),
    "3-128-2 batch7 lr0.3": dict(seed=5, n_hidden=128, batch=7, learning_rate=0.3),
}


# the quick tier's problems: one sample, and a batch; the others, and the notebook's 1000 epochs (a minute for Keras's
# fit()), are the full suite's
QUICK_CASES = {"3-3-2 single lr0.1", "5-8-4 batch16 lr0.5"}
# enough for float32 to drift measurably from float64, and for Keras (tens of ms an epoch) to stay quick
RANDOM_CASE_EPOCHS = 20


def tier(case: str, quick=QUICK_CASES) -> list[pytest.MarkDecorator]:
    """The case's tier: the quick one's, or slow (the full suite's)."""
    return [] if case in quick else [pytest.mark.slow]


def trained_on(name: str, case: str) -> bool:
    """Whether the implementation is trained on the case: up to the largest epoch (in multiply-adds) it declares itself
    practical at (its SWEEP_RANGE's upper bound: micrograd's graph of Python objects takes seconds an epoch past it, and
    the plain-Python oracle's range ends there too). The range's lower bound says where a timing is all overhead, which
    does not bear on what it computes."""
    _, largest, _ = declaration(name).sweep_range or (0, None, "")
    return largest is None or EpochWork.of(**problem(case).sizes, itemsize=8).multiply_adds <= largest


def implementations_on(*case_names: str, quick=QUICK_CASES) -> list:
    """(implementation, case) test parameters for every implementation and every named case it is trained on, those not
    in `quick` marked slow, skipped with the reason where the implementation is unavailable."""
    return [
        pytest.param(name, case, id=f"{name}-{case}", marks=[*skip_unless_available(name), *tier(case, quick)])
        for case in case_names
        for name in REGISTRY
        if trained_on(name, case)
    ]


def pairs_on(*case_names: str) -> list:
    """(first, second, case) test parameters for every pair of implementations and every named case both are trained
    on."""
    return [
        pytest.param(
            first,
            second,
            case,
            id=f"{first}-{second}-{case}",
            marks=[*skip_unless_available(first, second), *tier(case)],
        )
        for first, second in itertools.combinations(REGISTRY, 2)
        for case in case_names
        if trained_on(first, case) and trained_on(second, case)
    ]


@cache
def problem(case: str, dtype: str = "float64") -> Problem:
    """The named problem: the notebook's, or one of the random cases."""
    if case == "notebook":
        return seed_problem(dtype)
    return random_problem(epochs=RANDOM_CASE_EPOCHS, dtype=dtype, **RANDOM_CASES[case])


@pytest.fixture
def trained(trainings):
    """One implementation's result on a named problem, trained once per test run (the run's trainings are shared with
    the benchmarks' plain-run calls, and between parallel workers)."""
    return lambda name, case, dtype="float64": trainings.of(name, problem(case, dtype))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_reproduces_the_notebooks_printed_results(name, trained):
    check_notebook_result(trained(name, "notebook"), get(name).float64_exact)


def test_a_result_off_by_one_printed_digit_fails_the_notebook_check(trained):
    result = trained(REFERENCE, "notebook")
    nudged = dataclasses.replace(result, weights_output=result.weights_output + 1e-8)
    with pytest.raises(AssertionError, match="weights_output"):
        check_notebook_result(nudged)


@pytest.mark.parametrize(("first", "second", "case"), pairs_on("notebook", *RANDOM_CASES))
def test_pairs_agree_in_float64_on_every_epoch(first, second, case, trained):
    # 1e-12 between float64-exact implementations; one that is declared not exact is held to float32's drift bound
    exact = get(first).float64_exact and get(second).float64_exact
    allowed = result_tolerance(problem(case), trained(REFERENCE, case), exact)
    differences = largest_differences(trained(first, case), trained(second, case))
    assert max(differences.values()) <= allowed, differences


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=skip_unless_available(name)) for name in REGISTRY if declaration(name).float64_cause],
)
def test_a_declared_float64_shortfall_is_measured_not_assumed(name, trained):
    # the declaration goes once the framework computes in float64 throughout (a Keras release that fixes it)
    worst = max(
        max(largest_differences(trained(name, case), trained(REFERENCE, case)).values())
        for case in ["notebook", *RANDOM_CASES]
        if trained_on(name, case)
    )
    assert worst > FLOAT64_TOLERANCE, f"{name} now agrees within {worst:.1e}: delete its FLOAT64_CAUSE"


@pytest.mark.parametrize(("name", "case"), implementations_on("notebook", *RANDOM_CASES))
def test_results_have_the_documented_shapes_and_dtype(name, case, trained):
    p, result = problem(case), trained(name, case)
    # one that is not float64-exact returns what it computed: float32 where its framework computes in float32
    dtypes = (np.float64,) if get(name).float64_exact else (np.float64, np.float32)
    expected = {
        "weights_hidden": p.weights_hidden.shape,
        "weights_output": p.weights_output.shape,
        "loss_history": (p.epochs,),
        "final_output": p.targets.shape,
    }
    for field in RESULT_FIELDS:
        value = getattr(result, field)
        assert isinstance(value, np.ndarray), field
        assert value.dtype in dtypes, field
        assert value.shape == expected[field], field


# the notebook's problem in float32 is checked, for every implementation, by its benchmark in a plain test run
@pytest.mark.parametrize(
    ("name", "case"), implementations_on("3-3-2 single lr0.1", "5-8-4 batch16 lr0.5", quick={"5-8-4 batch16 lr0.5"})
)
def test_float32_tracks_float64_within_accumulated_rounding(name, case, trained):
    # the bound is the worst case of rounding every weight once per epoch (see float32_drift_bound)
    exact, single = trained(REFERENCE, case), trained(name, case, "float32")
    bound = result_tolerance(problem(case, "float32"), exact)
    differences = largest_differences(single, exact)
    assert all(getattr(single, field).dtype == np.float32 for field in RESULT_FIELDS)
    assert max(differences.values()) <= bound, differences
    assert max(differences.values()) > 1e-10, "float32 run is bit-identical to float64: was it computed in float32?"


# one epoch each, the notebook's too
@pytest.mark.parametrize(
    ("name", "case"),
    implementations_on(
        "notebook", "1-1-1 single lr1", "5-8-4 batch16 lr0.5", "3-128-2 batch7 lr0.3", quick={"notebook"}
    ),
)
def test_one_step_follows_the_gradient_by_central_differences(name, case):
    one_epoch = dataclasses.replace(problem(case), epochs=1)
    step = get(name).train(one_epoch)
    # W1 = W0 - lr * dL/dW, so the gradient each implementation used is (W0 - W1) / lr
    used = [
        (w0 - w1) / one_epoch.learning_rate
        for w0, w1 in ((one_epoch.weights_hidden, step.weights_hidden), (one_epoch.weights_output, step.weights_output))
    ]
    weights, h = [one_epoch.weights_hidden.copy(), one_epoch.weights_output.copy()], 1e-6
    for layer, gradient in enumerate(used):
        numeric = np.zeros_like(gradient)
        for index in np.ndindex(gradient.shape):
            plus, minus = [w.copy() for w in weights], [w.copy() for w in weights]
            plus[layer][index] += h
            minus[layer][index] -= h
            numeric[index] = (loss(one_epoch, *plus) - loss(one_epoch, *minus)) / (2 * h)
        np.testing.assert_allclose(gradient, numeric, rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_loss_history_and_final_output_come_from_each_epochs_forward_pass(name, trained):
    # the loss of epoch k is measured at the weights after k updates, and the final output at the last epoch's weights
    p = problem("5-8-4 batch16 lr0.5")
    full = trained(name, "5-8-4 batch16 lr0.5")
    exact = get(name).float64_exact  # else held to its own bound: float32's drift bound
    allowed = 1e-13 if exact else result_tolerance(p, trained(REFERENCE, "5-8-4 batch16 lr0.5"), exact=False)
    for k in (1, 17, p.epochs - 1):
        before_k = get(name).train(dataclasses.replace(p, epochs=k))
        o = outputs(p, before_k.weights_hidden, before_k.weights_output)
        assert full.loss_history[k] == pytest.approx(
            np.mean((p.batch_targets - o) ** 2), rel=1e-12, abs=0 if exact else allowed
        )
    np.testing.assert_allclose(full.final_output, p.unbatch(o), rtol=0, atol=allowed)
    initial_loss = np.mean((p.batch_targets - outputs(p, p.weights_hidden, p.weights_output)) ** 2)
    assert full.loss_history[0] == pytest.approx(initial_loss, rel=1e-13, abs=0 if exact else allowed)


@pytest.mark.parametrize("name", NAMES)
def test_training_leaves_the_problem_untouched_and_repeats_exactly(name, trained):
    p = problem("3-3-2 single lr0.1")
    before = [a.copy() for a in (p.weights_hidden, p.weights_output, p.inputs, p.targets)]
    # the run's training of it (here, or in another test or worker), and one more here
    first, second = trained(name, "3-3-2 single lr0.1"), get(name).train(p)
    for original, now in zip(before, (p.weights_hidden, p.weights_output, p.inputs, p.targets), strict=True):
        np.testing.assert_array_equal(original, now)
    assert largest_differences(first, second) == dict.fromkeys(RESULT_FIELDS, 0.0)


@pytest.mark.parametrize("name", [pytest.param("jax", marks=skip_unless_available("jax"))])
def test_jax_float64_stays_inside_the_implementation(name, trained):
    import jax.numpy as jnp

    trained(name, "notebook")
    assert jnp.ones(2).dtype == jnp.float32  # JAX's default for the rest of the process
