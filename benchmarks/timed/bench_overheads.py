"""Where the time goes: the pieces of one epoch, timed apart, on the notebook's problem."""

from functools import partial

import numpy as np
import pytest

from benchmarks.plugin.parameters import skip_unless_available
from implementations import seed_problem

from .loops import calibrated_iterations, sample

PROBLEM = seed_problem()


def numpy_one_call():
    """One NumPy call on 3 numbers: the price of each of the array operations in an epoch."""
    z = np.array([0.5, 0.9, -0.3])
    return lambda: np.exp(z)


def _torch_inputs(requires_grad):
    import torch

    x, y = torch.tensor(PROBLEM.batch_inputs), torch.tensor(PROBLEM.batch_targets)
    wh = torch.tensor(PROBLEM.weights_hidden, requires_grad=requires_grad)
    wo = torch.tensor(PROBLEM.weights_output, requires_grad=requires_grad)
    return torch, wh, wo, x, y


def torch_forward_recording():
    """Forward pass and loss with autograd recording the graph."""
    from implementations.with_torch import loss_and_outputs

    _, wh, wo, x, y = _torch_inputs(True)
    return lambda: loss_and_outputs(wh, wo, x, y)


def torch_forward_no_grad():
    """The same forward pass and loss with autograd off."""
    from implementations.with_torch import loss_and_outputs

    torch, wh, wo, x, y = _torch_inputs(False)

    def forward():
        with torch.no_grad():
            return loss_and_outputs(wh, wo, x, y)

    return forward


def torch_backward():
    """torch.autograd.grad of the loss: walking the recorded graph back (the forward pass included)."""
    from implementations.with_torch import loss_and_outputs

    torch, wh, wo, x, y = _torch_inputs(True)
    return lambda: torch.autograd.grad(loss_and_outputs(wh, wo, x, y)[0], (wh, wo))


def jax_step_dispatch():
    """One call of the compiled step from Python: what the `jax` implementation pays every epoch."""
    import jax
    import jax.numpy as jnp

    from implementations.with_jax import step

    with jax.enable_x64(True):
        weights = (jnp.asarray(PROBLEM.weights_hidden), jnp.asarray(PROBLEM.weights_output))
        x, y, lr = jnp.asarray(PROBLEM.batch_inputs), jnp.asarray(PROBLEM.batch_targets), jnp.asarray(0.1)
        compiled = jax.jit(step).lower(weights, x, y, lr).compile()
    return lambda: jax.block_until_ready(compiled(weights, x, y, lr))


def _jax_scan(dtype, history, lr_argument):
    """The whole 1000-epoch scan with or without the loss history, the learning rate compiled in or passed."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    from implementations.with_jax import step

    def train(weights, x, y, lr):
        def epoch(carry, _):
            weights, loss, o = step(carry[0], x, y, lr)
            return (weights, o), loss if history else None

        return lax.scan(epoch, (weights, jnp.zeros_like(y)), length=PROBLEM.epochs)

    problem = PROBLEM.with_dtype(dtype)
    with jax.enable_x64(True):
        weights = (jnp.asarray(problem.weights_hidden), jnp.asarray(problem.weights_output))
        x, y = jnp.asarray(problem.batch_inputs), jnp.asarray(problem.batch_targets)
        if lr_argument:
            lr = jnp.asarray(problem.learning_rate, dtype=dtype)
            compiled = jax.jit(train).lower(weights, x, y, lr).compile()
            return lambda: jax.block_until_ready(compiled(weights, x, y, lr))
        compiled = jax.jit(train, static_argnums=3).lower(weights, x, y, problem.learning_rate).compile()
        return lambda: jax.block_until_ready(compiled(weights, x, y))


PROBES = {
    # the benchmark's id, named by what it times: (framework, what one call is, description, set-up returning the
    # function to time)
    "numpy-exp-of-3-numbers": ("numpy", "per call", "one NumPy call (np.exp of 3 numbers)", numpy_one_call),
    "torch-forward-loss-recording": (
        "torch",
        "per epoch",
        "forward + loss, autograd recording",
        torch_forward_recording,
    ),
    "torch-forward-loss-no-grad": ("torch", "per epoch", "forward + loss, torch.no_grad", torch_forward_no_grad),
    "torch-forward-loss-autograd-grad": ("torch", "per epoch", "forward + loss + autograd.grad", torch_backward),
    "jax-compiled-step-call": ("jax", "per epoch", "one call of the compiled step", jax_step_dispatch),
    **{
        f"jax-scan-{dtype}-{'with' if history else 'no'}-history-lr-{'argument' if lr_argument else 'compiled'}": (
            "jax",
            "per 1000 epochs",
            f"lax.scan of 1000 epochs, {dtype}, {'with' if history else 'without'} loss history, lr "
            + ("passed as an argument" if lr_argument else "compiled in"),
            lambda dtype=dtype, history=history, lr_argument=lr_argument: _jax_scan(dtype, history, lr_argument),
        )
        for dtype in ("float64", "float32")
        for history in (True, False)
        for lr_argument in (False, True)
    },
}


# in a plain test run, each probe compiled and called once: the full suite's check, not the quick tier's
@pytest.mark.slow
@pytest.mark.parametrize(
    "probe",
    [
        pytest.param(probe, id=probe, marks=skip_unless_available(framework))
        for probe, (framework, *_) in PROBES.items()
    ],
)
def test_where_the_time_goes(benchmark, probe, measurement):
    """Time one piece of an epoch under the run's budget, to explain the training loop's time per epoch."""
    framework, unit, description, set_up = PROBES[probe]
    function = set_up()
    threads = measurement.enforce_threads()
    function()
    benchmark.group = "where the time goes"
    if not benchmark.enabled:  # a plain test run: the piece once, through the disabled fixture
        benchmark(function)
    else:
        budget = measurement.budget
        iterations, call_s = calibrated_iterations(function, budget)
        replicate, replicates = measurement.replicate
        durations = sample(
            function,
            iterations,
            budget,
            partial(budget.samples_needed, replicate=replicate, replicates=replicates),
            call_s,
            lambda _: None,
            measurement.disable_gc,
        )
        measurement.record(benchmark, durations, iterations)
    benchmark.extra_info.update(kind="probe", probe=description, framework=framework, unit=unit, threads=threads)
