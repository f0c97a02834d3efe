"""The registry: every implementation by name, imported only when asked for.

Each implementation is one module in this package that follows `ImplementationModule`, and one line in
REGISTRY naming that module and the distributions it needs. Tests, benchmarks, the command line and the
reports all iterate over REGISTRY; nothing else lists the implementations.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import importlib
import importlib.util
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Protocol

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .own_process import prepare_elsewhere
from .problem import Diverged, Problem, TrainResult, blown_up


@dataclass(frozen=True)
class Entry:
    """Where an implementation lives, what it needs, and the environment its process must start with."""

    module: str  # its module in this package
    requires: tuple[str, ...]  # the distributions it needs, as requirements
    # set before anything is imported (Keras reads KERAS_BACKEND once per process): where this process's
    # environment differs, the implementation runs in a Python process of its own (see own_process.py)
    environment: dict[str, str] = field(default_factory=dict)
    extras: tuple[str, ...] = ()  # the suite's extras (pyproject.toml) that install what it needs; () for the core


KERAS = "keras>=3.15"
REGISTRY: dict[str, Entry] = {
    "numpy": Entry("with_numpy", ("numpy>=2.0",)),
    "torch": Entry("with_torch", ("torch>=2.4",), extras=("torch",)),
    "jax": Entry("with_jax", ("jax>=0.10", "jaxlib>=0.10"), extras=("jax",)),
    "jax-scan": Entry("with_jax_scan", ("jax>=0.10", "jaxlib>=0.10"), extras=("jax",)),
    "torch-func": Entry("with_torch_func", ("torch>=2.4",), extras=("torch",)),
    "torch-compile": Entry("with_torch_compile", ("torch>=2.4",), extras=("torch",)),
    "native": Entry("with_numba", ("numba>=0.60",)),
    "python": Entry("with_python", ("numpy>=2.0",)),
    "autograd": Entry("with_autograd", ("autograd>=1.7",), extras=("autograd",)),
    "tensorflow": Entry("with_tensorflow", ("tensorflow-cpu>=2.21",), extras=("tensorflow",)),
    "tensorflow-function": Entry("with_tensorflow_function", ("tensorflow-cpu>=2.21",), extras=("tensorflow",)),
    "tensorflow-xla": Entry("with_tensorflow_xla", ("tensorflow-cpu>=2.21",), extras=("tensorflow",)),
    "mlx": Entry("with_mlx", ("mlx>=0.32", "mlx-cpu>=0.32"), extras=("mlx",)),
    "mlx-compile": Entry("with_mlx_compile", ("mlx>=0.32", "mlx-cpu>=0.32"), extras=("mlx",)),
    "tinygrad": Entry("with_tinygrad", ("tinygrad>=0.14",), extras=("tinygrad",)),
    "tinygrad-jit": Entry("with_tinygrad_jit", ("tinygrad>=0.14",), extras=("tinygrad",)),
    "keras-jax": Entry("with_keras_jax", (KERAS, "jax>=0.10", "jaxlib>=0.10"), {"KERAS_BACKEND": "jax"}, ("keras", "jax")),
    "keras-torch": Entry("with_keras_torch", (KERAS, "torch>=2.4"), {"KERAS_BACKEND": "torch"}, ("keras", "torch")),
    "keras-tensorflow": Entry("with_keras_tensorflow", (KERAS, "tensorflow-cpu>=2.21"), {"KERAS_BACKEND": "tensorflow"}, ("keras", "tensorflow")),
    "keras-tensorflow-dataset": Entry("with_keras_tensorflow_dataset", (KERAS, "tensorflow-cpu>=2.21"), {"KERAS_BACKEND": "tensorflow"},
                                      ("keras", "tensorflow")),
}
CARD_ASPECTS = ("finished work", "compiled", "threads", "idiom")  # a fairness card's entries, in the order shown
REFERENCE = "numpy"  # what the others are checked against, and the reports' ratios are relative to
SPEED_OF_LIGHT = "native"  # the compiled loop with no framework: the reports' lower reference


class ImplementationModule(Protocol):
    """What an implementation module defines (`set_threads` is optional)."""

    FRAMEWORK: str  # the framework's name, as its package is imported ("torch"), or "python"
    VARIANT: str  # how it trains, in a few words
    COMPILED: bool  # compiled before the timed loop (XLA, inductor, LLVM), or run eagerly
    GRADIENTS: str  # "autodiff" or "hand-written"
    CARD: dict[str, str]  # the fairness card: "finished work" (the sync), "compiled" (what, when), "threads", "idiom"
    # optional: why it cannot be float64-exact, measured; it is then held to float32's drift bound, not to 1e-12
    FLOAT64_CAUSE: str

    def prepare(self, problem: Problem) -> Callable[[], TrainResult]:
        """Convert and compile for this problem; return the training loop that the benchmarks time."""

    def set_threads(self, threads: int) -> dict[str, object]:
        """Optional: set the framework's own thread pools; return the settings now in force, by name."""


def distribution_names(requires) -> list[str]:
    """The distributions that requirements such as "numba>=0.60" name, in order, each once."""
    return list(dict.fromkeys(Requirement(text).name for text in requires))


def requirement_names(names: list[str] | None = None) -> list[str]:
    """The distributions the named implementations (default: all) need, in registry order, each once."""
    return distribution_names(text for name in (REGISTRY if names is None else names) for text in REGISTRY[name].requires)


def installed_versions(requires) -> dict[str, str]:
    """Versions of Python and of the distributions these requirements name, as installed."""
    return {"python": platform.python_version()} | {package: metadata.version(package) for package in distribution_names(requires)}


def declared(name: str) -> dict[str, object]:
    """The constants an implementation's module declares (FRAMEWORK, VARIANT, ...), read from its source: its
    framework is not imported, so listing costs no framework's import time and loads nothing into the process."""
    source = Path(importlib.util.find_spec(f"{__package__}.{REGISTRY[name].module}").origin).read_text()
    constants = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            with contextlib.suppress(ValueError):  # not a literal: not a declaration
                constants[node.targets[0].id] = ast.literal_eval(node.value)
    return {key: value for key, value in constants.items() if key.isupper()}


@cache
def _distributions_of_packages() -> dict[str, list[str]]:
    """Top-level package -> the installed distributions that provide it (read once: it scans every installation)."""
    return metadata.packages_distributions()


def frameworks_loaded() -> list[str]:
    """The distributions of the registry whose packages this process has imported so far, sorted by name."""
    needed = {canonicalize_name(name) for name in requirement_names()}
    return sorted({canonicalize_name(distribution) for module, distributions in _distributions_of_packages().items()
                   if module in sys.modules for distribution in distributions} & needed)


def loaded_modules() -> list[ModuleType]:
    """The implementation modules this process has imported so far."""
    found = (sys.modules.get(f"{__package__}.{module}") for module in (entry.module for entry in REGISTRY.values()))
    return list(dict.fromkeys(module for module in found if module is not None))


@dataclass(frozen=True)
class Implementation:
    """One implementation: `prepare(problem)` converts and compiles, and returns the training loop to time."""

    name: str
    framework: str
    variant: str
    compiled: bool  # compiled before the timed loop (XLA, inductor, LLVM), or run eagerly
    gradients: str  # "autodiff" or "hand-written"
    prepare: Callable[[Problem], Callable[[], TrainResult]]
    requires: tuple[str, ...]
    card: dict[str, str]  # what makes the comparison fair: the sync, what is compiled and when, threads, idiom
    in_this_process: bool = True  # False: prepare() and its loop run in a worker process with the registry's environment
    float64_cause: str | None = None  # why it is not float64-exact (module's FLOAT64_CAUSE); None: it is

    @property
    def float64_exact(self) -> bool:
        """Whether it computes in float64 throughout, so the 1e-12 verdict applies to it."""
        return self.float64_cause is None

    def train(self, problem: Problem) -> TrainResult:
        """Prepare, then train once; raise Diverged, naming the first epoch, if the training blew up."""
        result = self.prepare(problem)()
        if (problem_found := blown_up(result)) is None:
            return result
        first, last = 1, problem.epochs  # the smallest epoch count whose training has blown up, by bisection
        while first < last:
            middle = (first + last) // 2
            if blown_up(self.prepare(dataclasses.replace(problem, epochs=middle))()):
                last = middle
            else:
                first = middle + 1
        raise Diverged(f"{self.name} diverged at epoch {first} of {problem.epochs}: {problem_found}; "
                       f"try a smaller learning_rate than {problem.learning_rate:g}")

    def versions(self) -> dict[str, str]:
        """Versions of Python and of the distributions this implementation needs."""
        return installed_versions(self.requires)


class UnavailableImplementation(ValueError):
    """Raised for a name not in the registry, or whose framework is not importable here."""


@cache  # reading a distribution's metadata parses its files: once per process, as every test parameter asks
def _unmet(requires: tuple[str, ...]) -> list[str]:
    """The requirements that the installed distributions do not meet, found without importing anything."""
    unmet = []
    for text in requires:
        requirement = Requirement(text)
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            unmet.append(f"{requirement.name} is not installed")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            unmet.append(f"{requirement.name} {installed} is installed")
    return unmet


def unavailable() -> dict[str, str]:
    """Implementations that cannot run here, each with the reason and the command that installs what it needs."""
    reasons = {}
    for name, entry in REGISTRY.items():
        if unmet := _unmet(entry.requires):
            install = f"; install it with: {install_command(entry.extras)}" if entry.extras else ""
            reasons[name] = f"needs {', '.join(entry.requires)}, but {'; '.join(unmet)}{install}"
    return reasons


def install_command(extras: tuple[str, ...]) -> str:
    """The pip command that adds these extras of the suite: into its checkout where it was installed from one (-e)."""
    wanted = ",".join(extras)
    return f"pip install -e '.[{wanted}]'" if _from_a_checkout() else f"pip install 'backprop-bench[{wanted}]'"


def _from_a_checkout() -> bool:
    """Whether the suite runs from a checkout (pip install -e .: its pyproject.toml beside this package), or from a built package."""
    return (Path(__file__).resolve().parents[1] / "pyproject.toml").exists()


def available() -> list[str]:
    """Names of the implementations that can run here, in registry order; no framework is imported."""
    missing = unavailable()
    return [name for name in REGISTRY if name not in missing]


@cache
def _load(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"{__package__}.{REGISTRY[name].module}")
    except ImportError as error:
        raise UnavailableImplementation(f"implementation {name!r} is unavailable: {error}") from error


def get(name: str) -> Implementation:
    """The implementation called `name`."""
    if name not in REGISTRY:
        raise UnavailableImplementation(f"unknown implementation {name!r}; expected one of: {', '.join(REGISTRY)}")
    if reason := unavailable().get(name):
        raise UnavailableImplementation(f"implementation {name!r} is unavailable: {reason}")
    entry = REGISTRY[name]
    if not runs_here(name):  # its module is not imported here: it is described by its declarations, run by a worker
        constants = declared(name)
        return Implementation(name, constants["FRAMEWORK"], constants["VARIANT"], constants["COMPILED"], constants["GRADIENTS"],
                              partial(prepare_elsewhere, entry.module, entry.environment), entry.requires, constants["CARD"],
                              in_this_process=False, float64_cause=constants.get("FLOAT64_CAUSE"))
    loaded = _load(name)
    return Implementation(name, loaded.FRAMEWORK, loaded.VARIANT, loaded.COMPILED, loaded.GRADIENTS, loaded.prepare,
                          entry.requires, loaded.CARD, float64_cause=getattr(loaded, "FLOAT64_CAUSE", None))


def runs_here(name: str) -> bool:
    """Whether this process has the environment the implementation needs, so it can run here (else in a worker)."""
    return all(os.environ.get(key) == value for key, value in REGISTRY[name].environment.items())
