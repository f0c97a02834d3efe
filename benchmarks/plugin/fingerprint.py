"""The machine a run is measured on, read from the kernel: CPU identity, ISA, caches, CPUs, memory, virtualization."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from benchmarks.model.machines import SPEED_FLAGS, fingerprint_id, microarchitecture

SYS_CPU = Path("/sys/devices/system/cpu")


def read(path: Path | str) -> str | None:
    """A small kernel file's content, stripped; None where it does not exist or cannot be read."""
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo (empty off Linux)."""
    fields: dict[str, str] = {}
    for line in (read("/proc/cpuinfo") or "").splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def caches() -> dict[str, str]:
    """The first CPU's caches as the kernel reports them, per core: {"L1d": "32K", "L1i": "32K", "L2": "1024K", ...}."""
    found = {}
    for index in sorted((SYS_CPU / "cpu0" / "cache").glob("index*")):
        level, kind, size = (read(index / name) for name in ("level", "type", "size"))
        if level and size:
            found[f"L{level}{ {'Data': 'd', 'Instruction': 'i'}.get(kind or '', '') }"] = size
    return found


def memory_gib() -> float | None:
    """Total memory in GiB, from /proc/meminfo."""
    for line in (read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return None


def virtualization(flags: set[str]) -> str:
    """Bare metal, a virtual machine (and its hypervisor where the kernel names it), and a container if in one."""
    kind = "virtual machine" if "hypervisor" in flags else "bare metal or unknown"
    if hypervisor := read("/sys/hypervisor/type"):
        kind += f" ({hypervisor})"
    if Path("/.dockerenv").exists() or Path("/run/.containerenv").exists():
        kind += ", in a container"
    return kind


def blas_kernel(pools: list[dict]) -> str | None:
    """The kernel the BLAS libraries chose for this CPU (OpenBLAS's coretype, MKL's instruction set), as threadpoolctl
    reports."""
    kernels = sorted({f"{pool['library']} {pool['architecture']}" for pool in pools if pool.get("architecture")})
    return ", ".join(kernels) or None


def machine_fingerprint(pools: list[dict]) -> dict:
    """What decides how fast this machine runs the benchmarks, with a short id made from the stable part of it."""
    info = cpuinfo()
    flags = set(info.get("flags", "").split())
    vendor = info.get("vendor_id") or platform.processor() or platform.machine()
    family, model, stepping = (
        int(info[key]) if info.get(key, "").isdigit() else None for key in ("cpu family", "model", "stepping")
    )
    fingerprint = {
        "vendor": vendor,
        "model_name": info.get("model name") or platform.processor() or None,
        "family": family,
        "model": model,
        "stepping": stepping,
        "microarchitecture": microarchitecture(vendor, family, model),
        "isa": [flag for flag in SPEED_FLAGS if flag in flags],
        "caches": caches(),
        "logical_cpus": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": memory_gib(),
        "kernel": platform.release(),
        "virtualization": virtualization(flags),
        "governor": read(SYS_CPU / "cpu0" / "cpufreq" / "scaling_governor"),
        "blas_kernel": blas_kernel(pools),
        "source": "kernel",
    }
    return fingerprint | {"id": fingerprint_id(fingerprint)}
