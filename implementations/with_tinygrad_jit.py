"""The notebook's network in tinygrad with the step under TinyJit: its kernels captured once, then replayed each
epoch."""

import dataclasses

from tinygrad import TinyJit

from .problem import Problem
from .with_tinygrad import run_epochs, set_threads, step

FRAMEWORK = "tinygrad"
VARIANT = "the Tensor.gradient step under TinyJit"
COMPILED = True
GRADIENTS = "autodiff"
REQUIRES = ("tinygrad>=0.14",)  # the distributions it needs
EXTRAS = ("tinygrad",)  # the suite's extras that install them
# beyond pip
PROGRAMS = (
    {
        "program": "clang",
        "variable": "CC",
        "for": "tinygrad's CPU device compiles every kernel with it",
        "package": "clang",
    },
)
COST_CLASS = "compiled step"
CARD = {  # what makes the comparison fair, shown by `list` and the report
    "finished work": "every epoch realizes its tensors and copies the loss out",
    "compiled": "the step's kernels (clang) captured by TinyJit in prepare()",
    "threads": "no thread setting: CPU affinity only",
    "idiom": "best: TinyJit, as tinygrad's training examples use",
}
__all__ = ["prepare", "set_threads"]


def prepare(problem: Problem):
    """Capture the step's kernels for this problem's shapes and dtype (TinyJit records on its second call); return
    the training loop, which replays them with each call's own weights."""
    jitted = TinyJit(step)
    run_epochs(jitted, dataclasses.replace(problem, epochs=3))
    return lambda: run_epochs(jitted, problem)
