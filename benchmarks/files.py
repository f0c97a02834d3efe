"""Writing results so that no reader ever sees half a file, and no saved run is ever overwritten."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pytest_benchmark.storage.file import FileStorage
from pytest_benchmark.utils import safe_dumps


def _write_beside(target: Path, data: bytes) -> str:
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
    temporary = _write_beside(path, data)
    try:
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """atomic_write_bytes for text."""
    return atomic_write_bytes(path, text.encode())


def save_figure(figure, path: Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure atomically."""
    from io import BytesIO

    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return atomic_write_bytes(path, buffer.getvalue())


class AtomicFileStorage(FileStorage):
    """pytest-benchmark's file storage, saving each run atomically under a name no other run holds."""

    def save(self, output_json, save):
        self.path.mkdir(parents=True, exist_ok=True)
        data = safe_dumps(output_json, ensure_ascii=True, indent=4).encode()
        while True:
            target = self.get(f"{self._next_num}_{save}.json")
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = _write_beside(target, data)
            try:
                os.link(temporary, target)  # fails if the name was taken meanwhile: never overwrite a run
            except FileExistsError:
                continue
            finally:
                os.unlink(temporary)
            self.logger.info(f"Saved benchmark data in: {target}")
            return target
