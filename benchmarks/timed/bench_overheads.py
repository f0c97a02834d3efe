"""Where the time goes: the pieces of one epoch, timed apart, on the notebook's problem."""

import numpy as np
import pytest

from benchmarks.plugin.environment import enforce_threads
from benchmarks.plugin.parameters import skip_unless_available
from implementations import seed_problem

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
    # probe: (framework, what one call is, set-up returning the function to time)
    "one NumPy call (np.exp of 3 numbers)": ("numpy", "per call", numpy_one_call),
    "forward + loss, autograd recording": ("torch", "per epoch", torch_forward_recording),
    "forward + loss, torch.no_grad": ("torch", "per epoch", torch_forward_no_grad),
    "forward + loss + autograd.grad": ("torch", "per epoch", torch_backward),
    "one call of the compiled step": ("jax", "per epoch", jax_step_dispatch),
    **{
        f"lax.scan of 1000 epochs, {dtype}, {'with' if history else 'without'} loss history, lr {how}":
        ("jax", "per 1000 epochs", lambda dtype=dtype, history=history, lr_argument=lr_argument: _jax_scan(dtype, history, lr_argument))
        for dtype in ("float64", "float32")
        for history in (True, False)
        for lr_argument, how in ((False, "compiled in"), (True, "passed as an argument"))
    },
}


@pytest.mark.parametrize("probe", [pytest.param(probe, id=f"probe{index}", marks=skip_unless_available(framework))
                                   for index, (probe, (framework, *_)) in enumerate(PROBES.items())])
def test_where_the_time_goes(benchmark, probe, pytestconfig):
    """Time one piece of an epoch, to explain the training loop's time per epoch."""
    framework, unit, set_up = PROBES[probe]
    function = set_up()
    threads = enforce_threads(pytestconfig.threads)
    function()
    benchmark.group = "where the time goes"
    benchmark(function)
    benchmark.extra_info.update(probe=probe, framework=framework, unit=unit, threads=threads)
