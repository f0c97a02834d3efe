"""The parity command, divergence, the HTML report in a real browser, and results that are never lost."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.model import files
from benchmarks.model.files import atomic_write_text
from benchmarks.model.problem_file import load_problem, problem_to_json
from benchmarks.model.schema import VERSION, VERSION_KEY
from benchmarks.plugin.machine_lock import LOCK_ENV, hold_machine, release_machine
from benchmarks.plugin.storage import AtomicFileStorage
from implementations import available, get, seed_problem, unavailable
from implementations.agreement import result_tolerance
from implementations.registry import CARD_ASPECTS, REFERENCE, REGISTRY, declaration
from tests.helpers import (
    NEEDS_CHROMIUM,
    ROOT,
    output_of,
    rendered_dom,
    run_pytest,
    saved_run,
    short_notebook_problem,
    write,
)


def not_float64_exact() -> list[str]:
    """The available implementations declared not float64-exact, read from their declarations (nothing imported)."""
    return [name for name in available() if declaration(name).float64_cause]


def test_parity_passes_and_writes_its_report(tmp_path, capsys):
    # the two plain loops and one implementation not float64-exact, in a process of its own where one is (Keras on JAX):
    # every pair of every implementation is the equivalence tests' (test_pairs_agree_in_float64_on_every_epoch)
    elsewhere = [name for name in not_float64_exact() if declaration(name).environment]
    names = [REFERENCE, "python", *(elsewhere or not_float64_exact())[:1]]
    # the notebook's problem, shortened: Keras on TensorFlow takes about a minute for its 1000 epochs here
    path = short_notebook_problem(tmp_path / "problem" / "short.json")
    assert main(["parity", "--problem", str(path), "--out", str(tmp_path), "--implementations", ",".join(names)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS: largest difference ") and f"{len(names)} implementations" in out
    markdown = (tmp_path / "parity.md").read_text()
    assert "**PASS: every pair agrees within the tolerance 1.0e-12**" in markdown
    assert len(re.findall(r"^\| `[\w-]+` – `[\w-]+` \|", markdown, re.MULTILINE)) == len(names) * (len(names) - 1) // 2
    for figure in ("parity_heatmap.png", "loss_differences.png"):
        assert (tmp_path / figure).read_bytes().startswith(b"\x89PNG")
    problem = load_problem(path)
    parity_bound = result_tolerance(problem, get(REFERENCE).train(problem), exact=False)
    for name in set(names) & set(not_float64_exact()):  # named with its cause, held to its bound
        assert f"- `{name}`: {get(name).float64_cause}" in markdown
        rows = [row for row in markdown.splitlines() if row.startswith("| `") and f"`{name}`" in row]
        assert len(rows) == len(names) - 1 and all(row.endswith(f"| {parity_bound:.1e} | ✅ |") for row in rows), rows


def test_parity_fails_with_exit_1_when_a_pair_exceeds_the_tolerance(tmp_path, capsys):
    assert (
        main(
            [
                "parity",
                "--implementations",
                "numpy,python",
                "--dtype",
                "float32",
                "--tolerance",
                "1e-30",
                "--out",
                str(tmp_path),
            ]
        )
        == 1
    )
    assert capsys.readouterr().out.startswith("FAIL: largest difference")
    assert "❌ FAIL" in (tmp_path / "parity.md").read_text()


def test_divergence_names_the_implementation_and_the_epoch(tmp_path, capsys):
    problem = json.loads(problem_to_json(seed_problem())) | {"learning_rate": 1e9}
    path = write(tmp_path / "wild.json", problem)
    assert (
        main(["parity", "--problem", str(path), "--implementations", "numpy,python", "--out", str(tmp_path / "out")])
        == 1
    )
    error = capsys.readouterr().err
    assert error == (
        "backprop-bench parity: numpy diverged at epoch 1 of 1000: weights_hidden grew to 1.1e+08 (over 1e+08), "
        "saturating every sigmoid; try a smaller learning_rate than 1e+09\n"
    )
    assert not (tmp_path / "out").exists()


def test_list_shows_every_implementation_with_versions_and_its_fairness_card(capsys):
    assert main(["list"]) == 0
    width = max(len(name) for name in ["implementation", *REGISTRY])
    lines = [f"{'implementation':<{width}} status       details"]
    cards = ["", "Fairness cards (what makes a timed call finished work; what is compiled, and when; threads; idiom):"]
    missing = unavailable()
    for name in REGISTRY:
        if name in missing:
            lines.append(f"{name:<{width}} unavailable  {missing[name]}")
            cards.append(f"{name:<{width}} " + "; ".join(declaration(name).card[aspect] for aspect in CARD_ASPECTS))
            continue
        implementation = get(name)
        versions = ", ".join(f"{package} {version}" for package, version in implementation.versions().items())
        lines.append(
            f"{name:<{width}} available    {implementation.variant}; {implementation.gradients} gradients; {versions}"
        )
        cards.append(f"{name:<{width}} " + "; ".join(implementation.card[aspect] for aspect in CARD_ASPECTS))
    inexact = [
        f"{name:<{width}} {declaration(name).float64_cause}" for name in REGISTRY if declaration(name).float64_cause
    ]
    if inexact:
        inexact = ["", "Not float64-exact (held to float32's drift bound instead of 1e-12), and why:", *inexact]
    assert capsys.readouterr().out == "\n".join(lines + cards + inexact) + "\n"
    assert re.search(
        r"^numpy +available +hand-written backward pass, eager; hand-written gradients; python 3\.\d+\.\d+, numpy \d",
        lines[1],
    )


def test_list_json_describes_every_implementation(capsys):
    assert main(["list", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [entry["name"] for entry in entries] == list(REGISTRY)
    missing = unavailable()
    for entry in entries:
        if entry["name"] in missing:
            assert entry["available"] is False and entry["reason"] == missing[entry["name"]]
            continue
        implementation = get(entry["name"])
        environment = declaration(entry["name"]).environment
        expected = {
            "name": implementation.name,
            "framework": implementation.framework,
            "built_on": implementation.built_on,
            "variant": implementation.variant,
            "gradients": implementation.gradients,
            "compiled": implementation.compiled,
            "available": True,
            "versions": implementation.versions(),
            "float64_exact": implementation.float64_exact,
            "card": implementation.card,
        }
        if not implementation.float64_exact:
            expected["cause"] = implementation.float64_cause
        if environment:
            expected["process"] = "own, with " + " ".join(f"{key}={value}" for key, value in environment.items())
        assert entry == expected


@pytest.mark.parametrize("command", ["list", "parity", "report", "compare", "calibrate", "history"])
def test_every_command_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as exit:
        main([command, "--help"])
    assert exit.value.code == 0
    assert f"usage: backprop-bench {command}" in capsys.readouterr().out


@NEEDS_CHROMIUM
def test_the_html_report_renders_in_a_real_browser_with_every_row_and_figure(tmp_path):
    run = write(
        tmp_path / "results" / "m" / "0001_run.json", saved_run({"numpy": 0.014, "torch": 0.065, "native": 0.00006})
    )
    assert main(["report", str(run), "--out", str(tmp_path / "report")]) == 0
    page = tmp_path / "report" / "report.html"
    assert 'src="data:image/png;base64,' in page.read_text() and "http" not in page.read_text().split("<footer>")[0]
    dom = rendered_dom(page, tmp_path)
    # the title says what ran where and when; the figure and the ranking come first, the machine and the cards after
    assert (
        "<title>Training the notebook's 3-3-2 network for 1,000 epochs: 3 implementations on AMD Zen 4, "
        "2026-01-01</title>" in dom
    )
    assert (
        dom.index("<img")
        < dom.index("<code>native</code>")
        < dom.index("<h2>Implementations")
        < dom.index("<h2>Measured on")
    )
    for name in ("numpy", "torch", "native"):
        assert re.search(rf"<tr>\s*<td><code>{name}</code></td>", dom), name
    figures = re.search(r'data-figures="(\d+)" data-figures-loaded="(\d+)"', dom)
    assert figures and int(figures.group(1)) == 2 and figures.group(1) == figures.group(2), dom[:300]


def test_saving_a_run_never_overwrites_one_even_when_the_name_is_taken(tmp_path, monkeypatch):
    storage = AtomicFileStorage(
        tmp_path, logger=type("Quiet", (), {"info": lambda *a, **k: None})(), default_machine_id="m"
    )
    first = storage.save({"benchmarks": [1]}, "run")
    # another process takes the next name between our choosing it and linking: we move on, we do not overwrite
    taken = tmp_path / "m" / "0002_run.json"
    original_link = os.link

    def link_after_a_rival(source, target):
        if Path(target) == taken and not taken.exists():
            taken.write_text("rival")
        return original_link(source, target)

    monkeypatch.setattr(os, "link", link_after_a_rival)
    second = storage.save({"benchmarks": [2]}, "run")
    assert [first.name, second.name] == ["0001_run.json", "0003_run.json"]
    assert taken.read_text() == "rival" and json.loads(first.read_text()) == {"benchmarks": [1], VERSION_KEY: VERSION}
    assert sorted(path.name for path in (tmp_path / "m").iterdir()) == [
        "0001_run.json",
        "0002_run.json",
        "0003_run.json",
    ]


def test_an_interrupted_write_leaves_the_old_file_and_no_partial_one(tmp_path, monkeypatch):
    report = atomic_write_text(tmp_path / "report.md", "the earlier report")

    def interrupted(_):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(report, "half of a new rep")
    assert report.read_text() == "the earlier report"
    assert [path.name for path in tmp_path.iterdir()] == ["report.md"]


# Ctrl-C at a moment a signal hits only by chance: the second benchmark's fixture made, the benchmark not yet called
INTERRUPT_IN_SETUP = """
import pytest

items = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    items.append(item)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    if len(items) == 2 and "benchmark" in items[-1].funcargs:  # the next fixture after the benchmark's
        raise KeyboardInterrupt
    return (yield)
"""


@pytest.mark.slow
def test_a_benchmark_interrupted_in_its_setup_is_not_saved_and_the_run_ends_without_a_traceback(tmp_path):
    write(tmp_path / "interrupt_in_setup.py", INTERRUPT_IN_SETUP)
    problem = short_notebook_problem(tmp_path / "short.json")
    done = run_pytest(
        "benchmarks/timed/bench_training.py",
        "-k",
        "numpy-float64 or python-float64",
        "--benchmark-only",
        "--budget=0.02",
        f"--problem={problem}",
        f"--benchmark-storage=file://{tmp_path / 'runs'}",
        "-p",
        "interrupt_in_setup",
        env=os.environ | {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])},
    )
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr, output_of(done)
    assert "not used" not in done.stdout + done.stderr, output_of(done)
    [saved] = [json.loads(path.read_text()) for path in (tmp_path / "runs").rglob("*.json")]
    assert saved["machine_info"]["interrupted"] is True and len(saved["benchmarks"]) == 1, saved["benchmarks"]


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM", "SIGKILL"])  # Ctrl-C, told to stop, killed
def test_an_interrupted_benchmark_run_keeps_earlier_runs_and_leaves_no_half_run(tmp_path, signal_name, monkeypatch):
    import signal
    import sys

    earlier = write(tmp_path / "Linux-CPython-3.11-64bit" / "0001_earlier.json", saved_run({"numpy": 0.014}))
    before = earlier.read_bytes()
    # Ctrl-C as at a terminal, however the suite was started (a shell starts a background job with SIGINT ignored, which
    # a child inherits): pytest with Python's own SIGINT handler put back
    as_at_a_terminal = (
        "import signal, sys, pytest; signal.signal(signal.SIGINT, signal.default_int_handler); sys.exit(pytest.main())"
    )
    problem = short_notebook_problem(tmp_path / "short.json")  # a brief run: what is asserted is what the signal leaves
    lock = str(tmp_path.parent / f"{tmp_path.name}.lock")
    run = subprocess.Popen(
        [
            sys.executable,
            "-c",
            as_at_a_terminal,
            "--benchmark-only",
            f"--benchmark-storage=file://{tmp_path}",
            "--budget=0.02",
            f"--problem={problem}",
            "-p",
            "no:cacheprovider",
            "-k",
            "test_training_loop",
            "-v",
        ],
        env=os.environ | {"PYTHONUNBUFFERED": "1", LOCK_ENV: lock},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in run.stdout:  # once the first benchmark has passed, the second is under way
            if " PASSED" in line:
                break
        run.send_signal(getattr(signal, signal_name))
        output = run.communicate(timeout=120)[0]
    finally:
        run.kill()  # a run the signal did not stop must not go on timing benchmarks beside the rest of the suite
        run.wait()
        # else a run that timed out leaves its pipe to the garbage collector, and another test's warning
        run.stdout.close()
    assert earlier.read_bytes() == before, output[-2000:]
    assert "Traceback" not in output, output[-3000:]
    monkeypatch.setenv(LOCK_ENV, lock)
    release_machine(hold_machine(wait=False))  # the session held the machine, and let go of it however it ended
    leftovers = [path for path in tmp_path.rglob("*") if path.is_file() and path not in (earlier, problem)]
    assert not [path for path in leftovers if path.name.startswith(".")], leftovers  # no half-written file
    assert len(leftovers) == (0 if signal_name == "SIGKILL" else 1), output[
        -2000:
    ]  # Ctrl-C and SIGTERM save what finished
    for path in leftovers:  # what was saved is whole, and says it is incomplete
        saved = json.loads(path.read_text())
        assert saved["machine_info"]["interrupted"] is True and saved["benchmarks"]
