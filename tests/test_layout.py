"""The shape of the repository: no import circle, the roles importing one way, text commands without matplotlib, and the
front door naming what pip cannot install."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from implementations.registry import REGISTRY, declaration
from tests.helpers import ROOT, saved_run, write

PACKAGES = ("implementations", "benchmarks")


def module_name(path: Path) -> str:
    """benchmarks/model/runs.py -> benchmarks.model.runs; a package's __init__.py is the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The repository's modules that a file imports, at its top or inside functions, relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]) if node.level else ""
            stem = ".".join(filter(None, [base, node.module]))
            targets = [stem] + [f"{stem}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in modules}
    return found - {name}


def import_graph() -> dict[str, set[str]]:
    """Every module of the repository's packages, with the modules of the repository it imports."""
    paths = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]
    modules = {module_name(path) for path in paths}
    return {module_name(path): imports_of(path, modules) for path in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import circle found by a depth-first search, as the chain of modules that closes it."""
    found, state = [], {}

    def visit(module, chain):
        state[module] = "open"
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == "open":
                found.append(chain[chain.index(imported) :] + [imported])
            elif imported not in state:
                visit(imported, chain + [imported])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_repositorys_own_imports_have_no_circle():
    graph = import_graph()
    assert "benchmarks.model.parity" in graph and "implementations.registry" in graph["benchmarks.model.parity"]
    assert cycles(graph) == []


def test_the_roles_import_in_one_direction():
    # the results model and the implementations never reach up into the plugin, the timed code or the reports
    for module, imported in import_graph().items():
        if module.startswith(("implementations", "benchmarks.model")):
            upward = {
                name
                for name in imported
                if name.startswith(("benchmarks.plugin", "benchmarks.timed", "benchmarks.presentation"))
            }
            assert not upward, (module, upward)


@pytest.mark.parametrize("command", [["list"], ["compare", "{run}", "{run}"]])
def test_text_commands_do_not_import_matplotlib(tmp_path, command):
    run = write(tmp_path / "run.json", saved_run({"numpy": 0.01}))
    argv = [str(run) if part == "{run}" else part for part in command]
    code = (
        "import sys; from benchmarks.cli import main; main(sys.argv[1:]); print('matplotlib loaded' if 'matplotlib' "
        "in sys.modules else 'no matplotlib', file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code, *argv], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "no matplotlib"


def test_the_readme_names_every_program_outside_pip_the_rows_that_need_it_and_the_package():
    readme = (ROOT / "README.md").read_text()
    section = readme.partition("**What pip cannot install.**")[2].partition("\n\n")[0]
    install = section.partition("`apt-get install ")[2].partition("`")[0].split()
    ci = (ROOT / ".ci" / "run").read_text()
    for name in REGISTRY:
        for needed in declaration(name).programs:
            assert f"`{name}`" in section and f"`{needed['program']}`" in section, (name, needed["program"])
            assert needed["package"] in install and needed["package"] in ci, needed["package"]


def test_the_readme_holds_no_measured_figure_outside_the_block_index_writes_from_the_runs():
    from benchmarks.presentation.results_index import END, START

    readme = (ROOT / "README.md").read_text()
    before, _, rest = readme.partition(START)
    written_by_hand = before + rest.partition(END)[2]
    # a duration on a clock, a time of milliseconds, or a date: what a run measured, dated, which drifts
    measured = re.findall(r"\b\d+ min \d+ s\b|\b\d+(?:\.\d+)? ms\b|\b20\d\d-\d\d-\d\d\b", written_by_hand)
    assert not measured, measured
