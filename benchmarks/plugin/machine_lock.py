"""One benchmark session at a time on a machine: two at once pin themselves to the same CPU and corrupt each other's
timings. The lock is the kernel's (flock), so a session that dies, however it dies, leaves nothing held."""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

LOCK_ENV = "BACKPROP_BENCH_LOCK"  # the lock file; the suite's tests give each session they start a file of its own


class MachineBusy(Exception):
    """Another benchmark session is measuring on this machine."""


def lock_path() -> Path:
    """The file every benchmark session on this machine locks."""
    return Path(os.environ.get(LOCK_ENV) or Path(tempfile.gettempdir()) / "backprop-bench-session.lock")


def holder(descriptor: int) -> str:
    """The pid the session holding the lock wrote into it."""
    return os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"


def hold_machine(wait: bool, say=print) -> int:
    """Lock the machine for this session and return the open lock file, which holds the lock until it is closed or the
    process ends. Busy: refuse at once, or with wait, say so and block until the other session ends."""
    path = lock_path()
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise MachineBusy(
            f"cannot open the lock file {path} that keeps benchmark sessions apart ({error.strerror})"
        ) from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = holder(descriptor)
        if not wait:
            os.close(descriptor)
            raise MachineBusy(
                f"another benchmark session (pid {other}) is measuring on this machine, and two at once corrupt each "
                "other's timings; run this one when it ends, or add --wait to start it then"
            ) from None
        say(f"backprop-bench: waiting for the benchmark session of pid {other} to end")
        fcntl.flock(descriptor, fcntl.LOCK_EX)
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
    return descriptor


def release_machine(descriptor: int) -> None:
    """Let the next session measure."""
    os.ftruncate(descriptor, 0)
    os.close(descriptor)
