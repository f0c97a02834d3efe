"""The registry: what is available here, what is not and why."""

import pytest

from implementations import UnavailableImplementation, available, get, registry, unavailable


def test_the_core_implementations_are_registered_and_available_here():
    assert list(registry.REGISTRY)[:3] == ["numpy", "torch", "jax"]
    assert set(available()) | set(unavailable()) == set(registry.REGISTRY)
    assert {"numpy", "torch", "jax"} <= set(available()), unavailable()


@pytest.mark.parametrize("name", available())
def test_each_implementation_names_its_framework_and_versions(name):
    implementation = get(name)
    assert implementation.name == name
    assert implementation.framework in implementation.versions()
    assert all(version[0].isdigit() for version in implementation.versions().values())


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(UnavailableImplementation, match=r"unknown implementation 'tensorflow'; expected one of: numpy, torch, jax"):
        get("tensorflow")


def test_a_missing_framework_is_unavailable_with_the_reason(monkeypatch):
    monkeypatch.setitem(registry.REGISTRY, "ghost", ("with_ghost", ("ghost-framework",)))
    registry._load.cache_clear()
    try:
        assert "ghost" not in available()
        assert unavailable()["ghost"].startswith("needs ghost-framework: No module named")
        with pytest.raises(UnavailableImplementation, match="implementation 'ghost' is unavailable: needs ghost-framework"):
            get("ghost")
    finally:
        registry._load.cache_clear()
