"""The notebook's network in MLX with the step under mx.compile (one fused graph per shape), called each epoch."""

import dataclasses

import mlx.core as mx

from .problem import Problem
from .with_mlx import run_epochs, step

FRAMEWORK = "mlx"
VARIANT = "the value_and_grad step under mx.compile"
COMPILED = True
GRADIENTS = "autodiff"
REQUIRES = ("mlx>=0.32", "mlx-cpu>=0.32")  # the distributions it needs
EXTRAS = ("mlx",)  # the suite's extras that install them
PROGRAMS = (
    {
        "program": "g++",
        "variable": None,
        "package": "g++",  # beyond pip
        "for": "mx.compile fuses the CPU kernels into C++ that g++ builds; without it MLX runs them unfused, another "
        "program",
    },
)
COST_CLASS = "compiled step"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "mx.eval of the weights, loss and outputs every epoch (MLX is lazy)",
    "compiled": "the step by mx.compile, on its first call in prepare()",
    "threads": "no thread setting: CPU affinity only",
    "idiom": "best: the compiled step",
}

compiled_step = mx.compile(step)


def prepare(problem: Problem):
    """Compile the step for this problem's shapes and dtype (one epoch run once); return the training loop."""
    run_epochs(compiled_step, dataclasses.replace(problem, epochs=1))
    return lambda: run_epochs(compiled_step, problem)
