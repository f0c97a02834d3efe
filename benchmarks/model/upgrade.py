"""Bringing a run saved in an older format to this suite's (schema.VERSION): what `backprop-bench upgrade` does, so that
the readers know one format only.

Format 1 (no version saved): a loop or a probe told its kind by its keys, a machine was known by pytest-benchmark's CPU
record (py-cpuinfo) before fingerprints, and a loop saved before imports were timed has no import time. A loop that
lacks its loss history keeps its times: the history is recorded as absent (None), and the reports say it was not
recorded.
"""

from __future__ import annotations

import copy

from . import schema
from .machines import SPEED_FLAGS, fingerprint_id, microarchitecture


def upgraded(data: dict, saved_in: int) -> dict:
    """The run, saved in format `saved_in`, in this suite's format (a copy; the run itself is not changed)."""
    data = copy.deepcopy(data)
    if saved_in < 2:
        for bench in data.get("benchmarks", []):
            extra = bench.get("extra_info")
            if isinstance(extra, dict) and "kind" not in extra and "probe" in extra:
                extra["kind"] = "probe"
            elif isinstance(extra, dict) and "kind" not in extra:
                extra["kind"] = "loop" if "implementation" in extra else None
            if isinstance(extra, dict) and extra.get("kind") == "loop":
                extra.setdefault("import_s", None)
                extra.setdefault("loss_history", None)
        machine_info = data.get("machine_info")
        if isinstance(machine_info, dict) and "fingerprint" not in machine_info:
            machine_info["fingerprint"] = fingerprint_from_cpuinfo(machine_info)
    data[schema.VERSION_KEY] = schema.VERSION
    return data


def fingerprint_from_cpuinfo(machine_info: dict) -> dict:
    """The fingerprint of a run saved before fingerprints, from pytest-benchmark's CPU record (py-cpuinfo)."""
    cpu = machine_info.get("cpu", {})
    flags = set(cpu.get("flags", []))
    kernels = {
        f"{pool['library']} {pool['architecture']}"
        for pool in machine_info.get("threads", {}).get("pools", [])
        if pool.get("architecture")
    }
    fingerprint = {
        "vendor": cpu.get("vendor_id_raw"),
        "model_name": cpu.get("brand_raw"),
        "family": cpu.get("family"),
        "model": cpu.get("model"),
        "stepping": cpu.get("stepping"),
        "microarchitecture": microarchitecture(cpu.get("vendor_id_raw"), cpu.get("family"), cpu.get("model")),
        "isa": [flag for flag in SPEED_FLAGS if flag in flags],
        "logical_cpus": cpu.get("count"),
        "kernel": machine_info.get("release"),
        "blas_kernel": ", ".join(sorted(kernels)) or None,
        "source": "py-cpuinfo",
    }
    return fingerprint | {"id": fingerprint_id(fingerprint)}
