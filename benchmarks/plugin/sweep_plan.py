"""The scaling sweep: which sizes, how much work each is, and whether a sweep fits its budget before it starts."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from benchmarks.model.roofline import EpochWork
from implementations.registry import declaration

from .budget import SWEEP

N_IN, N_OUT = 3, 2  # the notebook's input and output sizes; the sweep grows the hidden layer and the batch
WIDTHS = (3, 8, 32, 128, 512, 2048)
BATCHES = (1, 4, 16, 64, 256, 1024)
SEED = 2024
SWEEP_DTYPES = ("float64", "float32")  # the first is the default
# A sweep's estimate before it runs, by how an implementation runs (its declared COST_CLASS): orders of magnitude, not
# measurements, of the overhead per epoch (s), the sustained arithmetic (flop/s) and the compile per size (s).
COST_ORDERS = {
    "compiled loop": (1e-6, 1e9, 1.0),
    "compiled step": (1e-4, 1e9, 1.0),
    "eager": (1e-4, 1e9, 0.0),
    "eager, lowered every epoch": (1e-2, 1e9, 1.0),
    "own process": (1e-2, 1e9, 10.0),  # a process of its own starts in seconds
    "interpreted": (1e-4, 1e7, 0.0),  # Python scalars
}


class SweepRefused(ValueError):
    """A sweep that would not fit in memory or in its time budget, refused before it starts."""


@dataclass(frozen=True, order=True)
class SweepPoint:
    """One size of the sweep: the hidden width and the batch."""

    n_hidden: int
    batch: int

    @property
    def label(self) -> str:
        return f"{self.n_hidden}x{self.batch}"

    @property
    def benchmark_id(self) -> str:
        """The size in a benchmark's name: test_sweep[numpy-hidden3-batch1]."""
        return f"hidden{self.n_hidden}-batch{self.batch}"

    @property
    def multiply_adds(self) -> int:
        """Multiply-adds of one epoch (EpochWork counts them)."""
        return EpochWork.of(N_IN, self.n_hidden, N_OUT, self.batch, itemsize=8).multiply_adds

    @property
    def flops(self) -> int:
        """Floating-point operations of one epoch's matrix products: two per multiply-add."""
        return 2 * self.multiply_adds

    @property
    def epochs(self) -> int:
        """Fewer epochs where an epoch is a lot of work: 1000 at the notebook's size, at least 10."""
        return max(10, min(1000, round(2e6 / self.multiply_adds)))

    @property
    def bytes_needed(self) -> int:
        """A generous estimate of the memory one implementation needs at this size (float64)."""
        activations = self.batch * (N_IN + 6 * self.n_hidden + 6 * N_OUT)
        weights = 4 * self.n_hidden * (N_IN + N_OUT)
        return 8 * 4 * (activations + weights)  # x4: framework copies, gradients, saved tensors


def default_points() -> list[SweepPoint]:
    """Three paths: width at batch 1, batch at width 3, and both growing together."""
    points = {SweepPoint(width, 1) for width in WIDTHS} | {SweepPoint(3, batch) for batch in BATCHES}
    points |= {SweepPoint(width, batch) for width, batch in zip(WIDTHS, BATCHES, strict=True)}
    return sorted(points, key=lambda point: (point.multiply_adds, point))


def parse_points(text: str) -> list[SweepPoint]:
    """Points written as WIDTHxBATCH, comma separated (e.g. 3x1,512x256)."""
    points = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            width, batch = (int(number) for number in item.lower().split("x"))
        except ValueError:
            raise SweepRefused(f"sweep point {item!r} is not WIDTHxBATCH (e.g. 512x256)") from None
        if width < 1 or batch < 1:
            raise SweepRefused(f"sweep point {item!r} needs a width and a batch of at least 1")
        points.append(SweepPoint(width, batch))
    if not points:
        raise SweepRefused(f"no sweep points in {text!r}; expected WIDTHxBATCH,... (e.g. 3x1,512x256)")
    return points


def swept_at(implementation: str, point: SweepPoint) -> bool:
    """Whether the implementation is timed at this size: within the range it declares (SWEEP_RANGE), if any."""
    low, high, _ = declaration(implementation).sweep_range or (0, None, "")
    return low <= point.multiply_adds and (high is None or point.multiply_adds <= high)


def estimated_seconds(point: SweepPoint, implementation: str) -> float:
    """Rough time to prepare, check and time one implementation at one point."""
    overhead, rate, compile_s = COST_ORDERS[declaration(implementation).cost_class]
    one_run = point.epochs * (overhead + point.flops / rate)
    rounds = max(SWEEP.min_samples, min(SWEEP.max_samples, math.ceil(SWEEP.seconds / one_run)))
    return compile_s + (2 + rounds) * one_run  # the first call, the NumPy reference, the timed rounds


def duration(seconds: float) -> str:
    """Seconds as a person reads them: 45 s, 12 min."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def available_memory() -> int:
    """Bytes of memory free now."""
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_plan(points: list[SweepPoint], implementations: list[str], budget_s: float) -> float:
    """Refuse a sweep that cannot fit in memory or would run past its budget; return its estimated seconds."""
    free = available_memory()
    too_big = [point for point in points if point.bytes_needed > free / 2]
    if too_big:
        worst = max(too_big, key=lambda point: point.bytes_needed)
        raise SweepRefused(
            f"sweep point {worst.label} needs about {worst.bytes_needed / 2**30:.1f} GiB per implementation, more than "
            f"half of the {free / 2**30:.1f} GiB free; choose smaller sizes"
        )
    per_point = {
        point: sum(estimated_seconds(point, name) for name in implementations if swept_at(name, point))
        for point in points
    }
    total = sum(per_point.values())
    if total > budget_s:
        slowest = sorted(per_point, key=per_point.get, reverse=True)[:3]
        raise SweepRefused(
            f"the sweep would take about {duration(total)}, over its budget of {duration(budget_s)} (slowest points: "
            f"{', '.join(f'{p.label} ~{per_point[p]:.0f} s' for p in slowest)}); drop sizes with --sweep-points or "
            "raise --sweep-budget"
        )
    return total
