"""Option values, typed and range-checked where they are parsed: each takes the text a user typed and returns the
value, or raises argparse.ArgumentTypeError saying what was expected (the command line's and pytest's parsers both
use them)."""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path

from implementations.registry import REGISTRY


def checked(text: str, parse, expected: str, accepts=lambda value: True):
    """The text parsed (by int or float) to a finite value that `accepts` takes, or an error saying what was
    expected."""
    try:
        value = parse(text)
        usable = math.isfinite(value) and accepts(value)
    except (ValueError, OverflowError):  # not a number, or an integer too large for a float
        usable = False
    if not usable:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_number(text: str) -> float:
    """A finite number > 0: a tolerance, a budget in seconds."""
    return checked(text, float, "a finite number > 0", lambda value: value > 0)


def significance_level(text: str) -> float:
    """A probability strictly between 0 and 1."""
    return checked(text, float, "a significance level between 0 and 1, such as 0.002", lambda value: 0 < value < 1)


def percent(text: str) -> float:
    """A percentage >= 0, given as 10 or 10%."""
    value = checked(text.removesuffix("%"), float, "a percentage such as 10 or 10%")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a percentage >= 0, got {text!r}")
    return value


def percent_or_off(text: str) -> float | None:
    """A percentage, or off (None)."""
    return None if text == "off" else percent(text)


def percentages(text: str) -> list[float]:
    """Comma-separated percentages, each above 0 and named once: 5,10,20."""
    values = [percent(part) for part in text.split(",")]
    if not all(values) or len(set(values)) < len(values):
        raise argparse.ArgumentTypeError(f"expected distinct percentages above 0 such as 5,10,20, got {text!r}")
    return values


def count(text: str) -> int:
    """A whole number >= 1."""
    return checked(text, int, "a whole number >= 1", lambda value: value >= 1)


def replicate_of(text: str) -> tuple[int, int]:
    """Which replicate of how many, written R/N with R counted from 0: 0/3 is the first of three."""
    replicate, _, replicates = text.partition("/")
    try:
        value = int(replicate), int(replicates)
    except ValueError:
        value = (-1, 0)
    if not 0 <= value[0] < value[1]:
        raise argparse.ArgumentTypeError(f"expected R/N with 0 <= R < N, such as 0/3, got {text!r}")
    return value


def implementation_names(text: str) -> list[str]:
    """Comma-separated names of registered implementations, at least one, each named once."""
    names = text.split(",")
    if unknown := [name for name in names if name not in REGISTRY]:
        raise argparse.ArgumentTypeError(
            f"unknown implementation {unknown[0]!r}; expected names from: {', '.join(REGISTRY)}"
        )
    if repeated := [name for index, name in enumerate(names) if name in names[:index]]:
        raise argparse.ArgumentTypeError(f"{repeated[0]!r} is named twice; expected each implementation once")
    return names


def cannot_write_in(folder: Path) -> str | None:
    """Why this process cannot write a file in the folder, as the system says when it tries; None if it can. Tried, not
    asked: as root, os.access says yes to /proc and to read-only mounts alike."""
    try:
        descriptor, probe = tempfile.mkstemp(dir=folder, prefix=".backprop-bench-probe-")
    except OSError as error:
        return error.strerror or str(error)
    try:
        os.write(descriptor, b"probe")  # a full disk refuses the first byte on most file systems
    except OSError as error:
        return error.strerror or str(error)
    finally:
        os.close(descriptor)
        os.unlink(probe)
    return None


def _writable_from(path: Path, what: str) -> Path:
    """The path, if it can be made: its nearest existing folder is a folder this process can write in."""
    above = path.absolute().parent
    while not above.exists():
        above = above.parent
    if not above.is_dir():
        raise argparse.ArgumentTypeError(f"expected {what} that can be created, but {above} is a file")
    if reason := cannot_write_in(above):
        raise argparse.ArgumentTypeError(f"expected {what} that can be created, but writing in {above} fails: {reason}")
    return path


def _usable_path(text: str) -> Path:
    """The text as a path this system accepts."""
    try:
        path = Path(text)
        path.exists()
        path.resolve()  # a symlink loop: RuntimeError up to Python 3.12, OSError from 3.13
    except (OSError, ValueError, RuntimeError) as error:
        raise argparse.ArgumentTypeError(f"{text!r} cannot be used as a path ({error})") from None
    return path


def output_folder(text: str) -> Path:
    """A folder to write into: an existing folder, or one that can be created (it is created only when writing)."""
    path = _usable_path(text)
    if path.exists():
        if not path.is_dir():
            raise argparse.ArgumentTypeError(f"expected a folder, but {text!r} is a file")
        if reason := cannot_write_in(path):
            raise argparse.ArgumentTypeError(
                f"expected a folder this process can write in, but writing in {text!r} fails: {reason}"
            )
        return path
    return _writable_from(path, "a folder")


def output_file(text: str) -> Path:
    """A file to write: an existing file, or one whose folder can be created."""
    path = _usable_path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"expected a file to write, but {text!r} is a folder")
    return _writable_from(path, "a file")  # its folder: the file is written beside and renamed over
