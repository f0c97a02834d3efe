"""The run format: saved with every run, an older one refused in one line naming the upgrade, and the upgrade tried on
real runs saved before formats were: the suite's first (tests/data/first_day.json, committed with the README of its
first day) and run 0004 (tests/data/format1.json), each as it was saved."""

import json
import shutil

from benchmarks.cli import main
from benchmarks.model.runs import load_run
from benchmarks.model.schema import VERSION, VERSION_KEY
from benchmarks.model.upgrade import fingerprint_from_cpuinfo
from tests.helpers import DATA, one_line_error, saved_run, write


def test_a_run_of_an_older_format_is_refused_in_one_line_naming_the_upgrade(tmp_path, capsys):
    old = shutil.copy(DATA / "format1.json", tmp_path / "0004_old.json")
    before = old.read_bytes()
    assert main(["report", str(old), "--out", str(tmp_path / "report")]) == 2
    assert one_line_error(capsys, "report", old) == (
        f"backprop-bench report: error: {old}: saved in run format 1, older than this suite's {VERSION}; upgrade it "
        f"with: backprop-bench upgrade {old}\n"
    )
    assert old.read_bytes() == before and not (tmp_path / "report").exists()


def test_the_upgrade_makes_a_real_old_run_readable_and_keeps_what_it_measured(tmp_path, capsys):
    old = shutil.copy(DATA / "format1.json", tmp_path / "0004_old.json")
    before = json.loads(old.read_text())
    assert main(["upgrade", str(old)]) == 0
    assert capsys.readouterr().out == (
        f"{old}: upgraded to run format {VERSION}\n1 of 1 runs upgraded; the rest were in run format {VERSION} "
        "already\n"
    )
    after = json.loads(old.read_text())
    assert after[VERSION_KEY] == VERSION
    assert [bench["extra_info"]["kind"] for bench in after["benchmarks"]] == ["loop"] * 4 + ["probe"]
    assert [bench["stats"] for bench in after["benchmarks"]] == [bench["stats"] for bench in before["benchmarks"]]
    run = load_run(old)
    assert run.fingerprint == fingerprint_from_cpuinfo(before["machine_info"]) and run.fingerprint["microarchitecture"]
    assert (
        sorted(run.benchmarks["implementation"]) == ["numpy", "numpy", "torch", "torch"]
        and run.benchmarks["import_s"].isna().all()
    )
    assert main(["report", str(old), "--out", str(tmp_path / "report")]) == 0
    assert main(["upgrade", str(old)]) == 0 and old.read_text() == json.dumps(after, indent=4) + "\n"  # once only
    assert capsys.readouterr().out.endswith("0 of 1 runs upgraded; the rest were in run format 2 already\n")


def test_a_run_the_upgrade_cannot_mend_is_refused_and_no_run_is_written(tmp_path, capsys):
    first = shutil.copy(DATA / "format1.json", tmp_path / "0001_old.json")
    broken = json.loads(first.read_text())
    del broken["benchmarks"][0]["stats"]["median"]
    second = write(tmp_path / "0002_broken.json", broken)
    before = {path: path.read_bytes() for path in (first, second)}
    assert main(["upgrade", str(first), str(second)]) == 2
    assert one_line_error(capsys, "upgrade", second).endswith(
        "cannot be upgraded: benchmarks[0].stats: missing 'median'\n"
    )
    assert {path: path.read_bytes() for path in before} == before


def test_a_run_of_a_newer_format_is_refused(tmp_path, capsys):
    run = write(tmp_path / "0001_new.json", saved_run({"numpy": 0.04}) | {VERSION_KEY: VERSION + 1})
    assert main(["report", str(run)]) == 2
    assert (
        f"saved in run format {VERSION + 1}, which this backprop-bench (format {VERSION}) does not know"
        in one_line_error(capsys, "report", run)
    )


def test_runs_saved_before_fingerprints_name_their_machine_once_upgraded():
    old = {
        "cpu": {
            "vendor_id_raw": "GenuineIntel",
            "family": 6,
            "model": 143,
            "stepping": 8,
            "count": 4,
            "flags": ["avx512f", "amx_tile"],
        }
    }
    derived = fingerprint_from_cpuinfo(old)
    assert (
        derived["microarchitecture"] == "Sapphire Rapids"
        and derived["isa"] == ["avx512f", "amx_tile"]
        and derived["logical_cpus"] == 4
    )


def test_the_upgrade_refuses_a_run_of_an_unknown_format_and_writes_nothing(tmp_path, capsys):
    run = write(tmp_path / "0001_odd.json", saved_run({"numpy": 0.04}) | {VERSION_KEY: "two"})
    before = run.read_bytes()
    assert main(["upgrade", str(run)]) == 2
    assert "saved in run format 'two', which this backprop-bench (format 2) does not know" in one_line_error(
        capsys, "upgrade", run
    )
    assert run.read_bytes() == before


def test_the_suites_first_run_upgrades_and_reports(tmp_path, capsys):
    old = shutil.copy(DATA / "first_day.json", tmp_path / "0001_old.json")
    before = json.loads(old.read_text())
    assert main(["upgrade", str(old)]) == 0
    run = load_run(old)
    assert list(run.benchmarks["median"]) == [
        bench["stats"]["median"] for bench in before["benchmarks"] if "implementation" in bench["extra_info"]
    ]
    assert main(["report", str(old), "--out", str(tmp_path / "report")]) == 0
    assert "every implementation agrees with NumPy" in (tmp_path / "report" / "report.md").read_text()


def test_a_loop_saved_without_its_loss_history_upgrades_with_it_absent_and_the_report_says_so(tmp_path, capsys):
    saved = json.loads((DATA / "first_day.json").read_text())
    for bench in saved["benchmarks"]:
        if bench["extra_info"]["implementation"] != "numpy":
            del bench["extra_info"]["loss_history"]
    old = write(tmp_path / "0001_old.json", saved)
    assert main(["upgrade", str(old)]) == 0
    assert [bench["extra_info"]["loss_history"] is None for bench in json.loads(old.read_text())["benchmarks"]] == [
        False,
        True,
        True,
    ]
    assert main(["report", str(old), "--out", str(tmp_path / "report")]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "Not in this run (its file was saved without them): `torch`, `jax`." in report
    assert "![Training loss" in report  # NumPy's curve, the one recorded
    for bench in saved["benchmarks"]:
        bench["extra_info"].pop("loss_history", None)
    write(old, saved)
    assert main(["upgrade", str(old)]) == 0 and main(["report", str(old), "--out", str(tmp_path / "bare")]) == 0
    report = (tmp_path / "bare" / "report.md").read_text()
    assert (
        "![Training loss" not in report
        and "No NumPy loss history in this run to compare against. Not in this run" in report
    )
