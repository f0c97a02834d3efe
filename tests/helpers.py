"""What the tests share: the network written out once more in NumPy, saved runs built where the answers are known,
and ways to run the suite's commands and pytest in another process."""

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import strategies as st

from benchmarks.model.schema import VERSION, VERSION_KEY
from benchmarks.plugin.command_line import OPTIONS
from benchmarks.plugin.machine_lock import LOCK_ENV
from benchmarks.plugin.parameters import skip_unless_available
from implementations import registry
from implementations.registry import CARD_ASPECTS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"  # frozen runs the suite saved: the tests' saved data, apart from the live results/
# any JSON value, nested a little: what a malformed file may hold where something else belongs
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NEEDS_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium, which is not on PATH; install it with: apt-get install chromium"
)
# what a user's machine may lack though CI installs it: every C and C++ compiler (clang, gcc, g++, cc, c++) and Chromium
NOT_ON_A_BARE_MACHINE = re.compile(r"(clang|.*gcc|.*g\+\+|cc|c\+\+|c89|c99|cpp|chromium)([-.\d].*)?")
# what a module made by a test declares unless told otherwise: NumPy's loop under another name
MADE_BY_A_TEST = {
    "FRAMEWORK": "numpy",
    "VARIANT": "NumPy's loop, in a module made by a test",
    "COMPILED": False,
    "GRADIENTS": "hand-written",
    "CARD": dict.fromkeys(CARD_ASPECTS, "made by a test"),
    "REQUIRES": ("numpy>=2.0",),
    "COST_CLASS": "eager",
}


def register_module(
    request, folder: Path, name: str, body: str = "from implementations.with_numpy import prepare\n", **declarations
) -> Path:
    """Register implementation `name` for this test (`request`'s): a module written in `folder` with these declarations
    over MADE_BY_A_TEST's (None leaves one out), and `body`."""
    module = "with_" + name.replace("-", "_")
    constants = {key: value for key, value in (MADE_BY_A_TEST | declarations).items() if value is not None}
    path = folder / f"{module}.py"
    path.write_text("".join(f"{key} = {value!r}\n" for key, value in constants.items()) + body)
    registration = contextlib.ExitStack()
    registration.enter_context(registry.registered(name, module, folder))
    request.addfinalizer(registration.close)
    return path


def bare_path(folder: Path) -> str:
    """A PATH as this process's, less what a bare machine lacks (NOT_ON_A_BARE_MACHINE): a folder of links to every
    other program on it."""
    folder.mkdir(parents=True)
    for directory in map(Path, os.environ.get("PATH", os.defpath).split(os.pathsep)):
        for program in sorted(directory.iterdir()) if directory.is_dir() else ():
            if not NOT_ON_A_BARE_MACHINE.fullmatch(program.name) and not (folder / program.name).exists():
                (folder / program.name).symlink_to(program)
    return str(folder)


def implementation_params(exclude=()) -> list:
    """Every registered implementation (but those excluded) as a test parameter, skipped with the reason where
    unavailable."""
    return [pytest.param(name, marks=skip_unless_available(name)) for name in registry.REGISTRY if name not in exclude]


def sigmoid(z):
    """The logistic function."""
    return 1 / (1 + np.exp(-z))


def outputs(problem, weights_hidden, weights_output):
    """o = s(Wo s(Wh x)) for every sample, shaped (B, n_out), in float64."""
    x = np.asarray(problem.batch_inputs, dtype=np.float64)
    return sigmoid(sigmoid(x @ np.transpose(weights_hidden)) @ np.transpose(weights_output))


def loss(problem, weights_hidden, weights_output):
    """L = 1/(2B) * sum over batch and outputs of (y - o)^2."""
    error = problem.batch_targets - outputs(problem, weights_hidden, weights_output)
    return np.sum(error**2) / (2 * len(error))


def fingerprint(family=25, model=17, isa=("avx2", "avx512f"), l1d="32K") -> dict:
    """A machine fingerprint as the plugin records it, by default a Zen 4 VM."""
    from benchmarks.model.machines import fingerprint_id, microarchitecture

    recorded = {
        "vendor": "AuthenticAMD",
        "model_name": "AMD EPYC",
        "family": family,
        "model": model,
        "stepping": 1,
        "microarchitecture": microarchitecture("AuthenticAMD", family, model),
        "isa": list(isa),
        "caches": {"L1d": l1d, "L2": "1024K"},
        "logical_cpus": 2,
        "affinity": [1],
        "memory_gib": 23.5,
        "kernel": "6.1.0",
        "virtualization": "virtual machine",
        "governor": None,
        "blas_kernel": "openblas SkylakeX",
        "source": "kernel",
    }
    return recorded | {"id": fingerprint_id(recorded)}


MACHINE_INFO = {
    "node": "test-machine",
    "cpu": {"brand_raw": "Test CPU", "count": 2},
    "process_mode": "shared",
    "threads": {"requested": 1},
    "versions": {"python": "3.11.7", "numpy": "2.4.6"},
    "fingerprint": fingerprint(),
}


def projection(
    per_epoch_s: float, fixed_s: float, epochs: int = 1000, lengths=(1, 2, 4, 8), samples=5, noise=0.02, seed=0
) -> dict:
    """A loop timed at several lengths as the budget records it: timings of fixed + per_epoch x length, with
    multiplicative noise, and the line fitted through them."""
    from benchmarks.model.statistics import fit_epochs

    rng = np.random.default_rng(seed)
    timed = [length for _ in range(samples) for length in lengths]
    seconds = [(fixed_s + per_epoch_s * length) * (1 + noise * rng.standard_normal()) for length in timed]
    fit = fit_epochs(timed, seconds, epochs)
    return {
        "epochs": timed,
        "seconds": seconds,
        "fixed_s": fit.fixed_s,
        "per_epoch_s": fit.per_epoch_s,
        "per_epoch_interval": [fit.per_epoch.low, fit.per_epoch.high],
        "projected_s": fit.projected_s,
        "projected_interval": [fit.projected.low, fit.projected.high],
        "confidence": fit.projected.coverage,
    }


def saved_run(
    medians: dict[str, float],
    saved_at="2026-01-01T00:00:00",
    spread=0.02,
    rounds=25,
    seed=0,
    machine_info=None,
    replicates: dict[str, list[float]] | None = None,
    projected: dict[str, dict] | None = None,
) -> dict:
    """A pytest-benchmark run: per implementation, `rounds` samples spread evenly around the given median (s); with
    `replicates`, the medians of each implementation's replicate processes, as --replicates saves them; with
    `projected`, the projection (tests.helpers.projection) of each loop timed per epoch, whose median is its projected
    time."""
    rng = np.random.default_rng(seed)
    benchmarks = []
    machine_info = machine_info or MACHINE_INFO
    if replicates:
        machine_info = machine_info | {
            "process_mode": "replicated",
            "replicates": {"count": len(next(iter(replicates.values())))},
        }
    for name, median in medians.items():
        fit = (projected or {}).get(name)
        median = fit["projected_s"] if fit else median
        data = median * (1 + spread * rng.permutation(np.linspace(-1, 1, rounds)))
        q1, q3 = np.percentile(data, [25, 75])
        stats = {
            "min": data.min(),
            "max": data.max(),
            "median": float(np.median(data)),
            "q1": q1,
            "q3": q3,
            "iqr": q3 - q1,
            "rounds": rounds,
            "iterations": 1,
            "ld15iqr": data.min(),
            "hd15iqr": data.max(),
            "data": data.tolist(),
        }
        extra = {
            "kind": "loop",
            "implementation": name,
            "framework": name,
            "compiled": name == "jax",
            "versions": {name: "1.0"},
            "dtype": "float64",
            "epochs": 1000,
            "n_in": 3,
            "n_hidden": 3,
            "n_out": 2,
            "batch": 1,
            "compile_s": 0.1,
            "first_call_s": 2 * median,
            "import_s": 0.5,
            "loss_history": np.geomspace(0.3, 0.1, 1000).tolist(),
        }
        if replicates:
            extra["replicates"] = [
                {"pid": 100 + index, "median": value, "rounds": rounds} for index, value in enumerate(replicates[name])
            ]
        if fit:
            extra |= {
                "timing": "projected",
                "projection": fit,
                "loss_history": extra["loss_history"][: max(fit["epochs"])],
            }
        benchmarks.append(
            {
                "name": f"test_training_loop[{name}-float64]",
                "group": "notebook problem, float64",
                "stats": stats,
                "extra_info": extra,
            }
        )
    return {
        "machine_info": machine_info,
        "commit_info": {},
        "datetime": saved_at,
        "benchmarks": benchmarks,
        "version": "5.3.1",
        VERSION_KEY: VERSION,
    }


def frozen_run(kind: str) -> dict:
    """A small run the suite saved, frozen under tests/data/ (never the live results/): "loops" (training loops and the
    probes) or "sweep" (sweep points and the matrix-multiply peaks), as JSON."""
    return json.loads((DATA / f"{kind}.json").read_text())


def write(path: Path, content) -> Path:
    """Write a run, a problem (any JSON value) or text to path, making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def one_line_error(capsys, command: str, path) -> str:
    """The error the command printed, checked to be one line that names the input, with no traceback."""
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err + captured.out, captured.err
    assert captured.err.startswith(f"backprop-bench {command}: error: {path}"), captured.err
    return captured.err


def run_pytest(
    *args: str, cwd: Path = ROOT, timeout: float = 600, env: dict | None = None
) -> subprocess.CompletedProcess:
    """pytest with these arguments in a fresh process, as a user runs it from the repository (no cache written)."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    env = env or os.environ.copy()
    if (
        LOCK_ENV not in env
    ):  # the workers' benchmark sessions run side by side, a worker's one at a time: a lock per worker
        env = env | {LOCK_ENV: str(Path(tempfile.gettempdir()) / f"backprop-bench-tests-{os.getpid()}.lock")}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def output_of(done: subprocess.CompletedProcess) -> str:
    """The end of a process's output, for an assertion's message."""
    return done.stdout[-3000:] + done.stderr[-3000:]


def short_notebook_problem(path: Path, epochs: int = 20) -> Path:
    """The notebook's problem with fewer epochs, as a problem file: a whole benchmark session with every
    implementation (Keras's fit() costs tens of milliseconds an epoch) in seconds, not minutes."""
    from implementations import seed_problem

    seed = seed_problem()
    return write(
        path,
        {
            "inputs": seed.inputs.tolist(),
            "targets": seed.targets.tolist(),
            "weights_hidden": seed.weights_hidden.tolist(),
            "weights_output": seed.weights_output.tolist(),
            "learning_rate": seed.learning_rate,
            "epochs": epochs,
        },
    )


def rendered_dom(page: Path, folder: Path) -> str:
    """The DOM of a local page after headless Chromium has loaded it and run its scripts (a profile kept in folder)."""
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={folder / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


def plugin_options(**given) -> SimpleNamespace:
    """The plugin's options as pytest parses them: the defaults of the table, and pytest-benchmark's that the session
    reads."""
    values = {option.dest: option.settings.get("default") for option in OPTIONS}
    return SimpleNamespace(
        **values | {"benchmark_only": True, "collectonly": False, "benchmark_disable_gc": False} | given
    )


def fake_config(**given):
    option = plugin_options(**given)
    return SimpleNamespace(option=option, getoption=lambda name: getattr(option, name))
