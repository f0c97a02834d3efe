"""The registry: what is available here, what is not and why."""

import importlib.metadata
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import implementations
from benchmarks.cli import main
from benchmarks.plugin.parameters import skip_unless_available
from benchmarks.plugin.sweep_plan import COST_ORDERS
from implementations import (
    UnavailableImplementation,
    available,
    get,
    own_process,
    random_problem,
    registry,
    unavailable,
)
from implementations.agreement import largest_differences
from implementations.own_process import prepare_elsewhere
from implementations.problem import RESULT_FIELDS
from implementations.registry import REGISTRY
from tests.helpers import MADE_BY_A_TEST, ROOT, implementation_params, register_module

UNKNOWN = "no-such-framework"


def test_the_core_implementations_are_registered_and_available_here():
    assert list(registry.REGISTRY)[:3] == ["numpy", "torch", "jax"]
    assert set(available()) | set(unavailable()) == set(registry.REGISTRY)
    core = [name for name in registry.REGISTRY if not registry.declaration(name).extras]
    assert core == ["numpy", "native", "python"] and set(core) <= set(available()), unavailable()


def extra_requirements(extras) -> set[str]:
    """The distributions these extras of the suite install, by pyproject.toml, through the extras of what they name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = set()
    for text in (
        (text for extra in extras for text in project["optional-dependencies"][extra])
        if extras
        else project["dependencies"]
    ):
        requirement = Requirement(text)
        if requirement.name == "backprop-bench":
            names |= extra_requirements(sorted(requirement.extras))
            continue
        names.add(canonicalize_name(requirement.name))
        if not requirement.extras:
            continue
        for needed in importlib.metadata.requires(requirement.name) or []:  # mlx[cpu] installs mlx-cpu
            needed = Requirement(needed)
            if needed.marker and any(needed.marker.evaluate({"extra": extra}) for extra in requirement.extras):
                names.add(canonicalize_name(needed.name))
    return names


@pytest.mark.parametrize("name", implementation_params())
def test_the_extras_an_implementation_names_install_what_it_needs_and_no_other_framework(name):
    declared = registry.declaration(name)
    needed = {canonicalize_name(text) for text in registry.distribution_names(declared.requires)}
    # pytensor: numba is the core's
    assert needed <= extra_requirements(declared.extras) | extra_requirements(()), (
        name,
        declared.extras,
    )
    frameworks = {canonicalize_name(text) for text in registry.requirement_names()} - extra_requirements(())
    assert extra_requirements(declared.extras) & frameworks == needed & frameworks


# mlx[cpu]: read from mlx's metadata
@pytest.mark.parametrize("mlx", [pytest.param("mlx", marks=skip_unless_available("mlx"))])
def test_the_core_installs_no_framework_and_all_installs_every_one(mlx):
    def needs(core):
        return {
            canonicalize_name(text)
            for name in registry.REGISTRY
            if bool(registry.declaration(name).extras) != core
            for text in registry.distribution_names(registry.declaration(name).requires)
        }

    frameworks = needs(core=False) - needs(core=True)  # pytensor compiles with numba, which the native row brings
    assert not extra_requirements(()) & frameworks
    assert extra_requirements(["all"]) >= frameworks
    assert not extra_requirements(["all"]) & extra_requirements(["test"])  # test tools stay out of the frameworks' set


def test_a_missing_framework_is_named_with_the_command_that_installs_it(request, tmp_path):
    register_module(
        request, tmp_path, "ghost-keras", REQUIRES=("numpy>=2", "ghost-framework>=1.0"), EXTRAS=("keras", "jax")
    )
    assert unavailable()["ghost-keras"] == (
        "needs numpy>=2, ghost-framework>=1.0, but ghost-framework is not installed; install it with: pip install -e "
        "'.[keras,jax]'"
    )


@pytest.mark.parametrize("name", available())
def test_each_implementation_names_its_framework_and_versions(name):
    implementation = get(name)
    assert implementation.name == name
    # FRAMEWORK is the package as imported ("tensorflow"), which a distribution of its versions provides
    # ("tensorflow-cpu")
    providers = {
        canonicalize_name(dist)
        for dist in importlib.metadata.packages_distributions().get(implementation.framework, [])
    }
    assert implementation.framework == "python" or providers & {
        canonicalize_name(package) for package in implementation.versions()
    }
    assert all(version[0].isdigit() for version in implementation.versions().values())


def test_an_unknown_name_lists_the_known_ones():
    expected = f"unknown implementation '{UNKNOWN}'; expected one of: {', '.join(registry.REGISTRY)}"
    with pytest.raises(UnavailableImplementation) as refused:
        get(UNKNOWN)
    assert str(refused.value) == expected


def test_a_missing_framework_is_unavailable_with_the_reason(request, tmp_path):
    register_module(request, tmp_path, "ghost", REQUIRES=("numpy>=2", "ghost-framework>=1.0"))
    assert "ghost" not in available()
    assert unavailable()["ghost"] == "needs numpy>=2, ghost-framework>=1.0, but ghost-framework is not installed"
    with pytest.raises(UnavailableImplementation, match="implementation 'ghost' is unavailable: needs numpy>=2, ghost"):
        get("ghost")


def test_a_framework_of_the_wrong_version_is_unavailable_naming_both_versions(request, tmp_path):
    register_module(request, tmp_path, "old-numpy", REQUIRES=("numpy<1.0",))
    installed = importlib.metadata.version("numpy")
    assert unavailable()["old-numpy"] == f"needs numpy<1.0, but numpy {installed} is installed"


def test_unavailable_implementations_are_skipped_with_the_reason_and_the_rest_run(request, tmp_path):
    register_module(request, tmp_path, "ghost", REQUIRES=("ghost-framework>=1.0",))
    params = {param.values[0]: param.marks for param in implementation_params()}
    assert set(params) == set(registry.REGISTRY)
    (skip,) = params["ghost"]
    assert (
        skip.name == "skip"
        and skip.kwargs["reason"] == "ghost: needs ghost-framework>=1.0, but ghost-framework is not installed"
    )
    assert all(not params[name] for name in available())


def test_an_implementation_that_fails_to_import_says_why(request, tmp_path):
    register_module(request, tmp_path, "broken", body="import ghost_framework\n", REQUIRES=("numpy",))
    with pytest.raises(
        UnavailableImplementation, match="implementation 'broken' is unavailable: No module named 'ghost_framework'"
    ):
        get("broken")


def test_listing_the_available_implementations_imports_no_framework():
    code = (
        "import sys, implementations; implementations.available(); print(sorted({'torch', 'jax'} & set(sys.modules)))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_an_implementation_needing_another_environment_trains_in_a_worker_to_the_same_numbers(
    request, monkeypatch, tmp_path
):
    # numpy's module in a worker whose environment differs: the pickled round trip changes nothing
    problem = random_problem(seed=7, n_hidden=5, batch=3, epochs=20)
    elsewhere = prepare_elsewhere("with_numpy", {"BACKPROP_BENCH_WORKER_CHECK": "1"}, problem)
    assert largest_differences(elsewhere(), get("numpy").train(problem)) == dict.fromkeys(RESULT_FIELDS, 0.0)
    # a module declaring that environment is trained there (the worker imports it from the package, where this one is
    # not)
    register_module(request, tmp_path, "numpy-elsewhere", ENVIRONMENT={"BACKPROP_BENCH_WORKER_CHECK": "1"})
    implementation = get("numpy-elsewhere")
    assert not implementation.in_this_process and implementation.framework == "numpy"
    assert implementation.prepare.func is prepare_elsewhere
    assert implementation.prepare.args == ("with_numpy_elsewhere", {"BACKPROP_BENCH_WORKER_CHECK": "1"})
    monkeypatch.setenv("BACKPROP_BENCH_WORKER_CHECK", "1")
    assert get("numpy-elsewhere").in_this_process


def test_what_a_worker_raises_is_raised_here_and_a_dead_worker_says_so():
    environment = {"BACKPROP_BENCH_WORKER_CHECK": "2"}
    with pytest.raises(AttributeError, match="batch_inputs"):  # the worker's own exception, carried back
        prepare_elsewhere("with_numpy", environment, "not a problem")
    with pytest.raises(ModuleNotFoundError, match="with_no_such_framework"):
        prepare_elsewhere("with_no_such_framework", environment, random_problem(seed=1))
    train = prepare_elsewhere("with_numpy", environment, random_problem(seed=1, epochs=3))
    own_process._worker(environment).process.kill()
    with pytest.raises(own_process.WorkerFailed, match="BACKPROP_BENCH_WORKER_CHECK=2 exited with status -9"):
        train()
    # a new worker
    assert prepare_elsewhere("with_numpy", environment, random_problem(seed=1, epochs=3))().loss_history.shape == (3,)


@pytest.mark.parametrize(
    ("declarations", "message"),
    [
        (
            {"CARD": None},
            "CARD is not declared; expected a dict of text with the keys finished work, compiled, threads, idiom",
        ),
        ({"COMPILED": "yes"}, "COMPILED is 'yes'; expected True or False: compiled before the timed loop"),
        (
            {"REQUIRES": ("numpy >= = 2",)},
            "REQUIRES is ('numpy >= = 2',); expected a tuple of requirements such as 'numpy>=2.0'",
        ),
        (
            {"COST_CLASS": "fast"},
            "COST_CLASS is 'fast'; expected one of 'compiled loop', 'compiled step', 'eager', 'eager, lowered every "
            "epoch', 'own process', 'interpreted'",
        ),
        (
            {"SWEEP_RANGE": (10, 5, "why")},
            "SWEEP_RANGE is (10, 5, 'why'); expected (from, up to or None, why): the epoch multiply-adds it is swept "
            "at",
        ),
    ],
)
def test_a_module_with_a_declaration_missing_or_wrong_is_refused_in_one_line(
    request, tmp_path, capsys, declarations, message
):
    register_module(request, tmp_path, "careless", **declarations)
    with pytest.raises(registry.BadDeclaration) as refused:
        registry.declaration("careless")
    assert str(refused.value) == f"implementations/with_careless.py: {message}"
    assert main(["list"]) == 2
    assert capsys.readouterr().err == f"backprop-bench list: error: implementations/with_careless.py: {message}\n"


def test_every_cost_class_has_an_estimate_and_every_module_is_declared_in_full():
    assert set(COST_ORDERS) == set(registry.COST_CLASSES)
    registry.check_declarations()


def test_a_module_registered_for_a_while_is_an_implementation_then_and_gone_after(tmp_path):
    (tmp_path / "with_for_a_while.py").write_text(
        "".join(f"{key} = {value!r}\n" for key, value in MADE_BY_A_TEST.items())
        + "from implementations.with_numpy import prepare\n"
    )
    path_before = list(implementations.__path__)
    with registry.registered("for-a-while", "with_for_a_while", tmp_path):
        assert "for-a-while" in available() and get("for-a-while").declared.module == "with_for_a_while"
    assert "for-a-while" not in REGISTRY and list(implementations.__path__) == path_before
    with pytest.raises(UnavailableImplementation, match="unknown implementation 'for-a-while'"):
        get("for-a-while")
