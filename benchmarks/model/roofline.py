"""The least time an epoch can take on this machine: its work from the math, at the rates the machine was measured at.

An epoch needs B·(H + O) sigmoids, B·H·(2·I + 3·O) multiply-adds (forward Wh x and Wo h, backward Wo^T dO, the
updates dO h^T and dH x^T) and, at least, to read x, y and both weight matrices and write the weights back once.
Compute takes sigmoids / sigmoid rate + multiply-adds / multiply-add rate (both run on the same vector units);
traffic takes bytes / the bandwidth of the closest level of the memory hierarchy that holds them (L2, L3 or memory,
each measured by a STREAM triad); the epoch takes at least the larger of the two.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class EpochWork:
    """What one epoch must do, whatever computes it."""

    sigmoids: int
    multiply_adds: int
    bytes: int

    @classmethod
    def of(cls, n_in: int, n_hidden: int, n_out: int, batch: int, itemsize: int) -> EpochWork:
        weights = n_hidden * (n_in + n_out)
        return cls(
            sigmoids=batch * (n_hidden + n_out),
            multiply_adds=batch * n_hidden * (2 * n_in + 3 * n_out),
            bytes=itemsize * (batch * (n_in + n_out) + 2 * weights),
        )


@dataclass(frozen=True)
class Rates:
    """The fastest this machine was measured to go at one thread count and dtype."""

    sigmoids_per_s: float  # a vectorized sigmoid over an array in the L2 cache
    multiply_adds_per_s: float  # a large matrix product (BLAS)
    # per level of the memory hierarchy (L2, L3, memory): {"bytes": what it holds (memory: None), "bytes_per_s": a
    # STREAM triad's rate there}
    bandwidths: dict[str, dict]
    sources: dict[str, str]  # what reached each rate

    def bandwidth_for(self, nbytes: int) -> tuple[str, float]:
        """The closest level that holds this many bytes, and its bandwidth."""
        levels = sorted(self.bandwidths.items(), key=lambda item: item[1]["bytes"] or math.inf)
        return next((level, found["bytes_per_s"]) for level, found in levels if nbytes <= (found["bytes"] or math.inf))


def roofline(work: EpochWork, rates: Rates) -> dict:
    """The least time of one epoch, which limit sets it, and the work and rates it comes from (as saved with a run)."""
    compute_s = work.sigmoids / rates.sigmoids_per_s + work.multiply_adds / rates.multiply_adds_per_s
    level, bandwidth = rates.bandwidth_for(work.bytes)
    traffic_s = work.bytes / bandwidth
    return {
        "seconds": max(compute_s, traffic_s),
        "bound": "compute" if compute_s >= traffic_s else f"{level} traffic",
        "compute_s": compute_s,
        "traffic_s": traffic_s,
        "level": level,
        **asdict(work),
        **asdict(rates),
    }
