"""Writing results so that no reader ever sees half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_beside(target: Path, data: bytes) -> str:
    """Write data to a hidden temporary file in the target's folder (which no run or report glob matches)."""
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(descriptor, 0o666 & ~umask)  # the permissions a plain open() would give
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:  # interrupted or failed: leave nothing behind
        os.unlink(temporary)
        raise
    return temporary


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write beside the target, then rename over it: a reader sees the old file or the new one, never a part."""
    path = Path(path)
    temporary = write_beside(path, data)
    try:
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """atomic_write_bytes for text."""
    return atomic_write_bytes(path, text.encode())
