"""Faults lose nothing: one benchmark session at a time on a machine, and a session that dies leaves nothing held."""

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.model import files as files_module
from benchmarks.plugin.imports import ImportTimes
from benchmarks.plugin.machine_lock import LOCK_ENV, MachineBusy, hold_machine, release_machine
from benchmarks.plugin.storage import AtomicFileStorage
from tests.helpers import MADE_BY_A_TEST, ROOT, frozen_run, output_of, run_pytest, short_notebook_problem, write

ONE_BENCHMARK = "benchmarks/timed/bench_training.py::test_training_loop[numpy-float64]"


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """The environment of sessions that share one machine lock (a file of this test's own)."""
    monkeypatch.setenv(LOCK_ENV, str(tmp_path / "machine.lock"))
    return os.environ.copy()


def benchmark_session(tmp_path, *options: str) -> list[str]:
    """The arguments of a brief benchmark session of one loop, saving under tmp_path/runs."""
    problem = short_notebook_problem(tmp_path / "short.json")
    return [
        ONE_BENCHMARK,
        "--benchmark-only",
        f"--benchmark-storage=file://{tmp_path / 'runs'}",
        "--budget=0.02",
        f"--problem={problem}",
        *options,
    ]


def test_a_second_benchmark_session_is_refused_at_once_naming_the_first(machine, tmp_path):
    held = hold_machine(wait=False)
    try:
        done = run_pytest(*benchmark_session(tmp_path), env=machine, timeout=120)
    finally:
        release_machine(held)
    assert done.returncode == 4, output_of(done)
    assert (
        f"ERROR: another benchmark session (pid {os.getpid()}) is measuring on this machine, and two at once corrupt "
        "each other's timings; run this one when it ends, or add --wait to start it then"
    ) in done.stderr, output_of(done)
    assert not (tmp_path / "runs").exists()  # nothing measured, nothing saved


def test_plain_test_runs_are_not_blocked_by_a_measuring_session(machine):
    held = hold_machine(wait=False)
    try:
        done = run_pytest("tests/test_problem.py", "-n", "0", "-q", env=machine, timeout=300)
    finally:
        release_machine(held)
    assert done.returncode == 0, output_of(done)


def test_with_wait_a_second_session_starts_when_the_first_ends(machine, tmp_path):
    held = hold_machine(wait=False)
    waiting = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *benchmark_session(tmp_path, "--wait")],
        cwd=ROOT,
        env=machine | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = waiting.stdout.readline()
        assert first.strip() == f"backprop-bench: waiting for the benchmark session of pid {os.getpid()} to end", first
        time.sleep(0.5)
        assert waiting.poll() is None  # still waiting while the machine is held
        release_machine(held)
        output = waiting.communicate(timeout=300)[0]
    finally:
        waiting.kill()
        waiting.wait()
    assert waiting.returncode == 0, output[-3000:]
    assert len(list((tmp_path / "runs").rglob("*.json"))) == 1


def test_a_killed_session_leaves_the_machine_free(machine):
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from benchmarks.plugin.machine_lock import hold_machine; hold_machine(False); print('held', "
            "flush=True); time.sleep(60)",
        ],
        cwd=ROOT,
        env=machine,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout.readline().strip() == "held"
            with pytest.raises(MachineBusy, match=f"pid {holder.pid}"):
                hold_machine(wait=False)
        finally:
            holder.send_signal(signal.SIGKILL)
    release_machine(hold_machine(wait=False))  # the kernel let go of a lock whose holder died: nothing stuck


def full_disk_after(monkeypatch, files: int) -> None:
    """Every file write after the first `files` fails as on a full disk (ENOSPC), where the suite writes its outputs."""
    written = [0]
    real_fdopen = os.fdopen

    def fdopen(descriptor, mode="r", *args, **kwargs):
        file = real_fdopen(descriptor, mode, *args, **kwargs)
        written[0] += 1
        if written[0] > files:
            real_write = file.write

            def write(data):
                real_write(data[:1])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            file.write = write
        return file

    monkeypatch.setattr(files_module.os, "fdopen", fdopen)


# the first write fails; a later one, after some files of the report were written
@pytest.mark.parametrize("files", [0, 2])
def test_a_full_disk_while_writing_a_report_is_bad_input_and_leaves_nothing(tmp_path, capsys, monkeypatch, files):
    run = write(tmp_path / "results" / "machine" / "0001_run.json", frozen_run("loops"))
    earlier = write(tmp_path / "earlier" / "report.md", "an earlier report")
    full_disk_after(monkeypatch, files)
    for out in (tmp_path / "new" / "report", earlier.parent):
        assert main(["report", str(run), "--out", str(out)]) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "Traceback" not in error, error
        assert re.fullmatch(
            rf"backprop-bench report: error: cannot write {re.escape(str(out))}/[\w.]+: No space left on device\n",
            error,
        ), error
    assert not (tmp_path / "new").exists()  # the folders it made went again
    assert [path.name for path in earlier.parent.iterdir()] == [
        "report.md"
    ] and earlier.read_text() == "an earlier report"


def test_a_full_disk_while_writing_parity_or_history_is_bad_input_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    run = write(tmp_path / "results" / "machine" / "0001_run.json", frozen_run("loops"))
    full_disk_after(monkeypatch, 0)
    assert main(["history", str(run), "--out", str(tmp_path / "pages" / "history.html")]) == 2
    assert main(["parity", "--implementations", "numpy,python", "--out", str(tmp_path / "parity")]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert [line.split(": error: ")[0] for line in errors] == ["backprop-bench history", "backprop-bench parity"], (
        errors
    )
    assert all(line.endswith(": No space left on device") for line in errors), errors
    assert sorted(path.name for path in tmp_path.iterdir()) == ["results"]


def node(name: str) -> str:
    return f"benchmarks/timed/bench_training.py::test_training_loop[{name}-float64]"


@pytest.mark.slow
def test_a_child_past_its_limit_fails_its_benchmark_alone_and_the_run_says_why(tmp_path, capsys):
    # a wide problem: micrograd's scalar graph takes tens of seconds for its first epochs, NumPy milliseconds
    problem = write(
        tmp_path / "wide.json",
        {
            "inputs": [[0.1, 0.2, 0.3, 0.4]] * 64,
            "targets": [[0.5] * 10] * 64,
            "epochs": 20,
            "weights_hidden": [[0.01] * 4] * 64,
            "weights_output": [[0.01] * 64] * 10,
            "learning_rate": 0.01,
        },
    )
    runs = tmp_path / "runs"
    earlier = write(runs / "Linux-CPython-3.11-64bit" / "0001_earlier.json", frozen_run("loops"))
    before = earlier.read_bytes()
    done = run_pytest(
        node("numpy"),
        node("micrograd"),
        "--benchmark-only",
        "--isolate",
        "--child-limit=15",
        "--budget=0.02",
        f"--problem={problem}",
        f"--benchmark-storage=file://{runs}",
        timeout=300,
    )
    assert done.returncode == 1, output_of(done)
    why = (
        "the fresh process of test_training_loop[micrograd-float64] ran past its limit of 15 s and was killed "
        "(--child-limit sets it):"
    )
    assert why in done.stdout, output_of(done)
    assert earlier.read_bytes() == before
    (saved,) = [path for path in runs.rglob("*.json") if path != earlier]
    run = json.loads(saved.read_text())
    assert [bench["name"] for bench in run["benchmarks"]] == [
        "test_training_loop[numpy-float64]"
    ]  # the other one went on
    assert run["machine_info"]["failed"] == {"test_training_loop[micrograd-float64]": why}
    assert main(["report", str(saved), "--out", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert f"| `test_training_loop[micrograd-float64]` | {why} |" in markdown, markdown


def benchmark_children_of(pid: int) -> list[int]:
    """The processes pid started to run benchmarks (not its import timer's)."""
    children = []
    for process in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((process / "stat").read_text().rpartition(")")[2].split()[1])
            command = (process / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and any(part.startswith(b"--child=") for part in command):
            children.append(int(process.name))
    return children


@pytest.mark.slow
def test_a_child_killed_mid_benchmark_fails_its_benchmark_alone(tmp_path):
    problem = short_notebook_problem(tmp_path / "short.json")
    runs = tmp_path / "runs"
    session = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            node("numpy"),
            node("python"),
            "--benchmark-only",
            "--isolate",
            "--budget=0.02",
            f"--problem={problem}",
            f"--benchmark-storage=file://{runs}",
        ],
        cwd=ROOT,
        env=os.environ | {"PYTHONUNBUFFERED": "1", LOCK_ENV: str(tmp_path / "machine.lock")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in session.stdout:  # the first benchmark's child is starting
            if started := re.match(r"\[1/2\] test_training_loop\[(\w+)-float64\]", line):
                break
        while not (children := benchmark_children_of(session.pid)):
            time.sleep(0.01)
        os.kill(children[0], signal.SIGKILL)
        output = session.communicate(timeout=300)[0]
    finally:
        session.kill()
        session.wait()
    killed, other = started[1], ({"numpy", "python"} - {started[1]}).pop()
    assert session.returncode == 1, output[-3000:]
    why = f"the fresh process of test_training_loop[{killed}-float64] was killed by SIGKILL:"
    assert why in output and f"ERROR {node(killed)}" not in output, output[-3000:]  # failed, and nothing more
    (saved,) = runs.rglob("*.json")
    run = json.loads(saved.read_text())
    assert [bench["name"] for bench in run["benchmarks"]] == [
        f"test_training_loop[{other}-float64]"
    ]  # the other one went on
    assert run["machine_info"]["failed"] == {f"test_training_loop[{killed}-float64]": why}


def test_a_folder_that_cannot_hold_runs_is_refused_before_anything_is_measured(tmp_path):
    done = run_pytest(ONE_BENCHMARK, "--benchmark-only", "--benchmark-storage=file:///proc/runs", timeout=120)
    assert done.returncode == 4, output_of(done)
    assert (
        "ERROR: --benchmark-storage: expected a folder that can be created, but writing in /proc fails: No such file "
        "or directory" in done.stderr
    ), output_of(done)
    assert "test_training_loop" not in done.stdout  # refused before a benchmark ran


def test_a_full_disk_while_saving_a_run_saves_nothing_and_says_why(tmp_path, monkeypatch):
    earlier = write(tmp_path / "Linux-CPython-3.11-64bit" / "0001_earlier.json", frozen_run("loops"))
    before = earlier.read_bytes()
    failures, saved = [], []
    storage = AtomicFileStorage(
        tmp_path,
        logger=None,
        default_machine_id="Linux-CPython-3.11-64bit",
        on_save=saved.append,
        on_fail=failures.append,
    )
    full_disk_after(monkeypatch, 0)
    assert storage.save(frozen_run("loops"), "later") is None
    assert not saved and len(failures) == 1
    assert re.fullmatch(
        rf"the run could not be saved: cannot write {re.escape(str(earlier.parent))}/0002_later\.json: "
        "No space left on device",
        failures[0],
    ), failures
    assert [path.name for path in tmp_path.rglob("*") if path.is_file()] == [
        earlier.name
    ] and earlier.read_bytes() == before


def test_a_full_disk_while_index_writes_leaves_both_readmes_as_they_were(tmp_path, capsys, monkeypatch):
    write(tmp_path / "results" / "machine" / "0001_run.json", frozen_run("loops"))
    markers = (
        "<!-- generated by backprop-bench index: start -->\nold\n<!-- generated by backprop-bench index: end -->\n"
    )
    readmes = {
        tmp_path / "results" / "README.md": "# results\n" + markers,
        tmp_path / "README.md": "# project\n" + markers,
    }
    for path, text in readmes.items():
        path.write_text(text)
    full_disk_after(monkeypatch, 1)  # the first file is written beside its target, the second fails
    assert main(["index", "--results", str(tmp_path / "results"), "--readme", str(tmp_path / "README.md")]) == 2
    assert re.fullmatch(
        rf"backprop-bench index: error: cannot write {re.escape(str(tmp_path))}/.*README\.md: No space left on "
        r"device\n",
        capsys.readouterr().err,
    )
    assert {path: path.read_text() for path in readmes} == readmes  # neither written
    assert not [path for path in tmp_path.rglob(".*") if path.is_file()]  # and no file left beside them


def test_a_rename_that_fails_leaves_the_target_as_it_was_and_nothing_beside_it(tmp_path, monkeypatch):
    target = tmp_path / "report.md"
    target.write_text("the earlier report")

    def refused(source, destination):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(files_module.os, "replace", refused)
    with pytest.raises(PermissionError):
        files_module.atomic_write_text(target, "a new report")
    assert [path.name for path in tmp_path.iterdir()] == ["report.md"] and target.read_text() == "the earlier report"


def test_an_import_timer_that_dies_leaves_the_import_unknown_and_the_benchmark_standing():
    imports = ImportTimes()
    died = Future()
    died.set_exception(subprocess.CalledProcessError(-signal.SIGKILL, ["python", "-c", "..."]))
    imports.futures["numpy"] = died
    assert imports.of("numpy", spare_cpus=[]) == {"import_s": None, "frameworks_imported": None}


# registered at every interpreter's start in a session's process (sitecustomize): an implementation whose prepare raises
RAISES = """
import implementations
from implementations import registry

implementations.__path__.append({folder!r})
registry.REGISTRY["raises"] = "with_raises"
"""


def raising_implementation(folder: Path) -> dict:
    """The environment of a session that has an implementation `raises` (NumPy's declarations) whose prepare raises."""
    module = "".join(f"{key} = {value!r}\n" for key, value in MADE_BY_A_TEST.items())
    write(
        folder / "with_raises.py", module + "\n\ndef prepare(problem):\n    raise RuntimeError('no usable devices')\n"
    )
    write(folder / "sitecustomize.py", RAISES.format(folder=str(folder)))
    return os.environ | {
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]),
        LOCK_ENV: str(folder / "machine.lock"),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    "selection", ["numpy-float64 or raises-float64", "raises-float64"], ids=["one-of-two", "every-one"]
)
def test_a_benchmark_that_raises_fails_in_one_line_naming_its_exception_and_the_report_says_the_same(
    tmp_path, selection
):
    env = raising_implementation(tmp_path / "raises")
    problem = short_notebook_problem(tmp_path / "short.json")
    done = run_pytest(
        "benchmarks/timed/bench_training.py",
        "-k",
        selection,
        "--benchmark-only",
        "--budget=0.02",
        f"--problem={problem}",
        f"--benchmark-storage=file://{tmp_path / 'runs'}",
        env=env,
    )
    why = "RuntimeError: no usable devices (in prepare, "
    assert done.returncode == 1, output_of(done)
    assert (
        "Traceback" not in done.stdout + done.stderr and "ERROR" not in done.stdout and "def prepare" not in done.stdout
    ), output_of(done)
    assert done.stdout.count("FAILED ") == 1 and re.search(
        rf"^  test_training_loop\[raises-float64\]: {re.escape(why)}", done.stdout, re.M
    )
    assert re.search(r"^=+ 1 failed", done.stdout.splitlines()[-1]), output_of(done)
    saved = list((tmp_path / "runs").rglob("*.json"))
    if (
        selection == "raises-float64"
    ):  # nothing was measured: nothing saved, and the session still ends with its summary
        assert saved == [], saved
        return
    run = json.loads(saved[0].read_text())
    assert run["machine_info"]["failed"]["test_training_loop[raises-float64]"].startswith(why)
    assert main(["report", str(saved[0]), "--out", str(tmp_path / "report")]) == 0
    assert f"| `test_training_loop[raises-float64]` | {why}" in (tmp_path / "report" / "report.md").read_text()


@pytest.mark.slow
def test_with_tb_a_failed_benchmark_shows_its_whole_traceback(tmp_path):
    env = raising_implementation(tmp_path / "raises")
    problem = short_notebook_problem(tmp_path / "short.json")
    done = run_pytest(
        "benchmarks/timed/bench_training.py",
        "-k",
        "raises-float64",
        "--benchmark-only",
        "--budget=0.02",
        "--tb=short",
        f"--problem={problem}",
        f"--benchmark-storage=file://{tmp_path / 'runs'}",
        env=env,
    )
    assert done.returncode == 1 and "raise RuntimeError('no usable devices')" in done.stdout, output_of(done)
