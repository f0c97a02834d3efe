"""Run an implementation in a Python process of its own, started with the environment the registry declares.

Keras picks its backend once per process, from KERAS_BACKEND before its import, so `keras-jax` cannot train
in a process that already imported Keras for PyTorch. From such a process, `prepare` and the training loop it
returns are carried out by a worker: one long-lived child per environment, fed pickled requests on its stdin,
answering on its stdout. The results are the worker's, computed by the same module code; only the Python API
and the tests go through here: the benchmarks run such implementations in a fresh child process of their own
(benchmarks/plugin/children.py), so no pipe is ever timed.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import pickle
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path

from .problem import Problem, TrainResult

# the folder that holds this package: the worker imports the same code
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


class WorkerFailed(RuntimeError):
    """The worker process died or could not start; the message carries the end of its error output."""


class Worker:
    """One child Python process with its own environment, preparing and running training loops on request."""

    def __init__(self, environment: dict[str, str]):
        self.environment = environment
        self.log = tempfile.TemporaryFile()  # the child's stderr (frameworks log there), read back if it dies
        path = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=os.environ | environment | {"PYTHONPATH": path},
        )

    def ask(self, *request):
        """Send one request and return its answer, raising here what the worker raised there."""
        try:
            pickle.dump(request, self.process.stdin)
            self.process.stdin.flush()
            status, answer = pickle.load(self.process.stdout)
        except (BrokenPipeError, EOFError, pickle.UnpicklingError):
            self.process.wait()
            self.log.seek(0)
            tail = self.log.read()[-3000:].decode(errors="replace")
            setting = " ".join(f"{key}={value}" for key, value in self.environment.items())
            raise WorkerFailed(
                f"the worker process for {setting} exited with status {self.process.returncode}:\n{tail}"
            ) from None
        if status == "error":
            raise answer
        return answer

    def close(self):
        """Ask the worker to finish (end of its input), wait for it, and close the pipes and the log."""
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.log):
            with contextlib.suppress(BrokenPipeError):  # a dead worker's unread request: closed all the same
                stream.close()


_WORKERS: dict[tuple[tuple[str, str], ...], Worker] = {}


def _worker(environment: dict[str, str]) -> Worker:
    """The worker for this environment, started on first use and kept until this process exits."""
    key = tuple(sorted(environment.items()))
    worker = _WORKERS.get(key)
    if worker is None or worker.process.poll() is not None:
        if worker is not None:
            worker.close()
        worker = _WORKERS[key] = Worker(environment)
    return worker


@atexit.register
def _close_workers():
    for worker in _WORKERS.values():
        worker.close()


def prepare_elsewhere(module: str, environment: dict[str, str], problem: Problem) -> Callable[[], TrainResult]:
    """`prepare(problem)` of the implementation module, run in the worker for this environment; return its loop."""
    worker = _worker(environment)
    handle = worker.ask("prepare", module, problem)

    def train() -> TrainResult:
        return worker.ask("train", handle)

    # the worker keeps the prepared loop (a model, compiled functions) for as long as this function lives
    weakref.finalize(train, _release, worker, handle)
    return train


def _release(worker: Worker, handle: int) -> None:
    if worker.process.poll() is None:
        worker.ask("release", handle)


def serve() -> None:
    """The worker's side: answer requests from stdin until it closes, keeping every prepared loop by handle."""
    requests, answers = sys.stdin.buffer, os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # what the frameworks print goes to stderr, not into the answers
    loops: dict[int, Callable[[], TrainResult]] = {}
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        try:
            match request:
                case ("prepare", module, problem):
                    loop = importlib.import_module(f"{__package__}.{module}").prepare(problem)
                    loops[id(loop)] = loop
                    answer = id(loop)
                case ("train", handle):
                    answer = loops[handle]()
                case ("release", handle):
                    loops.pop(handle, None)
                    answer = None
            reply = pickle.dumps(("ok", answer))
        except Exception as error:  # noqa: BLE001 -- raised again in the asking process
            try:
                reply = pickle.dumps(("error", error))
            except Exception:  # noqa: BLE001 -- an exception that does not pickle travels as its text
                reply = pickle.dumps(("error", RuntimeError(f"{type(error).__name__}: {error}")))
        answers.write(reply)
        answers.flush()


if __name__ == "__main__":
    serve()
