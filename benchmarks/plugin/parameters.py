"""Test parameters over the registry: every implementation, or every pair, skipped with the reason where unavailable."""

import itertools

import pytest

from implementations.registry import REGISTRY, unavailable


def skip_unless_available(*names: str) -> list[pytest.MarkDecorator]:
    """A skip mark with the reason when any of the named implementations cannot run here."""
    reasons = unavailable()
    return [pytest.mark.skip(reason=f"{name}: {reasons[name]}") for name in names if name in reasons][:1]


def implementation_params(exclude=()) -> list:
    """Every registered implementation (but those excluded) as a test parameter."""
    return [pytest.param(name, marks=skip_unless_available(name)) for name in REGISTRY if name not in exclude]


def implementation_times(values, label, wanted=lambda name, value: True) -> list:
    """Every registered implementation with every value it is `wanted` at, as (name, value) parameters whose id is
    the implementation's name first, then the value's label: the stable benchmark names the README documents."""
    return [pytest.param(name, value, id=f"{name}-{label(value)}", marks=skip_unless_available(name))
            for name in REGISTRY for value in values if wanted(name, value)]


def implementation_pair_params() -> list:
    """Every pair of registered implementations."""
    return [pytest.param(first, second, marks=skip_unless_available(first, second))
            for first, second in itertools.combinations(REGISTRY, 2)]
