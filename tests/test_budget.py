"""The budget's rule: how many samples a loop gets, when a slow loop is projected, a run fitted to its time by the
estimate, and --rigorous against the rounds loops had before budgets, end to end."""

import dataclasses
import itertools
import json
import re

import numpy as np
import pytest

from benchmarks.cli import main
from benchmarks.model.runs import load_run
from benchmarks.plugin import budget as budgets
from benchmarks.plugin.budget import DEFAULT, RIGOROUS
from benchmarks.plugin.estimate import Estimator, Step, fitted
from benchmarks.plugin.plan import Plan
from tests.helpers import frozen_run, output_of, plugin_options, run_pytest, short_notebook_problem, write

# the rounds pytest-benchmark's settings gave a loop before budgets, worked by hand: at least 20 rounds and a second of
# them; a loop too slow for 20 in 10 s, as many as fit there, at least 5
FORMER_ROUNDS = [(0.005, 200), (0.01, 100), (0.2, 20), (0.5, 20), (0.6, 16), (1.0, 10), (3.0, 5), (200.0, 5)]


@pytest.mark.parametrize(("call_s", "former"), FORMER_ROUNDS)
@pytest.mark.parametrize("replicates", [1, 2, 3, 7])
def test_rigorous_gives_at_least_the_former_rounds_shared_out_over_its_replicates(call_s, former, replicates):
    rounds = [RIGOROUS.samples_needed(call_s, replicate, replicates) for replicate in range(replicates)]
    assert sum(rounds) >= former and max(rounds) - min(rounds) <= 1 and min(rounds) >= 1
    assert sum(rounds) == former or min(rounds) == 1  # no more than the former rounds, but one a replicate
    assert DEFAULT.samples_needed(call_s, 0, 1) == DEFAULT.min_samples


def test_a_rigorous_call_shorter_than_a_sample_is_repeated_within_samples_for_the_former_second_each_replicate():
    assert RIGOROUS.samples_needed(0.001) == RIGOROUS.min_samples and RIGOROUS.seconds >= 1.0
    assert RIGOROUS.iterations(0.001) * 0.001 >= RIGOROUS.sample_seconds


def test_the_default_budget_projects_a_loop_whose_minimum_samples_would_pass_five_budgets():
    assert DEFAULT.projection_above_s == 5 * DEFAULT.seconds
    assert not DEFAULT.projects(0.5) and DEFAULT.projects(0.51)
    assert DEFAULT.iterations(60e-6) == 84 and DEFAULT.iterations(0.02) == 1  # a sample lasts at least 5 ms
    # d: the lengths' timed epochs take about 3 budgets, and the longest stays under the full length
    step = DEFAULT.length_step(0.002, 1000)
    assert 3.0 * 0.9 <= step * sum(DEFAULT.lengths) * DEFAULT.samples_per_length * 0.002 <= 3.0 and step * 8 < 1000
    assert DEFAULT.length_step(0.08, 1000) == 1 and DEFAULT.length_step(1e-7, 100) == 12


def test_the_budget_option_scales_the_rule_and_bad_combinations_are_usage_errors():
    plan = Plan.from_options(plugin_options(budget=0.2))
    assert plan.budget.seconds == 0.2 and plan.budget.projection_above_s == pytest.approx(1.0)
    with pytest.raises(pytest.UsageError, match="with --benchmark-only"):
        Plan.from_options(plugin_options(rigorous=True, benchmark_only=False))
    with pytest.raises(pytest.UsageError, match="the sweep has its own budget"):
        Plan.from_options(plugin_options(rigorous=True, sweep=True))


def test_a_run_expected_past_its_time_samples_less_to_fit_and_never_below_the_shortest():
    def total(budget):  # what the run's fixed costs take, and its sampling
        return 40 + 100 * budget.seconds

    assert fitted(DEFAULT, total, 200, 0.2) is DEFAULT
    shortened = fitted(DEFAULT, total, 100, 0.2)
    assert total(shortened) <= 100 and shortened.seconds == pytest.approx(0.6, abs=1e-3)
    assert dataclasses.replace(shortened, seconds=DEFAULT.seconds) == DEFAULT  # only the sampling changed
    assert fitted(DEFAULT, total, 50, 0.2).seconds == 0.2  # cannot fit: as short as allowed
    assert DEFAULT.run_seconds == 300 and Plan.from_options(plugin_options(budget=0.5)).budget.run_seconds is None
    assert RIGOROUS.run_seconds is None  # publication: every loop at its full rounds, however long


def test_the_estimate_follows_this_machines_speed_and_a_slower_one_samples_less(tmp_path):
    run = load_run(write(tmp_path / "run.json", frozen_run("loops")))
    steps = [
        Step(f"loop {index}", (row.implementation, row.dtype, row.epochs, row.n_hidden, row.batch))
        for index, row in enumerate(run.benchmarks.itertuples())
    ]

    def total_at(scale):
        estimator = Estimator(run, False, steps, 1, 0.0, scale)
        return lambda budget: sum(estimator.seconds(budget).values())

    assert total_at(1.0)(DEFAULT) < total_at(2.0)(DEFAULT) <= 2 * total_at(1.0)(DEFAULT)
    within = total_at(1.0)(DEFAULT)
    assert fitted(DEFAULT, total_at(1.0), within, 0.2) is DEFAULT
    assert fitted(DEFAULT, total_at(2.0), within, 0.2).seconds < DEFAULT.seconds
    numpy = run.benchmarks[run.benchmarks["implementation"] == "numpy"].iloc[0]
    probed = tuple(numpy[key] for key in ("implementation", "dtype", "epochs", "n_hidden", "batch"))
    assert Estimator(run, False, steps, 1, 0.0).probe_seconds(probed) == numpy["median"]


def test_a_fitted_budget_says_so_in_its_rule():
    budget = dataclasses.replace(
        DEFAULT, seconds=0.5, fitted="here sampled 0.5 s a benchmark instead of 1 s, to end within 5:00"
    )
    assert budget.record()["rule"].endswith("; here sampled 0.5 s a benchmark instead of 1 s, to end within 5:00")
    assert "the whole run within 300 s" in budgets.describe(DEFAULT)


def test_every_pair_of_budget_lengths_is_distinct_and_the_rule_is_saved_in_words():
    for budget in (DEFAULT, RIGOROUS):
        assert len(set(budget.lengths)) == len(budget.lengths) and all(
            a < b for a, b in itertools.pairwise(budget.lengths)
        )
        record = budget.record()
        assert (
            record["name"] == budget.name
            and record["rule"].startswith(f"{budget.name}: ")
            and record["seconds"] == budget.seconds
        )


SLOW_EPOCHS = 200


@pytest.mark.slow
def test_rigorous_times_every_loop_at_full_length_in_three_replicates_and_checks_the_projections(tmp_path):
    # micrograd's scalar graph: too slow at this length for 10 calls in 0.1 s, and no framework to import in each
    # replicate
    problem = short_notebook_problem(tmp_path / "short.json", SLOW_EPOCHS)
    nodes = [
        f"benchmarks/timed/bench_training.py::test_training_loop[{name}-float64]" for name in ("numpy", "micrograd")
    ]
    done = run_pytest(
        *nodes,
        "--benchmark-only",
        "--rigorous",
        "--budget=0.02",
        f"--problem={problem}",
        f"--benchmark-storage=file://{tmp_path / 'results'}",
    )
    assert done.returncode == 0, output_of(done)
    lines = done.stdout.splitlines()
    expected = next(
        index
        for index, line in enumerate(lines)
        if re.match(
            r"backprop-bench: 2 benchmarks x 3 replicates, rigorous budget, replicated processes: expected about "
            r"\d+:\d\d on this machine \(",
            line,
        )
    )
    # said before it starts
    assert expected < next(index for index, line in enumerate(lines) if line.startswith("[1/6] "))
    (path,) = (tmp_path / "results").rglob("*.json")
    saved = json.loads(path.read_text())
    info = saved["machine_info"]
    assert (
        info["process_mode"] == "replicated"
        and info["replicates"]["count"] == 3
        and info["budget"]["name"] == "rigorous"
    )
    for bench in saved["benchmarks"]:
        extra = bench["extra_info"]
        # at full length
        assert extra["timing"] == "measured" and len(extra["loss_history"]) == extra["epochs"] == SLOW_EPOCHS
        assert len({replicate["pid"] for replicate in extra["replicates"]}) == 3
    slow = next(bench for bench in saved["benchmarks"] if bench["extra_info"]["implementation"] == "micrograd")
    # a loop the default budget projects: its projection kept beside the measurement, and the former rounds over the
    # replicates
    assert slow["extra_info"]["projection"]["projected_s"] > 0
    for index, replicate in enumerate(
        slow["extra_info"]["replicates"]
    ):  # each its share of the former rounds, at its median
        former = (
            max(20, int(np.ceil(1 / replicate["median"])))
            if 20 * replicate["median"] <= 10
            else max(5, int(10 // replicate["median"]))
        )
        assert replicate["rounds"] >= former // 3 + (index < former % 3), (index, replicate, former)
    assert main(["report", str(path), "--out", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    checked = (
        r"^\| `micrograd` \| \d+, \d+, \d+, \d+ \| 20 \| .* \| [\d.]+ ms \| [+-]\d+\.\d%( \(outside its "
        r"interval\))? \|$"
    )
    assert re.search(checked, markdown, re.MULTILINE), markdown  # the projection beside the measurement
