"""Adding a framework is one module in implementations/ and one registry line: a throwaway one, made here in a copy
of the repository, flows through the tests, the benchmarks, `list`, `parity` and the report with no other edit."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT, output_of, run_pytest

pytestmark = pytest.mark.slow

THROWAWAY_MODULE = '''"""A throwaway implementation made by a test: the update rule written with np.einsum."""

import numpy as np

from .problem import Problem, TrainResult

FRAMEWORK = "numpy"
VARIANT = "np.einsum, made by a test"
COMPILED = False
GRADIENTS = "hand-written"
CARD = {"finished work": "eager NumPy", "compiled": "nothing", "threads": "NumPy's BLAS pool", "idiom": "plain"}
REQUIRES = ("numpy>=2.0",)
COST_CLASS = "eager"


def sigmoid(z):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-z))


def prepare(problem: Problem):
    x, y = problem.batch_inputs, problem.batch_targets
    lr, batch = problem.learning_rate, len(x)

    def train() -> TrainResult:
        wh, wo = problem.weights_hidden.copy(), problem.weights_output.copy()
        loss_history = np.empty(problem.epochs, dtype=problem.dtype)
        for epoch in range(problem.epochs):
            h = sigmoid(np.einsum("bi,hi->bh", x, wh))
            o = sigmoid(np.einsum("bh,oh->bo", h, wo))
            error = y - o
            loss_history[epoch] = np.mean(error**2)
            d_output = error * o * (1 - o) / batch
            d_hidden = np.einsum("bo,oh->bh", d_output, wo) * h * (1 - h)
            wo += lr * np.einsum("bo,bh->oh", d_output, h)
            wh += lr * np.einsum("bh,bi->hi", d_hidden, x)
        return TrainResult(wh, wo, loss_history, problem.unbatch(o))

    return train
'''
REGISTRY_LINE = '    "throwaway": "with_throwaway",\n'


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    """A copy of the repository with the throwaway module and its registry line, and nothing else changed."""
    copy = tmp_path_factory.mktemp("repository")
    for folder in ("implementations", "benchmarks", "tests"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy)
    (copy / "implementations" / "with_throwaway.py").write_text(THROWAWAY_MODULE)
    registry = copy / "implementations" / "registry.py"
    text = registry.read_text()
    last_entry = re.search(r'^    "python": .*\n', text, re.MULTILINE)
    registry.write_text(text[: last_entry.end()] + REGISTRY_LINE + text[last_entry.end() :])
    return copy


def in_copy(repository) -> dict:
    """The environment that makes the copy's packages the ones imported."""
    return os.environ | {"PYTHONPATH": str(repository)}


def command(repository, *args: str) -> subprocess.CompletedProcess:
    """`backprop-bench ARGS` run in the copy."""
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", *args],
        cwd=repository,
        env=in_copy(repository),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_copy_differs_from_the_repository_by_one_module_and_one_line(repository):
    added = sorted(
        str(path.relative_to(repository))
        for path in repository.rglob("*.py")
        if not (ROOT / path.relative_to(repository)).exists()
    )
    assert added == ["implementations/with_throwaway.py"]
    before = (ROOT / "implementations" / "registry.py").read_text().splitlines(keepends=True)
    after = (repository / "implementations" / "registry.py").read_text().splitlines(keepends=True)
    assert [line for line in after if line not in before] == [REGISTRY_LINE]
    assert len(after) == len(before) + 1


def test_the_equivalence_and_registry_tests_cover_it(repository):
    # every test of one implementation, and its pairs with the reference (its pairs with the others, which train each
    # framework again in this process, add nothing to what they prove but minutes)
    done = run_pytest(
        "tests/test_equivalence.py",
        "tests/test_registry.py",
        "-k",
        "throwaway and (not pairs or numpy)",
        "-q",
        cwd=repository,
        env=in_copy(repository),
    )
    assert done.returncode == 0, output_of(done)
    passed = int(re.search(r"(\d+) passed", done.stdout).group(1))
    assert passed >= 20 and "failed" not in done.stdout and "skipped" not in done.stdout, done.stdout[-2000:]


def test_it_is_benchmarked_listed_checked_for_parity_and_reported(repository, tmp_path):
    done = run_pytest(
        "--benchmark-only",
        "-k",
        "throwaway",
        f"--benchmark-storage=file://{tmp_path / 'runs'}",
        "--budget=0.02",
        cwd=repository,
        env=in_copy(repository),
    )
    assert done.returncode == 0, output_of(done)
    (saved,) = (tmp_path / "runs").rglob("*.json")
    timed = [bench["extra_info"] for bench in json.loads(saved.read_text())["benchmarks"]]
    assert sorted((info["implementation"], info["dtype"]) for info in timed) == [
        ("throwaway", "float32"),
        ("throwaway", "float64"),
    ]

    listed = command(repository, "list")
    assert listed.returncode == 0, listed.stderr
    assert re.search(
        r"^throwaway +available +np\.einsum, made by a test; hand-written gradients; python \d",
        listed.stdout,
        re.MULTILINE,
    )

    parity = command(repository, "parity", "--implementations", "numpy,throwaway", "--out", str(tmp_path / "parity"))
    assert parity.returncode == 0, parity.stderr
    assert parity.stdout.startswith("PASS: largest difference")
    assert "| `numpy` – `throwaway` |" in (tmp_path / "parity" / "parity.md").read_text()

    report = command(repository, "report", str(saved), "--out", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert re.search(r"^\| `throwaway` \| [\d.]+ [mµ]?s( \(projected\))? \|", markdown, re.MULTILINE)
    assert "- `throwaway`: np.einsum, made by a test; hand-written gradients" in markdown
