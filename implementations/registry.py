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
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Protocol

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .problem import Diverged, Problem, TrainResult, blown_up

# name -> (module in this package, the distributions it needs, as requirements)
REGISTRY: dict[str, tuple[str, tuple[str, ...]]] = {
    "numpy": ("with_numpy", ("numpy>=2.0",)),
    "torch": ("with_torch", ("torch>=2.4",)),
    "jax": ("with_jax", ("jax>=0.10", "jaxlib>=0.10")),
    "jax-scan": ("with_jax_scan", ("jax>=0.10", "jaxlib>=0.10")),
    "torch-func": ("with_torch_func", ("torch>=2.4",)),
    "torch-compile": ("with_torch_compile", ("torch>=2.4",)),
    "native": ("with_numba", ("numba>=0.60",)),
    "python": ("with_python", ("numpy>=2.0",)),
    "autograd": ("with_autograd", ("autograd>=1.7",)),
    "tensorflow": ("with_tensorflow", ("tensorflow-cpu>=2.21",)),
    "tensorflow-function": ("with_tensorflow_function", ("tensorflow-cpu>=2.21",)),
    "tensorflow-xla": ("with_tensorflow_xla", ("tensorflow-cpu>=2.21",)),
    "mlx": ("with_mlx", ("mlx>=0.32", "mlx-cpu>=0.32")),
    "mlx-compile": ("with_mlx_compile", ("mlx>=0.32", "mlx-cpu>=0.32")),
    "tinygrad-jit": ("with_tinygrad_jit", ("tinygrad>=0.14",)),
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

    def prepare(self, problem: Problem) -> Callable[[], TrainResult]:
        """Convert and compile for this problem; return the training loop that the benchmarks time."""

    def set_threads(self, threads: int) -> dict[str, object]:
        """Optional: set the framework's own thread pools; return the settings now in force, by name."""


def distribution_names(requires) -> list[str]:
    """The distributions that requirements such as "numba>=0.60" name, in order, each once."""
    return list(dict.fromkeys(Requirement(text).name for text in requires))


def requirement_names(names: list[str] | None = None) -> list[str]:
    """The distributions the named implementations (default: all) need, in registry order, each once."""
    return distribution_names(text for name in (REGISTRY if names is None else names) for text in REGISTRY[name][1])


def installed_versions(requires) -> dict[str, str]:
    """Versions of Python and of the distributions these requirements name, as installed."""
    return {"python": platform.python_version()} | {package: metadata.version(package) for package in distribution_names(requires)}


def declared(name: str) -> dict[str, object]:
    """The constants an implementation's module declares (FRAMEWORK, VARIANT, ...), read from its source: its
    framework is not imported, so listing costs no framework's import time and loads nothing into the process."""
    source = Path(importlib.util.find_spec(f"{__package__}.{REGISTRY[name][0]}").origin).read_text()
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
    found = (sys.modules.get(f"{__package__}.{module}") for module, _ in REGISTRY.values())
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
    """Implementations that cannot run here, each with the reason."""
    reasons = {}
    for name, (_, requires) in REGISTRY.items():
        if unmet := _unmet(requires):
            reasons[name] = f"needs {', '.join(requires)}, but {'; '.join(unmet)}"
    return reasons


def available() -> list[str]:
    """Names of the implementations that can run here, in registry order; no framework is imported."""
    missing = unavailable()
    return [name for name in REGISTRY if name not in missing]


@cache
def _load(name: str) -> ModuleType:
    module, _ = REGISTRY[name]
    try:
        return importlib.import_module(f"{__package__}.{module}")
    except ImportError as error:
        raise UnavailableImplementation(f"implementation {name!r} is unavailable: {error}") from error


def get(name: str) -> Implementation:
    """The implementation called `name`."""
    if name not in REGISTRY:
        raise UnavailableImplementation(f"unknown implementation {name!r}; expected one of: {', '.join(REGISTRY)}")
    if reason := unavailable().get(name):
        raise UnavailableImplementation(f"implementation {name!r} is unavailable: {reason}")
    loaded = _load(name)
    return Implementation(name, loaded.FRAMEWORK, loaded.VARIANT, loaded.COMPILED, loaded.GRADIENTS, loaded.prepare,
                          REGISTRY[name][1], loaded.CARD)
