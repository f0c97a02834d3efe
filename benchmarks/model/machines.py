"""Which machine a run was measured on: its fingerprint, a short id, and a machine change told in words."""

from __future__ import annotations

import hashlib
import json

# the ISA extensions that change what vectorized kernels a library picks, spelled as in /proc/cpuinfo (x86 and Arm)
SPEED_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512dq",
    "avx512cd",
    "avx512bw",
    "avx512vl",
    "avx512ifma",
    "avx512vbmi",
    "avx512_vbmi2",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_bitalg",
    "avx512_vpopcntdq",
    "avx512_vp2intersect",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "vaes",
    "vpclmulqdq",
    "gfni",
    "sha_ni",
    "asimd",
    "asimddp",
    "sve",
    "sve2",
    "sme",
)
# the part of a fingerprint that names the machine: known for every run, the ones saved before fingerprints included
# (derived from pytest-benchmark's py-cpuinfo record); caches, memory, kernel and the rest are shown where they differ
IDENTITY = ("vendor", "family", "model", "stepping", "isa", "logical_cpus", "blas_kernel")
VENDORS = {"AuthenticAMD": "AMD", "GenuineIntel": "Intel"}
# (vendor, family): [(first model, last model, name)], the server and desktop parts cloud machines are made of
MICROARCHITECTURES = {
    ("AuthenticAMD", 23): [(0x00, 0x2F, "Zen / Zen+"), (0x30, 0xFF, "Zen 2")],
    ("AuthenticAMD", 25): [
        (0x00, 0x0F, "Zen 3"),
        (0x10, 0x1F, "Zen 4"),
        (0x20, 0x5F, "Zen 3"),
        (0x60, 0x7F, "Zen 4"),
        (0xA0, 0xAF, "Zen 4c"),
    ],
    ("AuthenticAMD", 26): [(0x00, 0xFF, "Zen 5")],
    ("GenuineIntel", 6): [
        (0x3F, 0x3F, "Haswell"),
        (0x4F, 0x4F, "Broadwell"),
        (0x55, 0x55, "Skylake / Cascade Lake"),
        (0x6A, 0x6C, "Ice Lake"),
        (0x8F, 0x8F, "Sapphire Rapids"),
        (0xAD, 0xAE, "Granite Rapids"),
        (0xCF, 0xCF, "Emerald Rapids"),
        (0x97, 0x9A, "Alder Lake"),
        (0xB7, 0xBF, "Raptor Lake"),
    ],
}


def microarchitecture(vendor: str | None, family: int | None, model: int | None) -> str | None:
    """The microarchitecture's name where this table knows the CPU's vendor, family and model."""
    for first, last, name in MICROARCHITECTURES.get((vendor, family), []):
        if model is not None and first <= model <= last:
            return name
    return None


def fingerprint_id(fingerprint: dict) -> str:
    """Eight hex digits made from the fingerprint's identity: equal for runs on the same kind of machine."""
    identity = json.dumps({key: fingerprint.get(key) for key in IDENTITY}, sort_keys=True)
    return hashlib.sha256(identity.encode()).hexdigest()[:8]


def cpu_words(fingerprint: dict) -> str:
    """The CPU as a person reads it: "AMD family 25 model 17 (Zen 4)", or its model name where it has no family."""
    vendor = fingerprint.get("vendor")
    if fingerprint.get("family") is None:
        return fingerprint.get("model_name") or vendor or "unknown CPU"
    words = f"{VENDORS.get(vendor, vendor)} family {fingerprint['family']} model {fingerprint.get('model')}"
    return words + (f" ({fingerprint['microarchitecture']})" if fingerprint.get("microarchitecture") else "")


def machine_changes(before: dict, after: dict) -> list[str]:
    """What differs between two fingerprints, one line per aspect, the CPU first: empty for the same machine."""
    changes = []
    if cpu_words(before) != cpu_words(after) or before.get("stepping") != after.get("stepping"):
        changes.append(
            f"CPU: {cpu_words(before)}{_stepping(before, after)} -> {cpu_words(after)}{_stepping(after, before)}"
        )
    lost = [flag for flag in before.get("isa", []) if flag not in after.get("isa", [])]
    gained = [flag for flag in after.get("isa", []) if flag not in before.get("isa", [])]
    if lost or gained:
        changes.append(
            "ISA extensions: "
            + "; ".join(filter(None, [lost and "lost " + ", ".join(lost), gained and "gained " + ", ".join(gained)]))
        )
    for key, aspect in (
        ("caches", "caches per core"),
        ("logical_cpus", "logical CPUs"),
        ("memory_gib", "memory (GiB)"),
        ("blas_kernel", "BLAS kernel"),
        ("virtualization", "virtualization"),
        ("governor", "frequency governor"),
        ("kernel", "kernel"),
    ):
        if key in before and key in after and before[key] != after[key]:
            changes.append(f"{aspect}: {_words(before[key])} -> {_words(after[key])}")
    return changes


def _stepping(fingerprint: dict, other: dict) -> str:
    """The stepping, where it is what tells two CPUs of the same model apart."""
    same_model = (fingerprint.get("family"), fingerprint.get("model")) == (other.get("family"), other.get("model"))
    return f" stepping {fingerprint.get('stepping')}" if same_model else ""


def _words(value) -> str:
    """A fingerprint value as a short string."""
    if isinstance(value, dict):
        return ", ".join(f"{key} {size}" for key, size in value.items())
    return str(value)
