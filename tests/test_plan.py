"""The plan a session takes once from its options (mode, budget, replicate), what a child process is given of
them, and the progress line."""

import argparse
import re

import pytest

from benchmarks.plugin.command_line import OPTIONS, forwarded_arguments
from benchmarks.plugin.plan import Mode, Plan
from benchmarks.plugin.progress import Progress
from tests.helpers import fake_config, plugin_options


@pytest.mark.parametrize(
    ("given", "mode", "budget", "replicate"),
    [
        ({}, Mode.SHARED, "default", (0, 1)),
        ({"isolate": True}, Mode.ISOLATED, "default", (0, 1)),
        ({"replicates": 5}, Mode.REPLICATED, "default", (0, 5)),
        ({"rigorous": True}, Mode.REPLICATED, "rigorous", (0, 3)),
        ({"rigorous": True, "replicates": 4}, Mode.REPLICATED, "rigorous", (0, 4)),
        ({"rigorous": True, "child": (2, 3)}, Mode.CHILD, "rigorous", (2, 3)),
        ({"child": (0, 1)}, Mode.CHILD, "default", (0, 1)),
    ],
)
def test_the_session_takes_its_mode_and_budget_once_from_the_options(given, mode, budget, replicate):
    plan = Plan.from_options(plugin_options(**given))
    assert (plan.mode, plan.budget.name, plan.replicate) == (mode, budget, replicate)


def test_a_child_gets_the_options_the_table_forwards_and_no_others():
    config = fake_config(
        budget=0.5,
        rigorous=True,
        problem="net.json",
        sweep_dtype="float32",
        isolate=True,
        replicates=3,
        threads=2,
        benchmark_disable_gc=True,
    )
    assert forwarded_arguments(config) == [
        "--budget=0.5",
        "--rigorous",
        "--problem=net.json",
        "--sweep-dtype=float32",
        "--benchmark-disable-gc",
    ]
    assert forwarded_arguments(fake_config()) == []
    flags = {option.flag for option in OPTIONS if option.forwarded}
    assert flags == {"--budget", "--rigorous", "--problem", "--sweep", "--sweep-points", "--sweep-dtype"}


@pytest.mark.parametrize("text", ["3/3", "-1/2", "a/b", "1", "0/0"])
def test_a_replicate_is_written_r_of_n(text):
    from benchmarks.options import replicate_of

    with pytest.raises(argparse.ArgumentTypeError, match=re.escape(f"got {text!r}")):
        replicate_of(text)
    assert replicate_of("2/3") == (2, 3)


def test_the_progress_line_counts_benchmarks_and_estimates_what_is_left_at_the_pace_so_far():
    now, lines = [0.0], []
    progress = Progress([("a", 10.0), ("b", 10.0), ("c", 10.0), ("d", 10.0)], lines.append, now=lambda: now[0])
    progress.start("a", "test_a")
    now[0] = 12.0
    progress.start("b", "test_b", "in a fresh process")
    now[0] = 40.0  # a and b took 40 s for 20 s expected: twice as slow as expected
    progress.start("c", "test_c")
    progress.start("c", "test_c")  # a start told twice (by a child, and by pytest's loop) is one line
    assert lines == [
        "[1/4] test_a · 0:00 elapsed · about 0:40 left",
        "[2/4] test_b (in a fresh process) · 0:12 elapsed · about 0:30 left",
        "[3/4] test_c · 0:40 elapsed · about 0:40 left",
    ]
