"""The registry: every implementation by name, imported only when asked for.

Each implementation is one module in this package, which declares what it is in constants (`DECLARATIONS`, read by
`declaration` without importing it) and defines `prepare` (`ImplementationModule`), and one line in REGISTRY naming that
module. Tests, benchmarks, the command line and the reports all iterate over REGISTRY; nothing else lists them.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import importlib
import importlib.util
import os
import platform
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Protocol

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .own_process import prepare_elsewhere
from .problem import Diverged, Problem, TrainResult, blown_up

# each implementation: its name and its module in this package, whose constants declare the rest (Declaration)
REGISTRY: dict[str, str] = {
    "numpy": "with_numpy",
    "torch": "with_torch",
    "jax": "with_jax",
    "jax-scan": "with_jax_scan",
    "flax-nnx": "with_flax_nnx",
    "flax-nnx-cached": "with_flax_nnx_cached",
    "flax-linen": "with_flax_linen",
    "equinox": "with_equinox",
    "torch-func": "with_torch_func",
    "torch-compile": "with_torch_compile",
    "torch-nn": "with_torch_nn",
    "torch-nn-compile": "with_torch_nn_compile",
    "lightning": "with_lightning",
    "native": "with_numba",
    "python": "with_python",
    "micrograd": "with_micrograd",
    "pytensor": "with_pytensor",
    "autograd": "with_autograd",
    "tensorflow": "with_tensorflow",
    "tensorflow-function": "with_tensorflow_function",
    "tensorflow-xla": "with_tensorflow_xla",
    "mlx": "with_mlx",
    "mlx-compile": "with_mlx_compile",
    "mlx-nn": "with_mlx_nn",
    "tinygrad": "with_tinygrad",
    "tinygrad-jit": "with_tinygrad_jit",
    "tinygrad-nn": "with_tinygrad_nn",
    "keras-jax": "with_keras_jax",
    "keras-torch": "with_keras_torch",
    "keras-tensorflow": "with_keras_tensorflow",
    "keras-tensorflow-dataset": "with_keras_tensorflow_dataset",
    "keras-jax-train-on-batch": "with_keras_jax_train_on_batch",
    "keras-torch-train-on-batch": "with_keras_torch_train_on_batch",
    "keras-tensorflow-train-on-batch": "with_keras_tensorflow_train_on_batch",
}
CARD_ASPECTS = ("finished work", "compiled", "threads", "idiom")  # a fairness card's entries, in the order shown
REFERENCE = "numpy"  # what the others are checked against, and the reports' ratios are relative to
SPEED_OF_LIGHT = "native"  # the compiled loop with no framework: the reports' lower reference


class ImplementationModule(Protocol):
    """What an implementation module defines besides its declarations (`set_threads` is optional)."""

    def prepare(self, problem: Problem) -> Callable[[], TrainResult]:
        """Convert and compile for this problem; return the training loop that the benchmarks time."""

    def set_threads(self, threads: int) -> dict[str, object]:
        """Optional: set the framework's own thread pools; return the settings now in force, by name."""


# what a sweep's estimate before it runs assumes of an epoch's cost (benchmarks/plugin/sweep_plan.py), by how it runs
COST_CLASSES = ("compiled loop", "compiled step", "eager", "eager, lowered every epoch", "own process", "interpreted")


class BadDeclaration(ValueError):
    """An implementation module whose declarations are missing or of the wrong type; the message is one line."""


def _is_requirement(text) -> bool:
    try:
        return isinstance(text, str) and bool(Requirement(text).name)
    except ValueError:
        return False


PROGRAM_KEYS = ("program", "variable", "for", "package")  # what a module says of each program it needs


def _is_program(value) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == set(PROGRAM_KEYS)
        and all(isinstance(value[key], str) and value[key] for key in ("program", "for", "package"))
        and (value["variable"] is None or isinstance(value["variable"], str))
    )


def _is_sweep_range(value) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 3
        and isinstance(value[0], int)
        and value[0] >= 0
        and (value[1] is None or isinstance(value[1], int) and value[1] > value[0])
        and isinstance(value[2], str)
    )


# each declaration: what it must be, in words, the test, and its value when a module leaves it out (REQUIRED: none)
REQUIRED = object()
DECLARATIONS: dict[str, tuple[str, Callable[[object], bool], object]] = {
    "FRAMEWORK": (
        "the framework's name as its package is imported, or 'python'",
        lambda v: isinstance(v, str) and v != "",
        REQUIRED,
    ),
    "VARIANT": ("how it trains, in a few words", lambda v: isinstance(v, str) and v != "", REQUIRED),
    "COMPILED": ("True or False: compiled before the timed loop", lambda v: isinstance(v, bool), REQUIRED),
    "GRADIENTS": ("'autodiff' or 'hand-written'", lambda v: v in ("autodiff", "hand-written"), REQUIRED),
    "CARD": (
        f"a dict of text with the keys {', '.join(CARD_ASPECTS)}",
        lambda v: isinstance(v, dict) and list(v) == list(CARD_ASPECTS) and all(isinstance(t, str) for t in v.values()),
        REQUIRED,
    ),
    "REQUIRES": (
        "a tuple of requirements such as 'numpy>=2.0'",
        lambda v: isinstance(v, tuple) and v and all(map(_is_requirement, v)),
        REQUIRED,
    ),
    "COST_CLASS": (f"one of {', '.join(map(repr, COST_CLASSES))}", lambda v: v in COST_CLASSES, REQUIRED),
    "EXTRAS": (
        "a tuple of the suite's extras that install what it needs",
        lambda v: isinstance(v, tuple) and all(isinstance(t, str) for t in v),
        (),
    ),
    "PROGRAMS": (
        f"a tuple of dicts with the keys {', '.join(PROGRAM_KEYS)}: the programs outside pip it runs",
        lambda v: isinstance(v, tuple) and all(map(_is_program, v)),
        (),
    ),
    "ENVIRONMENT": (
        "a dict of environment variables its process starts with",
        lambda v: isinstance(v, dict) and all(isinstance(t, str) for t in (*v, *v.values())),
        {},
    ),
    "BUILT_ON": (
        "the framework it is a layer over, as FRAMEWORK names it (flax's is 'jax')",
        lambda v: isinstance(v, str) and v != "",
        None,
    ),
    "FLOAT64_CAUSE": ("text: why it is not float64-exact, measured", lambda v: isinstance(v, str) and v != "", None),
    "SWEEP_RANGE": ("(from, up to or None, why): the epoch multiply-adds it is swept at", _is_sweep_range, None),
}


@dataclass(frozen=True)
class Declaration:
    """What an implementation's module declares, in module constants that are literals (DECLARATIONS): read from its
    source by `declaration`, so nothing is imported to list, schedule or describe it."""

    name: str
    module: str
    framework: str
    variant: str
    compiled: bool
    gradients: str
    card: dict[str, str]  # the fairness card: "finished work" (the sync), "compiled" (what, when), "threads", "idiom"
    requires: tuple[str, ...]  # the distributions it needs, as requirements
    cost_class: str
    extras: tuple[str, ...]  # the suite's extras (pyproject.toml) that install what it needs; () for the core
    # programs that pip cannot install and the framework runs (a compiler): each its name, the environment variable that
    # names another in its place (None: none does), what it is for, and the Debian package that installs it
    programs: tuple[dict[str, str | None], ...]
    # set before anything is imported (Keras reads KERAS_BACKEND once per process): where this process's environment
    # differs, the implementation runs in a Python process of its own (see own_process.py)
    environment: dict[str, str]
    # the framework its layer runs on (Flax and Equinox on JAX, Lightning on PyTorch, Keras on its backend)
    built_on: str | None
    # why it computes parts in float32; it is then held to float32's drift bound, not to 1e-12
    float64_cause: str | None
    sweep_range: tuple[int, int | None, str] | None  # None: swept at every size


@cache
def declaration(name: str) -> Declaration:
    """The declarations of the implementation called `name`, checked: a module missing one, or with one of the wrong
    type, is refused with one line naming the module and the declaration."""
    module = REGISTRY[name]
    path = f"{__package__}/{module}.py"
    source = Path(importlib.util.find_spec(f"{__package__}.{module}").origin).read_text()
    constants = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            with contextlib.suppress(ValueError):  # not a literal: not a declaration
                constants[node.targets[0].id] = ast.literal_eval(node.value)
    values = {}
    for key, (expected, accepts, default) in DECLARATIONS.items():
        if key not in constants:
            if default is REQUIRED:
                raise BadDeclaration(f"{path}: {key} is not declared; expected {expected}")
            values[key.lower()] = default
        elif not accepts(constants[key]):
            raise BadDeclaration(f"{path}: {key} is {constants[key]!r:.60}; expected {expected}")
        else:
            values[key.lower()] = constants[key]
    return Declaration(name, module, **values)


def check_declarations() -> None:
    """Read every registered module's declarations, raising BadDeclaration (one line) at the first that is wrong."""
    for name in REGISTRY:
        declaration(name)


def distribution_names(requires) -> list[str]:
    """The distributions that requirements such as "numba>=0.60" name, in order, each once."""
    return list(dict.fromkeys(Requirement(text).name for text in requires))


def requirement_names(names: list[str] | None = None) -> list[str]:
    """The distributions the named implementations (default: all) need, in registry order, each once."""
    return distribution_names(
        text for name in (REGISTRY if names is None else names) for text in declaration(name).requires
    )


def installed_versions(requires) -> dict[str, str]:
    """Versions of Python and of the distributions these requirements name, as installed."""
    return {"python": platform.python_version()} | {
        package: metadata.version(package) for package in distribution_names(requires)
    }


@cache
def _distributions_of_packages() -> dict[str, list[str]]:
    """Top-level package -> the installed distributions that provide it (read once: it scans every installation)."""
    return metadata.packages_distributions()


def frameworks_loaded() -> list[str]:
    """The distributions of the registry whose packages this process has imported so far, sorted by name."""
    needed = {canonicalize_name(name) for name in requirement_names()}
    return sorted(
        {
            canonicalize_name(distribution)
            for module, distributions in _distributions_of_packages().items()
            if module in sys.modules
            for distribution in distributions
        }
        & needed
    )


def loaded_modules() -> list[ModuleType]:
    """The implementation modules this process has imported so far."""
    found = (sys.modules.get(f"{__package__}.{module}") for module in REGISTRY.values())
    return list(dict.fromkeys(module for module in found if module is not None))


@dataclass(frozen=True)
class Implementation:
    """One implementation: its declarations, and `prepare(problem)`, which converts and compiles, and returns the
    training loop to time."""

    declared: Declaration
    prepare: Callable[[Problem], Callable[[], TrainResult]]
    in_this_process: bool = True  # False: prepare() and its loop run in a worker process with the declared environment

    name = property(lambda self: self.declared.name)
    framework = property(lambda self: self.declared.framework)
    built_on = property(lambda self: self.declared.built_on)
    variant = property(lambda self: self.declared.variant)
    compiled = property(lambda self: self.declared.compiled)
    gradients = property(lambda self: self.declared.gradients)
    card = property(lambda self: self.declared.card)
    requires = property(lambda self: self.declared.requires)
    float64_cause = property(lambda self: self.declared.float64_cause)

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
        raise Diverged(
            f"{self.name} diverged at epoch {first} of {problem.epochs}: {problem_found}; try a smaller learning_rate "
            f"than {problem.learning_rate:g}"
        )

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


def missing_program(needed: dict[str, str | None]) -> str | None:
    """Why a program an implementation runs is not here, with how to get it; None where it is on PATH (or where the
    variable the framework reads in its place names one that is)."""
    variable = needed["variable"]
    program = (variable and os.environ.get(variable)) or needed["program"]
    if _on_path(program, os.environ.get("PATH", os.defpath)):
        return None
    instead = f"; ${variable} names another" if variable else ""
    return (
        f"needs the program {program} ({needed['for']}{instead}), which is not on PATH; install it with: apt-get "
        f"install {needed['package']}"
    )


@cache  # the parameters of every test ask; PATH is part of the key, so a test that changes it asks again
def _on_path(program: str, path: str) -> bool:
    return shutil.which(program, path=path) is not None


def unavailable() -> dict[str, str]:
    """Implementations that cannot run here, each with the reason and the command that installs what it needs: a
    distribution missing (or of another version), or a program outside pip that the framework runs."""
    reasons = {}
    for name in REGISTRY:
        declared = declaration(name)
        if unmet := _unmet(declared.requires):
            install = f"; install it with: {install_command(declared.extras)}" if declared.extras else ""
            reasons[name] = f"needs {', '.join(declared.requires)}, but {'; '.join(unmet)}{install}"
        elif missing := list(filter(None, map(missing_program, declared.programs))):
            reasons[name] = "; ".join(missing)
    return reasons


def install_command(extras: tuple[str, ...]) -> str:
    """The pip command that adds these extras of the suite: into its checkout where it was installed from one (-e)."""
    wanted = ",".join(extras)
    return f"pip install -e '.[{wanted}]'" if _from_a_checkout() else f"pip install 'backprop-bench[{wanted}]'"


def _from_a_checkout() -> bool:
    """Whether the suite runs from a checkout (pip install -e .: its pyproject.toml beside this package), or from a
    built package."""
    return (Path(__file__).resolve().parents[1] / "pyproject.toml").exists()


def available() -> list[str]:
    """Names of the implementations that can run here, in registry order; no framework is imported."""
    missing = unavailable()
    return [name for name in REGISTRY if name not in missing]


@cache
def _load(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"{__package__}.{REGISTRY[name]}")
    except ImportError as error:
        raise UnavailableImplementation(f"implementation {name!r} is unavailable: {error}") from error


def get(name: str) -> Implementation:
    """The implementation called `name`."""
    if name not in REGISTRY:
        raise UnavailableImplementation(f"unknown implementation {name!r}; expected one of: {', '.join(REGISTRY)}")
    if reason := unavailable().get(name):
        raise UnavailableImplementation(f"implementation {name!r} is unavailable: {reason}")
    declared = declaration(name)
    if not runs_here(name):  # its module is not imported here, but run by a worker with its environment
        return Implementation(
            declared, partial(prepare_elsewhere, declared.module, declared.environment), in_this_process=False
        )
    return Implementation(declared, _load(name).prepare)


@contextlib.contextmanager
def registered(name: str, module: str, folder: Path):
    """Implementation `name` registered while the context lasts: its module `module` found in `folder`, besides the
    package's own modules (a test's module, or a user's tried out before it has its registry line). What the registry
    read of an earlier module under that name is forgotten on the way in and out."""
    package = sys.modules[__package__]
    before_path, before = list(package.__path__), REGISTRY.get(name)
    package.__path__.append(str(folder))
    REGISTRY[name] = module
    declaration.cache_clear()
    _load.cache_clear()
    try:
        yield
    finally:
        package.__path__[:] = before_path
        if before is None:
            REGISTRY.pop(name, None)
        else:
            REGISTRY[name] = before
        declaration.cache_clear()
        _load.cache_clear()
        sys.modules.pop(f"{__package__}.{module}", None)


def runs_here(name: str) -> bool:
    """Whether this process has the environment the implementation needs, so it can run here (else in a worker)."""
    return all(os.environ.get(key) == value for key, value in declaration(name).environment.items())
