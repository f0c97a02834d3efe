"""What a training loop needs in memory beyond the process: the rise of its resident set's high-water mark.

The kernel's mark (VmHWM) sees every allocation that touches memory, PyTorch's, XLA's and TensorFlow's among them,
which tracemalloc does not; writing 5 to /proc/self/clear_refs resets it to the resident set of now. Before that,
glibc hands its free memory back to the kernel (malloc_trim), or a loop reusing memory freed by an earlier benchmark
of the same process would need no new pages and show no rise.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from pathlib import Path

STATUS, CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def resident_kib(field: str) -> int:
    """A field of /proc/self/status in KiB: VmRSS (resident now) or VmHWM (the high-water mark)."""
    for line in STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(f"{STATUS} has no {field}")


@cache
def c_library() -> ctypes.CDLL:
    """The C library, found once: find_library runs ldconfig."""
    return ctypes.CDLL(ctypes.util.find_library("c"))


def release_free_memory() -> None:
    """Give glibc's free heap memory back to the kernel (nothing where the C library is not glibc)."""
    libc = c_library()
    if hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def reset_peak() -> int | None:
    """Reset the high-water mark to the resident set of now and return that (KiB); None where the kernel cannot."""
    release_free_memory()
    try:
        CLEAR_REFS.write_text("5")
        return resident_kib("VmRSS")
    except (OSError, LookupError):
        return None


def peak_above(mark: int | None) -> int | None:
    """Bytes the high-water mark rose above the resident set at `mark` (None when there was no mark)."""
    return None if mark is None else max(0, resident_kib("VmHWM") - mark) * 1024
