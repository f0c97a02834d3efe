"""Numerical parity of implementations on one problem: every pair's largest difference, and the verdict."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pandas as pd

from implementations import Problem, TrainResult, get
from implementations.agreement import largest_differences, result_tolerance
from implementations.problem import RESULT_FIELDS
from implementations.registry import REFERENCE


@dataclass(frozen=True)
class Parity:
    """Every implementation's result on one problem, and how far apart they are."""

    problem: Problem
    results: dict[str, TrainResult]
    tolerance: float

    @property
    def pairs(self) -> pd.DataFrame:
        """One row per pair: the largest absolute difference in each field, the largest of those, and the verdict."""
        rows = [{"first": first, "second": second} | largest_differences(self.results[first], self.results[second])
                for first, second in itertools.combinations(self.results, 2)]
        table = pd.DataFrame(rows, columns=["first", "second", *RESULT_FIELDS])
        table["largest"] = table[list(RESULT_FIELDS)].max(axis=1)
        table["passes"] = table["largest"] <= self.tolerance
        return table

    @property
    def passes(self) -> bool:
        return bool(self.pairs["passes"].all())

    @property
    def reference(self) -> TrainResult:
        return reference_of(self.results)


def reference_of(results: dict[str, TrainResult]) -> TrainResult:
    """The reference implementation's result, or the first implementation's when it was not among them."""
    return results.get(REFERENCE) or next(iter(results.values()))


def check_parity(problem: Problem, names: list[str], tolerance: float | None = None) -> Parity:
    """Train every named implementation on the problem (raises Diverged if one blows up) and compare them."""
    results = {name: get(name).train(problem) for name in names}
    return Parity(problem, results, tolerance if tolerance is not None else result_tolerance(problem, reference_of(results)))
