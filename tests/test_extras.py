"""With the core and one framework installed (the others hidden from a child process), everything runs what is there:
`list` names each missing framework with the command that installs it, and the quick tier skips their tests with that
reason."""

import os
import re
import subprocess
import sys

import pytest

from implementations.registry import REGISTRY, available, declaration, distribution_names, unavailable
from tests.helpers import ROOT, output_of, run_pytest, short_notebook_problem

pytestmark = pytest.mark.slow

KEPT = "torch"
# every framework but torch: its import names, and the distributions whose metadata says it is installed
HIDDEN_MODULES = (
    "jax",
    "jaxlib",
    "tensorflow",
    "keras",
    "mlx",
    "tinygrad",
    "autograd",
    "flax",
    "optax",
    "equinox",
    "micrograd",
    "lightning",
    "pytorch_lightning",
    "pytensor",
)
INSTALLED_THERE = [name for name in REGISTRY if declaration(name).extras in ((), (KEPT,))]
RUNS_THERE = [name for name in INSTALLED_THERE if name in available()]  # less those whose program is missing here
HIDDEN_DISTRIBUTIONS = {
    name for declared in map(declaration, REGISTRY) for name in distribution_names(declared.requires)
} - {name for there in INSTALLED_THERE for name in distribution_names(declaration(there).requires)}

# sitecustomize runs at every interpreter's start, in the child and in whatever it starts (xdist's workers, Keras's)
HIDE = f'''
import sys
from importlib.machinery import PathFinder
from importlib.metadata import DistributionFinder


class WithoutTheHidden:
    """The path finder, blind to the hidden frameworks' modules and distributions."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        return None if name.partition(".")[0] in {HIDDEN_MODULES!r} else PathFinder.find_spec(name, path, target)

    @staticmethod
    def find_distributions(context=DistributionFinder.Context()):
        return (found for found in PathFinder.find_distributions(context)
                if (found.metadata["Name"] or "").lower().replace("_", "-") not in {sorted(HIDDEN_DISTRIBUTIONS)!r})

    @staticmethod
    def invalidate_caches():
        PathFinder.invalidate_caches()


sys.meta_path[:] = [WithoutTheHidden if finder is PathFinder else finder for finder in sys.meta_path]
'''


@pytest.fixture(scope="module")
def only_torch(tmp_path_factory) -> dict:
    """The environment of a child process that sees the core and PyTorch, and no other framework."""
    folder = tmp_path_factory.mktemp("only-torch")
    (folder / "sitecustomize.py").write_text(HIDE)
    return os.environ | {"PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}


def test_list_there_names_each_missing_framework_with_the_command_that_installs_it(only_torch):
    done = command("list", env=only_torch)
    assert done.returncode == 0, output_of(done)
    for name in REGISTRY:
        (line,) = [
            line for line in done.stdout.split("\n\n")[0].splitlines() if line.startswith(f"{name} ")
        ]  # the status table
        if name in RUNS_THERE:
            assert re.match(rf"{name} +available ", line), line
        elif name in INSTALLED_THERE:  # a program it runs is missing, there as here
            assert re.fullmatch(rf"{name} +unavailable +{re.escape(unavailable()[name])}", line), line
        else:
            extras = ",".join(declaration(name).extras)
            assert re.match(
                rf"{name} +unavailable +needs .* is not installed; install it with: pip install -e '\.\[{extras}\]'$",
                line,
            ), line


# the quick tier's tests that run every implementation of the registry, or the commands that train or report them (the
# others read frozen runs alone: with the core and every framework, the suite runs them anyway)
OVER_THE_REGISTRY = [
    "tests/test_equivalence.py",
    "tests/test_registry.py",
    "tests/test_parity_and_results.py",
    "tests/test_report.py",
    "tests/test_user_input.py",
    "tests/test_layout.py",
]


def test_the_quick_tier_there_runs_what_is_installed_and_skips_the_rest_naming_the_install(only_torch, tmp_path):
    done = run_pytest(*OVER_THE_REGISTRY, "-m", "not slow", "-rs", "-p", "no:randomly", env=only_torch, timeout=900)
    assert done.returncode == 0, done.stdout.partition("= FAILURES =")[2][:6000] or output_of(done)
    skips = re.findall(r"^SKIPPED \[\d+\] \S+: (.*)$", done.stdout, re.MULTILINE)
    assert skips, output_of(done)
    assert all(re.search(r"install it with: (pip install -e '\.\[|apt-get install )", reason) for reason in skips), set(
        skips
    )
    summary = done.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed, \d+ skipped", summary) and "failed" not in summary and "error" not in summary, (
        summary
    )


def test_parity_and_the_benchmarks_there_cover_what_ran(only_torch, tmp_path):
    problem = short_notebook_problem(tmp_path / "short.json")
    runs = tmp_path / "runs"
    done = run_pytest(
        "--benchmark-only",
        f"--benchmark-storage=file://{runs}",
        "--budget=0.02",
        f"--problem={problem}",
        env=only_torch,
    )
    assert done.returncode == 0, output_of(done)
    (saved,) = runs.rglob("*.json")
    report = command("report", str(saved), "--out", str(tmp_path / "report"), env=only_torch)
    assert report.returncode == 0, output_of(report)
    markdown = (tmp_path / "report" / "report.md").read_text()
    for name in REGISTRY:  # a row with its median for each that ran; the others under Not run, with why
        assert bool(re.search(rf"^\| `{name}` \| \d", markdown, re.MULTILINE)) == (name in RUNS_THERE), name
    assert set(re.findall(r"^\| `([\w-]+)` \| needs ", markdown, re.MULTILINE)) == set(REGISTRY) - set(RUNS_THERE)
    parity = command("parity", "--problem", str(problem), "--out", str(tmp_path / "parity"), env=only_torch)
    assert parity.returncode == 0 and f"{len(RUNS_THERE)} implementations" in parity.stdout, output_of(parity)


def command(*arguments: str, env: dict) -> subprocess.CompletedProcess:
    """The suite's command line in a child process with this environment."""
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_ci_fails_a_run_that_skipped_a_test(tmp_path):
    tests = tmp_path / "test_one_skipped.py"
    tests.write_text(
        "import pytest\n\n\ndef test_runs():\n    pass\n\n\ndef test_skipped():\n    pytest.skip('a framework is "
        "missing')\n"
    )
    config = ("-c", str(ROOT / "pyproject.toml"), "-n", "0")  # the suite's plugin, on a file of two tests
    done = run_pytest(str(tests), *config, "--fail-on-skip")
    assert done.returncode == 1, output_of(done)
    assert "--fail-on-skip: 1 skipped, the first: " in done.stdout and "test_skipped" in done.stdout, output_of(done)
    assert run_pytest(str(tests), *config).returncode == 0  # without it, a skip is no failure
