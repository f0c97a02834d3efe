"""Reading saved runs back, and the report's arithmetic, on runs built here where the answer is known."""

import re

import numpy as np
import pytest

from benchmarks.cli import main
from benchmarks.model.runs import RunFileError, load_run, newest_run
from benchmarks.plugin.workers import training_seconds
from benchmarks.presentation.formatting import color_of, format_seconds, line_style_of
from benchmarks.presentation.results_index import END, START
from benchmarks.presentation.tables import summary, summary_table
from implementations.registry import REGISTRY
from tests.helpers import MACHINE_INFO, frozen_run, saved_run, write


def test_summary_ratios_and_per_epoch_times(tmp_path):
    run = load_run(
        write(tmp_path / "run.json", saved_run({"torch": 0.06, "numpy": 0.012, "jax": 0.003, "native": 0.0001}))
    )
    table = summary(run.benchmarks)
    assert list(table["implementation"]) == ["native", "jax", "numpy", "torch"]
    assert table["vs_numpy"].tolist() == pytest.approx([0.1 / 12, 0.25, 1.0, 5.0])
    assert table["vs_native"].tolist() == pytest.approx([1, 30, 120, 600])
    assert table["per_epoch"].tolist() == pytest.approx([0.1e-6, 3e-6, 12e-6, 60e-6])
    assert np.isnan(table.loc[table["implementation"] == "numpy", "compile"]).all()  # not a compiled implementation
    assert table.loc[table["implementation"] == "jax", "compile"].item() == 0.1
    # the median's interval: order statistics 7 and 19 of 25 samples, which cover the median with probability 95.7%
    assert (
        "| `jax` | 3 ms | 2.98, 3.02 ms (95.7%) | 25 | 60 µs (2.0%) | 3 µs | 0.25× | 30× | 100 ms | 3 ms | – |"
        in summary_table(table)
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1.5, "1.5 s"), (0.0123, "12.3 ms"), (4.56e-5, "45.6 µs"), (3e-9, "3 ns"), (float("nan"), "–")],
)
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_newest_run_is_the_latest_saved_not_the_latest_named(tmp_path):
    write(tmp_path / "machine-a" / "0002_x.json", saved_run({"numpy": 0.01}, saved_at="2026-01-01T00:00:00"))
    newer = write(tmp_path / "machine-b" / "0001_y.json", saved_run({"numpy": 0.01}, saved_at="2026-02-01T00:00:00"))
    write(tmp_path / "machine-b" / "0003_broken.json", "{")
    assert newest_run(tmp_path) == newer


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ('{"machine_info": {}, "benchmarks": [', "not valid JSON .* truncated"),
        ('{"hello": "world"}', "not a pytest-benchmark run"),
        (
            '{"machine_info": {}, "benchmarks": []}',
            "saved in run format 1, older than this suite's 2; upgrade it with: ",
        ),
        (
            '{"backprop_bench_format": 2, "machine_info": {"fingerprint": {"id": "m"}}, "benchmarks": []}',
            "the run holds no training-loop benchmarks",
        ),
        (
            '{"backprop_bench_format": 2, "machine_info": {"fingerprint": {"id": "m"}}, "benchmarks": [{"name": '
            '"test_other", "group": null, '
            '"stats": {}, "extra_info": {}}]}',
            re.escape("benchmarks[0].extra_info: not saved by backprop-bench (no kind"),
        ),
    ],
)
def test_unreadable_runs_are_refused_naming_the_file(tmp_path, content, message):
    path = write(tmp_path / "run.json", content)
    with pytest.raises(RunFileError, match=f"^{re.escape(str(path))}: {message}"):
        load_run(path)


def test_cli_reports_bad_input_in_one_line_with_exit_status_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err == f"backprop-bench report: error: {tmp_path / 'missing.json'}: no such file\n"
    assert main(["report", "--results", str(tmp_path)]) == 2
    assert "no saved runs; run `pytest --benchmark-only` first" in capsys.readouterr().err


def test_a_spread_over_ten_percent_of_the_median_is_flagged_unreliable(tmp_path):
    noisy = load_run(write(tmp_path / "run.json", saved_run({"numpy": 0.01}, spread=0.3)))
    table = summary_table(summary(noisy.benchmarks))
    assert "(30.0%, ⚠ unreliable)" in table
    steady = load_run(write(tmp_path / "steady.json", saved_run({"numpy": 0.01}, spread=0.08)))
    assert "(8.0%) |" in summary_table(summary(steady.benchmarks))


def test_several_runs_are_reported_side_by_side_labelled_by_what_differs(tmp_path):
    one_thread = saved_run({"numpy": 0.010, "torch": 0.060})
    two_threads = saved_run(
        {"numpy": 0.012, "torch": 0.030}, machine_info=MACHINE_INFO | {"threads": {"requested": 2}, "node": "other"}
    )
    paths = [write(tmp_path / "a" / "0001_a.json", one_thread), write(tmp_path / "b" / "0001_b.json", two_threads)]
    assert main(["report", *map(str, paths), "--out", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    first, second = "threads 1", "threads 2"  # the host's name is no difference: a container changes it every session
    assert f"| implementation | {first} | {second} | {second} / {first} |" in markdown
    assert "| `numpy` | 10 ms (2.0%) | 12 ms (2.0%) | 1.2× |" in markdown
    assert "| `torch` | 60 ms (2.0%) | 30 ms (2.0%) | 0.5× |" in markdown
    assert (tmp_path / "report" / "training_time_0.png").read_bytes().startswith(b"\x89PNG")


def test_index_writes_the_results_readme_and_the_headline_between_their_markers_and_keeps_the_rest(tmp_path, capsys):
    results = tmp_path / "results"
    write(results / "m" / "0001_loops.json", frozen_run("loops"))
    write(results / "m" / "0002_sweep.json", frozen_run("sweep"))
    readme = write(tmp_path / "README.md", f"# A project\n\nBefore.\n\n{START}\nold table\n{END}\n\nAfter.\n")
    assert main(["index", "--results", str(results), "--readme", str(readme)]) == 0
    assert capsys.readouterr().out == (
        f"{results / 'README.md'}: written from 2 saved runs\n{readme}: written from 2 saved runs\n"
    )
    text = readme.read_text()
    assert text.startswith(f"# A project\n\nBefore.\n\n{START}\nThe notebook's 1000 epochs in float64, run `0001` (")
    assert text.endswith(f"{END}\n\nAfter.\n")
    rows = re.findall(r"^\| `([\w-]+)` \| ([\d.]+ [µm]?s) \|", text, re.MULTILINE)
    assert [name for name, _ in rows] == ["native", "numpy", "torch", "keras-tensorflow"]  # fastest first
    index = (results / "README.md").read_text()
    assert "| `0001_loops.json` | " in index and "| `0002_sweep.json` | " in index and "78 sweep points" not in index
    assert re.search(r"\| 75 sweep points, 3 peaks \|", index), index
    # run again: the findings written around the block stay, the block is rewritten
    (results / "README.md").write_text(index.replace("# Results", "# Results\n\nA finding.", 1))
    assert main(["index", "--results", str(results)]) == 0
    assert (results / "README.md").read_text() == index.replace("# Results", "# Results\n\nA finding.", 1)


def test_index_says_how_long_each_run_took_where_it_was_recorded(tmp_path, capsys):
    results, loops = tmp_path / "results", frozen_run("loops")
    took = loops | {"machine_info": loops["machine_info"] | {"session_seconds": 265.3, "expected_seconds": 246.0}}
    write(results / "m" / "0001_loops.json", loops)  # saved before runs recorded it
    write(results / "m" / "0002_loops.json", took)
    readme = write(tmp_path / "README.md", f"{START}\n{END}\n")
    assert main(["index", "--results", str(results), "--readme", str(readme)]) == 0
    count = len(took["benchmarks"])
    sentence = f"The run's {count} benchmarks took 4 min 25 s of pytest's time, expected 4 min 6 s when it started."
    assert readme.read_text().endswith(f"|\n\n{sentence}\n{END}\n")
    index = (results / "README.md").read_text()
    assert re.search(r"^\| `0001_loops.json` \| .* \| – \|$", index, re.MULTILINE), index
    assert re.search(r"^\| `0002_loops.json` \| .* \| 4 min 25 s \|$", index, re.MULTILINE), index


def test_index_refuses_a_readme_without_its_markers_and_writes_nothing(tmp_path, capsys):
    write(tmp_path / "results" / "m" / "0001_loops.json", frozen_run("loops"))
    readme = write(tmp_path / "README.md", "# No markers\n")
    assert main(["index", "--results", str(tmp_path / "results"), "--readme", str(readme)]) == 2
    assert (
        capsys.readouterr().err
        == f"backprop-bench index: error: {readme}: no generated block; expected the lines {START} and {END}\n"
    )
    assert readme.read_text() == "# No markers\n" and not (tmp_path / "results" / "README.md").exists()


def test_the_report_sets_a_frameworks_layers_side_by_side(tmp_path):
    run = saved_run({"numpy": 0.02, "torch": 0.06, "torch-nn": 0.09, "torch-compile": 0.03, "lightning": 2.0})
    for bench in run["benchmarks"]:
        extra = bench["extra_info"]
        extra |= {"framework": extra["implementation"].partition("-")[0], "variant": extra["implementation"] + " way"}
        # a layer over PyTorch, in its table
        extra |= {"built_on": "torch"} if extra["implementation"] == "lightning" else {}
    path = write(tmp_path / "0001_run.json", run)
    assert main(["report", str(path), "--out", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    section = markdown[markdown.index("### What a framework's layers cost") :]
    rows = re.findall(
        r"^\| (\w*) \| `([\w-]+)` \| ([\w -]+) \| ([\d.]+ m?s) \| [\d.]+ [µm]s \| ([\d.]+)× \|$", section, re.MULTILINE
    )
    assert rows == [
        ("torch", "torch-compile", "torch-compile way", "30 ms", "1"),
        ("", "torch", "torch way", "60 ms", "2"),
        ("", "torch-nn", "torch-nn way", "90 ms", "3"),
        ("", "lightning", "lightning way", "2 s", "66.7"),
    ], section[:800]  # numpy, alone in its framework, has no table


def test_no_two_registered_implementations_draw_the_same_line():
    looks = {(color_of(name), line_style_of(name)) for name in REGISTRY}
    assert len(looks) == len(REGISTRY)


def test_the_report_names_what_could_not_run_on_the_machine_and_why(tmp_path):
    why = (
        "needs the program clang (tinygrad compiles its kernels with it), which is not on PATH; install it with: "
        "apt-get install clang"
    )
    path = write(
        tmp_path / "run.json",
        saved_run({"numpy": 0.01}, machine_info=MACHINE_INFO | {"unavailable": {"tinygrad": why}}),
    )
    assert main(["report", str(path), "--out", str(tmp_path / "report")]) == 0
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "**Not run**: 1 implementation could not run on this machine, and why:" in markdown
    assert f"| `tinygrad` | {why} |" in markdown


@pytest.mark.parametrize("command", ["report", "history", "upgrade", "index"])
def test_every_command_refuses_a_folder_without_saved_runs_in_the_same_words(tmp_path, capsys, command):
    assert main([command, "--results", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"backprop-bench {command}: error: {tmp_path}: no saved runs; run `pytest --benchmark-only` first, or name run "
        "files\n"
    )


def test_the_parallel_runs_order_comes_from_the_newest_run_by_its_own_time_through_the_one_reader(tmp_path):
    older = saved_run({"numpy": 0.01, "torch": 0.2}, saved_at="2026-01-02T00:00:00")
    newer = saved_run({"numpy": 0.03}, saved_at="2026-01-03T00:00:00")
    write(tmp_path / "machine-a" / "0009_older.json", older)  # the higher number, on another machine's folder
    write(tmp_path / "machine-b" / "0001_newer.json", newer)
    assert training_seconds(tmp_path) == {"numpy": pytest.approx(0.03, rel=0.05)}
    write(tmp_path / "machine-b" / "0002_unreadable.json", "{")
    assert training_seconds(tmp_path) == {"numpy": pytest.approx(0.03, rel=0.05)}
