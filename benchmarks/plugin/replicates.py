"""--replicates N: the whole selection N times, every benchmark in a fresh process each time, in a shuffled order per
replicate, so that slow drift of the machine falls on every implementation alike; pyperf's answer to run-to-run noise."""

from __future__ import annotations

import random

import pytest

from .isolation import FreshProcessFailed, fresh_process_entry


def run_replicates(session: pytest.Session, items: list[pytest.Item], replicates: int, environment_of, seed: int) -> dict[str, list[dict] | str]:
    """The benchmarks `items` `replicates` times, each replicate in its own shuffled order: per node id, the children's
    entries, or the failure that ended one. The order of every replicate goes into session.config."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    shuffle = random.Random(seed).shuffle
    results: dict[str, list[dict] | str] = {item.nodeid: [] for item in items}
    session.config.replicate_orders = []
    for replicate in range(1, replicates + 1):
        order = list(items)
        shuffle(order)
        session.config.replicate_orders.append([item.name for item in order])
        for position, item in enumerate(order, 1):
            reporter.ensure_newline()
            reporter.write_line(f"replicate {replicate}/{replicates}, {position}/{len(order)}: {item.name}")
            if isinstance(results[item.nodeid], str):
                continue  # it failed in an earlier replicate: its test reports that failure
            try:
                results[item.nodeid].append(fresh_process_entry(item, environment_of(item)))
            except FreshProcessFailed as failure:
                results[item.nodeid] = str(failure)
    return results
