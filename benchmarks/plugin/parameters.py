"""Benchmark parameters over the registry, skipped with the reason where an implementation is unavailable."""

import pytest

from implementations.registry import REGISTRY, unavailable


def skip_unless_available(*names: str) -> list[pytest.MarkDecorator]:
    """A skip mark with the reason when any of the named implementations cannot run here."""
    reasons = unavailable()
    return [pytest.mark.skip(reason=f"{name}: {reasons[name]}") for name in names if name in reasons][:1]


def implementation_times(values, label, wanted=lambda name, value: True) -> list:
    """Every registered implementation with every value it is `wanted` at, as (name, value) parameters whose id is
    the implementation's name first, then the value's label: the stable benchmark names the README documents."""
    return [
        pytest.param(name, value, id=f"{name}-{label(value)}", marks=skip_unless_available(name))
        for name in REGISTRY
        for value in values
        if wanted(name, value)
    ]
