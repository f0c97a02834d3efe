"""Writing results so that no reader ever sees half a file, and a command that fails while writing leaves nothing of
it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import BadInput


class OutputError(BadInput):
    """An output that cannot be written (a full disk, a read-only folder): bad input, named with the system's reason."""


def write_beside(target: Path, data: bytes) -> str:
    """Write data to a hidden temporary file in the target's folder (which no run or report glob matches)."""
    try:
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error.strerror or error}") from None
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(descriptor, 0o666 & ~umask)  # the permissions a plain open() would give
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException as error:  # failed or interrupted: leave nothing behind
        os.unlink(temporary)
        if isinstance(error, OSError):
            raise OutputError(f"cannot write {target}: {error.strerror or error}") from None
        raise
    return temporary


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write beside the target, then rename over it: a reader sees the old file or the new one, never a part."""
    atomic_write_all({Path(path): data})
    return Path(path)


def atomic_write_text(path: Path, text: str) -> Path:
    """atomic_write_bytes for text."""
    return atomic_write_bytes(path, text.encode())


def atomic_write_all(contents: dict[Path, bytes]) -> None:
    """Write every file beside its target first, then rename each over its target: a write error leaves every target as
    it was."""
    written: dict[Path, str] = {}
    try:
        for path, data in contents.items():
            written[Path(path)] = write_beside(Path(path), data)
        for path, temporary in written.items():
            os.replace(temporary, path)
    finally:  # whatever was not renamed into place
        for temporary in written.values():
            Path(temporary).unlink(missing_ok=True)


@contextmanager
def outputs_in(folder: Path) -> Iterator[Path]:
    """A hidden folder inside `folder` (made if need be) to write a command's outputs into; when all are written they
    are renamed into `folder`. If writing fails, none of them is: the folders this made go again, earlier files stay."""
    folder = Path(folder)
    made = next(
        (above for above in [*reversed(folder.absolute().parents), folder.absolute()] if not above.exists()), None
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=".writing-"))
    except OSError as error:
        raise OutputError(f"cannot write in {folder}: {error.strerror or error}") from None
    try:
        try:
            yield staging
        except OutputError as error:  # named where the user asked for it
            raise OutputError(str(error).replace(str(staging), str(folder))) from None
        for written in sorted(staging.iterdir()):
            os.replace(written, folder / written.name)
    except BaseException:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
