"""The suite's pytest options, declared once: the parser is built from this table, and the options a benchmark's child
process needs are forwarded from it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from benchmarks.options import count, positive_number, replicate_of

from .environment import thread_count
from .sweep_plan import SWEEP_DTYPES

GROUP = "backprop-bench"


@dataclass(frozen=True)
class Option:
    """One option of the suite's group, and whether a child process started for a benchmark gets it as the parent had
    it."""

    flag: str
    settings: dict = field(default_factory=dict)
    forwarded: bool = False

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


OPTIONS = (
    # a benchmark's child process is given the thread count in its environment, with the CPUs its parent may use
    Option(
        "--threads",
        dict(
            type=thread_count,
            default=None,
            help="threads for NumPy's BLAS, PyTorch, XLA and TensorFlow, and CPUs "
            "the process may use (default: $BACKPROP_BENCH_THREADS, else 1)",
        ),
    ),
    Option(
        "--budget",
        dict(
            type=positive_number,
            default=None,
            metavar="SECONDS",
            help="seconds of samples per benchmark; the rest of the budget rule scales with it (default: 1)",
        ),
        forwarded=True,
    ),
    Option(
        "--rigorous",
        dict(
            action="store_true",
            default=False,
            help="for publication: every loop at its full length, in 3 replicates of fresh processes, with at "
            "least the former round counts; slow loops also per epoch, to check their projections",
        ),
        forwarded=True,
    ),
    Option(
        "--isolate",
        dict(
            action="store_true",
            default=False,
            help="run each benchmark in its own fresh Python process and merge the results into one run",
        ),
    ),
    Option(
        "--replicates",
        dict(
            type=count,
            default=None,
            metavar="N",
            help="run the whole selection N times, every benchmark in a fresh process each time, in a shuffled "
            "order per replicate; each benchmark saves every replicate's pid and median (extra_info['replicates'])",
        ),
    ),
    Option(
        "--problem",
        dict(
            default=None,
            metavar="FILE",
            help="time the training loops on this problem file (.json or .toml) instead of the notebook's",
        ),
        forwarded=True,
    ),
    Option(
        "--sweep",
        dict(
            action="store_true",
            default=False,
            help="run the scaling sweep over hidden width and batch, and the peak "
            "matrix multiply, instead of the notebook's problem",
        ),
        forwarded=True,
    ),
    Option(
        "--sweep-points",
        dict(
            default=None,
            metavar="WxB,...",
            help="sweep these sizes, hidden width x batch (default: 3..2048 wide, batch 1..1024)",
        ),
        forwarded=True,
    ),
    Option(
        "--sweep-dtype",
        dict(
            choices=SWEEP_DTYPES, default=SWEEP_DTYPES[0], help="the dtype the sweep computes in (default: %(default)s)"
        ),
        forwarded=True,
    ),
    Option(
        "--sweep-budget",
        dict(
            type=positive_number,
            default=600.0,
            metavar="SECONDS",
            help="refuse, before starting, a sweep estimated to take longer (default: %(default)s)",
        ),
    ),
    Option(
        "--child-limit",
        dict(
            type=positive_number,
            default=None,
            metavar="SECONDS",
            help="kill a benchmark's child process that runs longer, failing its benchmarks alone (default: "
            "10 times what its benchmarks are expected to take, plus 5 minutes)",
        ),
    ),
    Option(
        "--wait",
        dict(
            action="store_true",
            default=False,
            help="if another benchmark session is measuring on this machine, wait for it to end instead of refusing",
        ),
    ),
    Option(
        "--fail-on-skip",
        dict(
            action="store_true",
            default=False,
            help="fail the run if any test is skipped: CI's check that every framework is installed and every test ran",
        ),
    ),
    Option(
        "--child",
        dict(
            type=replicate_of,
            default=None,
            metavar="R/N",
            help="(internal) this process runs benchmarks for a first process, as replicate R of N",
        ),
    ),
)


def add_options(parser: pytest.Parser) -> None:
    """The suite's options, in their group."""
    group = parser.getgroup(GROUP)
    for option in OPTIONS:
        group.addoption(option.flag, **option.settings)


def forwarded_arguments(config: pytest.Config) -> list[str]:
    """The options a child process gets as this process had them: those of the table marked forwarded, when set; and
    pytest-benchmark's --benchmark-disable-gc, which the budget's sampling obeys."""
    arguments = []
    for option in OPTIONS:
        value = config.getoption(option.dest)
        if not option.forwarded or value in (None, False) or value == option.settings.get("default"):
            continue
        arguments.append(option.flag if value is True else f"{option.flag}={value}")
    return arguments + ["--benchmark-disable-gc"] * bool(config.getoption("benchmark_disable_gc"))
