"""Each implementation's training of a problem, done once per test run: every test and every benchmark's plain-run call
that needs it gets the same result, and a parallel run's workers share theirs through the run's folder."""

from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from implementations import Problem, TrainResult, get

from .workers import locked


def problem_key(problem: Problem) -> str:
    """A name for the problem that only the same problem has: a digest of its arrays (values, dtype, shape) and
    schedule."""
    digest = hashlib.sha256(f"{problem.learning_rate!r} {problem.epochs} {problem.dtype}".encode())
    for array in (problem.inputs, problem.targets, problem.weights_hidden, problem.weights_output):
        digest.update(f"{array.dtype} {array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


@dataclass
class Trainings:
    """The results trained so far in this run, by implementation and problem; with `folder`, shared with the other
    workers."""

    folder: Path | None = None
    results: dict[str, TrainResult] = field(default_factory=dict)

    def of(self, name: str, problem: Problem) -> TrainResult:
        """The implementation's result on the problem: trained here the first time the run asks for it."""
        key = f"{name}-{problem_key(problem)}"
        if key not in self.results:
            self.results[key] = get(name).train(problem) if self.folder is None else self.shared(key, name, problem)
        return self.results[key]

    def shared(self, key: str, name: str, problem: Problem) -> TrainResult:
        """The result from the workers' folder, trained here and saved there first if no worker has yet (the others
        wait)."""
        saved = self.folder / f"{key}.pickle"
        with locked(self.folder / f"{key}.lock", fcntl.LOCK_EX):
            if saved.exists():
                return pickle.loads(saved.read_bytes())
            result = get(name).train(problem)
            partial = saved.with_suffix(".partial")
            partial.write_bytes(pickle.dumps(result))
            os.replace(partial, saved)
            return result
