"""Numerical parity of implementations on one problem: every pair's largest difference, and the verdict."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
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
    tolerance: float  # for pairs of float64-exact implementations
    not_exact: dict[str, str] = field(default_factory=dict)  # implementations declared not float64-exact, and why
    own_bound: float = 0.0  # what a pair with one of those is held to: float32's drift bound

    @property
    def pairs(self) -> pd.DataFrame:
        """One row per pair: the largest absolute difference in each field, the largest of those, what the pair is
        allowed, and the verdict."""
        rows = [
            {"first": first, "second": second} | largest_differences(self.results[first], self.results[second])
            for first, second in itertools.combinations(self.results, 2)
        ]
        table = pd.DataFrame(rows, columns=["first", "second", *RESULT_FIELDS])
        table["largest"] = table[list(RESULT_FIELDS)].max(axis=1)
        inexact = table["first"].isin(self.not_exact) | table["second"].isin(self.not_exact)
        table["allowed"] = np.where(inexact, max(self.own_bound, self.tolerance), self.tolerance)
        table["passes"] = table["largest"] <= table["allowed"]
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
    implementations = [get(name) for name in names]
    results = {implementation.name: implementation.train(problem) for implementation in implementations}
    reference = reference_of(results)
    not_exact = {
        implementation.name: implementation.float64_cause
        for implementation in implementations
        if not implementation.float64_exact
    }
    return Parity(
        problem,
        results,
        tolerance if tolerance is not None else result_tolerance(problem, reference),
        not_exact,
        result_tolerance(problem, reference, exact=False),
    )
