"""User problems: a JSON or TOML file whose keys are the fields of Problem."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np

from implementations import Problem

from .errors import BadInput
from .schema import is_number

REQUIRED = ("inputs", "targets", "weights_hidden", "weights_output")
OPTIONAL = ("learning_rate", "epochs", "dtype")
MAX_FILE_BYTES = 50 * 2**20
MAX_NUMBERS = 10_000_000  # more than this is no small network to check by hand
MAX_EPOCHS = 10_000_000


class ProblemFileError(BadInput):
    """A problem file that cannot be used, with the file and the problem in its message."""


def load_problem(path: str | Path) -> Problem:
    """Read and validate a problem file (.json, or .toml)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ProblemFileError(f"{path}: no such file") from None
    except OSError as error:  # a path below a file, one too long, a folder without permission
        raise ProblemFileError(f"{path}: cannot be read ({error.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise ProblemFileError(
            f"{path}: the file is {size / 2**20:.0f} MiB; a problem file may be at most {MAX_FILE_BYTES // 2**20} MiB"
        )
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ProblemFileError(f"{path}: cannot be read ({error})") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except json.JSONDecodeError as error:
        raise ProblemFileError(
            f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ProblemFileError(f"{path}: not valid TOML ({error})") from None
    if not isinstance(data, dict):
        raise ProblemFileError(
            f"{path}: expected an object with the fields {', '.join(REQUIRED + OPTIONAL)}, got {type(data).__name__}"
        )
    missing = [field for field in REQUIRED if field not in data]
    if missing:
        raise ProblemFileError(
            f"{path}: missing field{'s' * (len(missing) > 1)} {', '.join(missing)} (a problem needs "
            f"{', '.join(REQUIRED)}; {', '.join(OPTIONAL)} are optional)"
        )
    unknown = sorted(set(data) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise ProblemFileError(
            f"{path}: unknown field{'s' * (len(unknown) > 1)} {', '.join(unknown)}; expected "
            f"{', '.join(REQUIRED + OPTIONAL)}"
        )
    if mistyped := next(
        filter(
            None,
            (
                _not_a_number(field, data[field], field in REQUIRED)
                for field in (*REQUIRED, "learning_rate")
                if field in data
            ),
        ),
        None,
    ):
        raise ProblemFileError(f"{path}: {mistyped}")
    numbers = sum(np.size(np.asarray(data[field], dtype=object)) for field in REQUIRED)
    if numbers > MAX_NUMBERS:
        raise ProblemFileError(f"{path}: the problem holds {numbers:,} numbers; at most {MAX_NUMBERS:,}")
    epochs = data.get("epochs", 1000)
    if isinstance(epochs, int) and epochs > MAX_EPOCHS:
        raise ProblemFileError(f"{path}: epochs must be at most {MAX_EPOCHS:,}, got {epochs:,}")
    try:
        return Problem(**data)
    except ValueError as error:
        raise ProblemFileError(f"{path}: {error}") from None


def _not_a_number(where: str, value, array: bool) -> str | None:
    """Where a field (an array of numbers, or a number) holds something other than a number, in JSON's and TOML's sense:
    true, false and "0.1" are not numbers."""
    if array and isinstance(value, list):
        return next(
            filter(None, (_not_a_number(f"{where}[{index}]", item, True) for index, item in enumerate(value))), None
        )
    if is_number(value):
        return None
    return (
        f"{where} must be {'an array of numbers' if array and where.isidentifier() else 'a number'}, got "
        f"{type(value).__name__} {value!r:.40}"
    )


def problem_to_json(problem: Problem) -> str:
    """A problem as the JSON a problem file holds."""
    return json.dumps(
        {
            "inputs": problem.inputs.tolist(),
            "targets": problem.targets.tolist(),
            "weights_hidden": problem.weights_hidden.tolist(),
            "weights_output": problem.weights_output.tolist(),
            "learning_rate": problem.learning_rate,
            "epochs": problem.epochs,
            "dtype": problem.dtype,
        },
        indent=2,
    )
