"""What a saved run must hold for the reports to read it, written once: the readers rely on it, and a file that breaks
it is refused with one line naming the file and the key path (`benchmarks[3].stats.median: expected ...`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from implementations.problem import DTYPES

# the format of a saved run, saved with it (VERSION_KEY): a reader of this suite reads this format only, and
# `backprop-bench upgrade` brings an older run to it (benchmarks/model/upgrade.py); raise it with every change a reader
# needs
VERSION = 2
VERSION_KEY = "backprop_bench_format"


@dataclass(frozen=True)
class Leaf:
    """A single value: what it must be, in words, and the test."""

    expected: str
    accepts: Callable[[object], bool]


@dataclass(frozen=True)
class Nullable:
    """The shape, or null."""

    shape: object


@dataclass(frozen=True)
class ListOf:
    """A list whose every item has the shape."""

    item: object


@dataclass(frozen=True)
class MapOf:
    """An object with any keys, every value of the shape."""

    value: object


@dataclass(frozen=True)
class Record:
    """An object with these keys (other keys are allowed: pytest-benchmark writes more than the reports read), and rules
    across its keys, each returning what is wrong or None."""

    required: dict[str, object]
    optional: dict[str, object] = field(default_factory=dict)
    rules: tuple[Callable[[dict], str | None], ...] = ()


@dataclass(frozen=True)
class ByKind:
    """An object whose shape depends on the kind of benchmark it describes."""

    kinds: dict[str, Record]


def is_number(value) -> bool:
    """Whether a JSON value is a number: true and false are not, nor is "0.1"."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value) -> bool:
    try:
        return is_number(value) and math.isfinite(value)
    except OverflowError:  # a JSON integer too large for a float
        return False


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


ANY = Leaf("anything", lambda value: True)
TEXT = Leaf("a string", lambda value: isinstance(value, str))
FLAG = Leaf("true or false", lambda value: isinstance(value, bool))
INTEGER = Leaf("a whole number", _whole)
COUNT = Leaf("a whole number >= 1", lambda value: _whole(value) and value >= 1)
NUMBER = Leaf("a finite number", _number)
POSITIVE = Leaf("a finite number > 0", lambda value: _number(value) and value > 0)
SECONDS = Leaf("a duration in seconds > 0", lambda value: _number(value) and value > 0)
ELAPSED = Leaf("a duration in seconds >= 0", lambda value: _number(value) and value >= 0)
BYTES = Leaf("a whole number of bytes >= 0", lambda value: _whole(value) and value >= 0)
DTYPE = Leaf(f"one of {', '.join(DTYPES)}", lambda value: value in DTYPES)
TIMING = Leaf("measured or projected", lambda value: value in ("measured", "projected"))
INTERVAL = Leaf(
    "[low, high], two finite numbers",
    lambda value: isinstance(value, list) and len(value) == 2 and all(map(_number, value)) and value[0] <= value[1],
)


def _one_loss_per_epoch(extra: dict) -> str | None:
    """A loop keeps the loss of every epoch of its longest run: its full length, or a projected loop's longest length
    timed (None in a run upgraded from one saved without it)."""
    projected = extra.get("timing") == "projected"
    if projected and not isinstance(extra.get("projection"), dict):
        return "projection: missing for a loop whose timing is projected"
    if extra["loss_history"] is None:
        return None
    epochs = max(extra["projection"]["epochs"]) if projected else extra["epochs"]
    if len(extra["loss_history"]) != epochs:
        return (
            f"loss_history: expected one loss per epoch of its longest run ({epochs}), got {len(extra['loss_history'])}"
        )
    return None


def _every_timing_at_a_length(projection: dict) -> str | None:
    if len(projection["epochs"]) != len(projection["seconds"]) or len(set(projection["epochs"])) < 2:
        return "epochs: expected one length per timing, and two lengths at least"
    return None


# what every benchmark of a problem (the notebook's or a user's) and of the sweep records
_TRAINING = {"implementation": TEXT, "dtype": DTYPE, "epochs": COUNT, "n_hidden": COUNT, "batch": COUNT}
_DESCRIBED = {
    "framework": TEXT,
    "built_on": Nullable(TEXT),
    "variant": TEXT,
    "gradients": TEXT,
    "compiled": FLAG,
    "versions": MapOf(Nullable(TEXT)),
    "compile_s": Nullable(ELAPSED),
    "first_call_s": ELAPSED,
    "n_in": COUNT,
    "n_out": COUNT,
    "peak_memory_bytes": Nullable(BYTES),
}
REPLICATES = ListOf(Record({"median": SECONDS}, {"pid": INTEGER, "rounds": COUNT}))
# a loop timed at several lengths: every timing, and the line fitted through them
PROJECTION = Record(
    {
        "epochs": ListOf(COUNT),
        "seconds": ListOf(SECONDS),
        "fixed_s": NUMBER,
        "per_epoch_s": NUMBER,
        "per_epoch_interval": INTERVAL,
        "projected_s": SECONDS,
        "projected_interval": INTERVAL,
    },
    {"confidence": POSITIVE},
    rules=(_every_timing_at_a_length,),
)
_TIMED = {
    "timing": TIMING,
    "projection": PROJECTION,
    "iterations": COUNT,
    "first_call_extra_s": ELAPSED,
    "pilot_epochs": COUNT,
}

LOOP = Record(
    _TRAINING
    | {
        "n_in": COUNT,
        "n_out": COUNT,
        "compiled": FLAG,
        "compile_s": Nullable(ELAPSED),
        "first_call_s": ELAPSED,
        "loss_history": Nullable(ListOf(NUMBER)),
        "versions": MapOf(Nullable(TEXT)),
        "import_s": Nullable(SECONDS),
    },
    _DESCRIBED
    | _TIMED
    | {
        "card": MapOf(TEXT),
        "dtype_computed": TEXT,
        "float64_cause": Nullable(TEXT),
        "few_rounds": FLAG,
        "replicates": REPLICATES,
        "frameworks_imported": Nullable(ListOf(TEXT)),
    },
    rules=(_one_loss_per_epoch,),
)
SWEEP = Record(
    _TRAINING | {"flops_per_epoch": POSITIVE, "time_per_epoch_s": SECONDS},
    _DESCRIBED | _TIMED | {"replicates": REPLICATES, "roofline_s": SECONDS, "roofline": Record({"bound": TEXT})},
)
PEAK = Record({"library": TEXT, "size": COUNT, "flops": POSITIVE}, {"replicates": REPLICATES})
PROBE = Record({"probe": TEXT, "framework": TEXT, "unit": TEXT}, {"replicates": REPLICATES})
KINDS = {"loop": LOOP, "probe": PROBE, "sweep": SWEEP, "peak": PEAK}

STATS = Record(
    dict.fromkeys(("min", "max", "median", "q1", "q3", "ld15iqr", "hd15iqr"), SECONDS)
    | {"iqr": ELAPSED, "rounds": COUNT},
    {"data": Nullable(ListOf(ELAPSED))},
)
BENCHMARK = Record({"name": TEXT, "extra_info": ByKind(KINDS), "group": TEXT, "stats": STATS})

POOL = Record({"library": TEXT, "threads": ANY}, {"version": Nullable(TEXT), "architecture": Nullable(TEXT)})
FINGERPRINT = Record(
    {"id": TEXT},
    {
        "vendor": Nullable(TEXT),
        "model_name": Nullable(TEXT),
        "family": Nullable(INTEGER),
        "model": Nullable(INTEGER),
        "microarchitecture": Nullable(TEXT),
        "isa": ListOf(TEXT),
        "caches": MapOf(TEXT),
    },
)
MACHINE_INFO = Record(
    {"fingerprint": FINGERPRINT},
    {
        "process_mode": TEXT,
        "interrupted": FLAG,
        "failed": MapOf(TEXT),
        "unavailable": MapOf(TEXT),
        "threads": Record({}, {"pools": ListOf(POOL), "xla_flags": Nullable(TEXT)}),
        "versions": MapOf(Nullable(TEXT)),
        "environment": MapOf(TEXT),
        "replicates": Record({"count": COUNT}),
        "sweep_ranges": MapOf(Record({"why": TEXT})),
        "budget": Record({"name": TEXT}, {"rule": Nullable(TEXT)}),
        "session_seconds": ELAPSED,
        "expected_seconds": Nullable(ELAPSED),
    },
)
RUN = Record(
    {"machine_info": MACHINE_INFO, "benchmarks": ListOf(BENCHMARK)},
    {"datetime": TEXT, "commit_info": Record({}, {"id": Nullable(TEXT), "dirty": FLAG})},
)


def kind_of(extra_info: dict) -> str | None:
    """Which kind of benchmark an extra_info describes (loop, probe, sweep or peak); None: not one of this suite's."""
    return extra_info.get("kind")


def problem(value, shape, where: str = "") -> str | None:
    """The first thing in value that does not have the shape, as `key path: expected ..., got ...`; None if all is
    well."""
    if isinstance(shape, Leaf):
        return None if shape.accepts(value) else _expected(where, shape.expected, value)
    if isinstance(shape, Nullable):
        return None if value is None else problem(value, shape.shape, where)
    if isinstance(shape, ListOf):
        if not isinstance(value, list):
            return _expected(where, "a list", value)
        return next(
            filter(None, (problem(item, shape.item, f"{where}[{index}]") for index, item in enumerate(value))), None
        )
    if not isinstance(value, dict):
        return _expected(where, "an object", value)
    if isinstance(shape, MapOf):
        return next(filter(None, (problem(item, shape.value, _key(where, key)) for key, item in value.items())), None)
    if isinstance(shape, ByKind):
        kind = kind_of(value)
        if not isinstance(kind, str) or kind not in shape.kinds:
            recorded = f"kind {kind!r}" if "kind" in value else "no kind"
            return f"{where}: not saved by backprop-bench ({recorded}; expected kind {', '.join(shape.kinds)})"
        return problem(value, shape.kinds[kind], where)
    for key in shape.required:
        if key not in value:
            return f"{where or 'the file'}: missing {key!r}"
    for key, item_shape in (shape.required | shape.optional).items():
        if key in value and (found := problem(value[key], item_shape, _key(where, key))):
            return found
    return next(
        filter(None, (_key(where, found) if found else None for found in (rule(value) for rule in shape.rules))), None
    )


def _key(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _expected(where: str, expected: str, value) -> str:
    shown = repr(value)
    return (
        f"{where or 'the file'}: expected {expected}, got {type(value).__name__} "
        f"{shown[:40]}{'...' * (len(shown) > 40)}"
    )
