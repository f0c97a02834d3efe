"""On a machine with what pip installs and nothing more (no C or C++ compiler, no Chromium: what CI installs hidden from
PATH), the rows whose framework runs a compiler are unavailable, each saying what to install, and everything else runs
as it does with them: `list`, a benchmark session (exit 0, the rows skipped with that reason) and its report."""

import json
import os
import re
import subprocess
import sys

import pytest

from implementations.registry import REGISTRY, declaration
from tests.helpers import ROOT, bare_path, output_of, run_pytest, short_notebook_problem

pytestmark = pytest.mark.slow

RUNS_A_PROGRAM = [name for name in REGISTRY if declaration(name).programs]


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> dict:
    """The environment of a child process on a bare machine."""
    return os.environ | {"PATH": bare_path(tmp_path_factory.mktemp("bare") / "bin")}


def listed(env: dict) -> dict[str, dict]:
    """`list --json` in a child process with this environment, by implementation."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", "list", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, output_of(done)
    return {entry["name"]: entry for entry in json.loads(done.stdout)}


def test_list_there_says_what_each_row_that_runs_a_compiler_needs_and_nothing_else_changes(bare):
    here, there = listed(os.environ), listed(bare)
    assert {"tinygrad", "tinygrad-jit", "tinygrad-nn", "torch-compile", "torch-nn-compile", "mlx-compile"} <= set(
        RUNS_A_PROGRAM
    )
    for name in REGISTRY:
        if name in RUNS_A_PROGRAM and "is not installed" not in here[name].get("reason", ""):
            programs = "|".join(re.escape(needed["program"]) for needed in declaration(name).programs)
            assert not there[name]["available"], name
            assert re.fullmatch(
                rf"needs the program ({programs}) \(.+\), which is not on PATH; install it with: apt-get install \S+",
                there[name]["reason"],
            ), there[name]["reason"]
        else:
            assert there[name] == here[name], name


def test_a_benchmark_session_there_skips_those_rows_naming_the_install_and_passes(bare, tmp_path):
    problem = short_notebook_problem(tmp_path / "short.json")
    runs = tmp_path / "runs"
    chosen = ["numpy", "tinygrad", "torch-compile", "mlx-compile"]
    selection = " or ".join(f"[{name}-float64]" for name in chosen)
    done = run_pytest(
        "benchmarks/timed/bench_training.py",
        "--benchmark-only",
        f"--benchmark-storage=file://{runs}",
        "--budget=0.02",
        f"--problem={problem}",
        "-k",
        selection,
        "-rs",
        env=bare,
    )
    assert done.returncode == 0, output_of(done)
    skips = re.findall(r"^SKIPPED \[\d+\] \S+: (\S+): (.*)$", done.stdout, re.MULTILINE)
    assert {name for name, _ in skips} == set(chosen[1:]) and all(
        "install it with: apt-get install" in why for _, why in skips
    ), skips
    (saved,) = runs.rglob("*.json")
    assert [bench["extra_info"]["implementation"] for bench in json.loads(saved.read_text())["benchmarks"]] == ["numpy"]
    report = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", "report", str(saved), "--out", str(tmp_path / "report")],
        cwd=ROOT,
        env=bare,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0 and (tmp_path / "report" / "report.html").exists(), output_of(report)
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert all(
        re.search(rf"^\| `{name}` \| needs the program \S+ \(", markdown, re.MULTILINE) for name in chosen[1:]
    ), markdown
