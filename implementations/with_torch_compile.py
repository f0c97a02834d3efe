"""The notebook's network in PyTorch with the functional training step compiled by torch.compile (inductor)."""

import torch

from .problem import Problem
from .with_torch_func import run_epochs, step

FRAMEWORK = "torch"
VARIANT = "torch.compile of the torch.func step"
COMPILED = True
GRADIENTS = "autodiff"
REQUIRES = ("torch>=2.4",)  # the distributions it needs
EXTRAS = ("torch",)  # the suite's extras that install them
# beyond pip
PROGRAMS = (
    {
        "program": "g++",
        "variable": "CXX",
        "for": "Inductor compiles the CPU kernels with a C++ compiler",
        "package": "g++",
    },
)
COST_CLASS = "compiled step"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "the compiled step runs eagerly on the CPU; .numpy() at the end",
    "compiled": "the torch.func step by torch.compile (inductor), in prepare()",
    "threads": "torch.set_num_threads and set_num_interop_threads",
    "idiom": "best: PyTorch at its fastest here",
}

# fullgraph: a graph break (torch.autograd.grad inside the step causes one) would fall back to slow eager pieces
compiled_step = torch.compile(step, fullgraph=True)


def prepare(problem: Problem):
    """Compile the step for this problem's shapes and dtype (one epoch run once); return the training loop."""
    warm_up = Problem(
        problem.inputs,
        problem.targets,
        problem.weights_hidden,
        problem.weights_output,
        problem.learning_rate,
        1,
        problem.dtype,
    )
    run_epochs(compiled_step, warm_up)
    return lambda: run_epochs(compiled_step, problem)
