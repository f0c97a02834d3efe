"""The backprop-bench command line: reports and comparisons of saved benchmark runs."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
import traceback
from pathlib import Path

from implementations import UnavailableImplementation
from implementations.registry import REFERENCE, BadDeclaration

from .model.errors import BadInput
from .options import (
    implementation_names,
    output_file,
    output_folder,
    percent,
    percent_or_off,
    percentages,
    positive_number,
    significance_level,
)

# the exit statuses of every command (README, "The command line"); Ctrl-C ends as a shell reports SIGINT, 128 + 2
SUCCESS, FINDING, BAD_INPUT, BUG, INTERRUPTED, READER_GONE = 0, 1, 2, 3, 130, 141  # 128 + the signal, as a shell says


def report(args: argparse.Namespace) -> int:
    """Write the report of one saved run, or of several side by side."""
    from .model.runs import load_runs, newest_run
    from .presentation.report import write_report

    paths = [Path(run) for run in args.runs] or [newest_run(args.results)]
    runs = load_runs(paths)
    default_name = runs[0].label if len(runs) == 1 else "+".join(run.label.split("_")[0] for run in runs)
    out_dir = args.out or Path(args.results) / "reports" / default_name
    markdown = write_report(runs, out_dir)
    print(f"report of {', '.join(map(str, paths))} written to {markdown}")
    return SUCCESS


def list_implementations(args: argparse.Namespace) -> int:
    """Print every registered implementation: what it is, and whether it runs here (with versions) or why not."""
    from implementations.registry import CARD_ASPECTS, REGISTRY, declaration, installed_versions, unavailable

    missing = unavailable()
    entries = []
    for name in REGISTRY:
        declared = declaration(name)
        entry = {
            "name": name,
            "framework": declared.framework,
            "built_on": declared.built_on,
            "variant": declared.variant,
            "gradients": declared.gradients,
            "compiled": declared.compiled,
            "available": name not in missing,
        }
        if name in missing:
            entry["reason"] = missing[name]
        else:
            entry["versions"] = installed_versions(declared.requires)
        # held to 1e-12 in float64 by the equivalence tests, unless the module declares why it cannot be
        entry["float64_exact"] = declared.float64_cause is None
        if not entry["float64_exact"]:
            entry["cause"] = declared.float64_cause
        if declared.environment:
            entry["process"] = "own, with " + " ".join(f"{key}={value}" for key, value in declared.environment.items())
        entries.append(entry | {"card": declared.card})
    if args.json:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
        return SUCCESS
    width = max(len("implementation"), *map(len, REGISTRY))
    print(f"{'implementation':<{width}} {'status':<12} details")
    for entry in entries:
        if not entry["available"]:
            print(f"{entry['name']:<{width}} {'unavailable':<12} {entry['reason']}")
            continue
        versions = ", ".join(f"{package} {version}" for package, version in entry["versions"].items())
        print(
            f"{entry['name']:<{width}} {'available':<12} {entry['variant']}; {entry['gradients']} gradients; {versions}"
        )
    print("\nFairness cards (what makes a timed call finished work; what is compiled, and when; threads; idiom):")
    for entry in entries:
        print(f"{entry['name']:<{width}} " + "; ".join(entry["card"][aspect] for aspect in CARD_ASPECTS))
    if inexact := [entry for entry in entries if not entry["float64_exact"]]:
        print("\nNot float64-exact (held to float32's drift bound instead of 1e-12), and why:")
        for entry in inexact:
            print(f"{entry['name']:<{width}} {entry['cause']}")
    return SUCCESS


def parity(args: argparse.Namespace) -> int:
    """Train every implementation on a problem, compare them pairwise, write the parity report; exit 1 on failure."""
    from implementations import Diverged, available, get, seed_problem

    from .model.parity import check_parity
    from .model.problem_file import load_problem
    from .presentation.parity_report import write_parity_report

    problem = load_problem(args.problem) if args.problem else seed_problem(args.dtype)
    names = args.implementations or available()
    if len(names) == 1:  # one implementation is checked against the reference
        if names == [REFERENCE]:
            raise BadInput(
                f"--implementations: {REFERENCE} alone has nothing to be compared with; name two or more, or one "
                f"other, which is compared with {REFERENCE}"
            )
        names = [REFERENCE, *names]
    for name in names:
        get(name)  # an unknown or unavailable name is bad input: refuse it before training anything
    try:
        result = check_parity(problem, names, args.tolerance)
    except Diverged as error:
        print(f"backprop-bench parity: {error}", file=sys.stderr)
        return FINDING
    source = str(args.problem) if args.problem else f"the notebook's problem ({args.dtype})"
    out_dir = args.out or Path(args.results) / "parity" / (
        Path(args.problem).stem if args.problem else f"notebook-{args.dtype}"
    )
    markdown = write_parity_report(result, source, out_dir)
    worst = result.pairs.sort_values("largest").iloc[-1]
    verdict = "PASS" if result.passes else "FAIL"
    print(
        f"{verdict}: largest difference {worst['largest']:.1e} ({worst['first']} vs {worst['second']}), tolerance "
        f"{result.tolerance:.1e}, {len(result.pairs)} pair{'s' * (len(result.pairs) > 1)} of {len(names)} "
        f"implementations; report: {markdown}"
    )
    return SUCCESS if result.passes else FINDING


def compare(args: argparse.Namespace) -> int:
    """Print a table of two runs, with a verdict per benchmark; exit 1 on a significant slowdown above --fail-above."""
    from .model.compare import compare_two
    from .model.runs import load_run
    from .presentation.comparison import comparison_lines, failure_lines

    result = compare_two(
        load_run(args.base), load_run(args.new), args.alpha, args.min_change, args.set_aside, args.fail_above
    )
    if args.fail_above is not None and not args.across_machines and result.machine_changes:
        raise BadInput(
            f"--fail-above: {result.base.path} and {result.new.path} were measured on different machines "
            f"({result.machine_changes[0]}), and a slowdown gate across two machines judges the machines, not the "
            "code; gate runs from one machine, or pass --across-machines to gate anyway"
        )
    print("\n".join(comparison_lines(result) + failure_lines(result)))
    return FINDING if result.regressions else SUCCESS


def calibrate(args: argparse.Namespace) -> int:
    """Print the false alarms of `compare --fail-above` on runs of identical code, and the injected slowdowns it
    catches."""
    from .model.calibration import calibrate as calibrated
    from .model.runs import load_runs
    from .presentation.comparison import calibration_lines

    runs = load_runs(args.runs)
    result = calibrated(runs, args.fail_above, args.slowdowns, args.alpha, args.min_change, args.set_aside)
    print("\n".join(calibration_lines(result, runs[0], args.fail_above)))
    return SUCCESS


def history(args: argparse.Namespace) -> int:
    """Write one self-contained HTML page of every implementation's median over the saved runs, by machine."""
    from .model.runs import load_runs, no_saved_runs, saved_runs
    from .presentation.history_page import write_history

    saved = saved_runs(args.results)
    paths = [Path(run) for run in args.runs] or saved
    if not paths:
        raise no_saved_runs(args.results)
    try:  # the default page, as --out is checked
        out = args.out or output_file(str(Path(args.results) / "history.html"))
    except argparse.ArgumentTypeError as refused:
        raise BadInput(f"{Path(args.results) / 'history.html'}: {refused}") from None
    if out.resolve() in {path.resolve() for path in [*paths, *saved]}:
        raise BadInput(f"{out}: a saved run, which the page would overwrite; expected the HTML file to write (--out)")
    runs = load_runs(paths)
    out = write_history(runs, out)
    machines = len({run.fingerprint["id"] for run in runs})
    print(f"history of {len(runs)} runs from {machines} machine{'s' * (machines > 1)} written to {out}")
    return SUCCESS


def upgrade(args: argparse.Namespace) -> int:
    """Bring saved runs of an older run format to this suite's, in place; every run is checked before any is written."""
    from .model.files import atomic_write_all
    from .model.runs import RunFileError, no_saved_runs, read_json, run_of, saved_format, saved_runs
    from .model.schema import VERSION
    from .model.upgrade import upgraded

    paths = [Path(run) for run in args.runs] or saved_runs(args.results)
    if not paths:
        raise no_saved_runs(args.results)
    older = {}
    for path in paths:
        data = read_json(path)
        if (saved_in := saved_format(path, data)) < VERSION:
            older[path] = upgraded(data, saved_in)
            try:  # read as a run of this format, before any run is written
                run_of(path, older[path])
            except RunFileError as error:
                raise RunFileError(f"{path}: cannot be upgraded: {str(error).removeprefix(f'{path}: ')}") from None
    # all of them, or none
    atomic_write_all({path: (json.dumps(data, indent=4) + "\n").encode() for path, data in older.items()})
    for path in older:
        print(f"{path}: upgraded to run format {VERSION}")
    print(f"{len(older)} of {len(paths)} runs upgraded; the rest were in run format {VERSION} already")
    return SUCCESS


def index(args: argparse.Namespace) -> int:
    """Write the generated part of RESULTS/README.md from the saved runs, and with --readme that README's headline
    table."""
    from .model.files import atomic_write_all
    from .model.runs import RunFileError, load_runs, no_saved_runs, saved_runs
    from .presentation import results_index

    paths = saved_runs(args.results)
    if not paths:
        raise no_saved_runs(args.results)
    runs = load_runs(paths)
    target = Path(args.results) / "README.md"
    writes = {
        target: results_index.replace_block(read_text(target), results_index.index(runs), target)
        if target.exists()
        else results_index.readme_of_results(runs)
    }
    if args.readme:
        if (newest := results_index.newest_with_headline(runs)) is None:
            raise RunFileError(
                f"{args.results}: no run times the notebook's loops in float64; expected one for the headline"
            )
        writes[args.readme] = results_index.replace_block(
            read_text(args.readme), results_index.headline(newest), args.readme
        )
    atomic_write_all({path: text.encode() for path, text in writes.items()})  # both, or neither
    for path in writes:
        print(f"{path}: written from {len(runs)} saved runs")
    return SUCCESS


def read_text(path: Path) -> str:
    """A text file the command rewrites, or bad input naming it."""
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"{path}: cannot be read ({getattr(error, 'strerror', None) or error})") from None


def add_output_options(command: argparse.ArgumentParser, out_help: str, out_type=output_folder) -> None:
    """--out, where a command writes, and --results, the folder of saved runs and default outputs."""
    command.add_argument("--out", type=out_type, help=out_help)
    add_results_option(command, "where saved runs live, and reports by default (default: %(default)s)")


def add_results_option(
    command: argparse.ArgumentParser, help_text: str = "where saved runs live (default: %(default)s)"
) -> None:
    """--results, the folder of saved runs."""
    command.add_argument("--results", type=output_folder, default="results", help=help_text)


def add_significance_options(command: argparse.ArgumentParser) -> None:
    """--alpha and --min-change: what counts as a significant change."""
    from .model.compare import DEFAULT_ALPHA, DEFAULT_MIN_CHANGE, DEFAULT_SET_ASIDE

    command.add_argument(
        "--alpha",
        type=significance_level,
        default=DEFAULT_ALPHA,
        help="significance threshold for the Mann-Whitney p-value, without replicates (default: %(default)s, as asv)",
    )
    command.add_argument(
        "--min-change",
        type=percent,
        default=DEFAULT_MIN_CHANGE,
        metavar="PCT",
        help="smallest difference of medians that counts as a change (default: %(default)g%%, as asv)",
    )
    command.add_argument(
        "--set-aside",
        type=percent_or_off,
        default=DEFAULT_SET_ASIDE,
        metavar="PCT|off",
        help="with replicates, set aside as disturbed a replicate more than PCT percent slower than the fastest "
        "of its benchmark in the same run (default: %(default)g%%; off keeps every replicate)",
    )


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a usage error told in one line (the usage is one --help away), exit status 2."""

    def error(self, message: str):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(BAD_INPUT)

    def parse_args(self, args=None, namespace=None):
        parsed, unrecognized = self.parse_known_args(args, namespace)
        if unrecognized:  # quoted as a shell would take them, so that an empty argument shows as ''
            self.error(f"unrecognized arguments: {shlex.join(unrecognized)}")
        return parsed


def parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="on a bug (exit status 3), show the traceback instead of saving it to a file",
    )
    main_parser = OneLineParser(
        prog="backprop-bench",
        description=__doc__,
        parents=[debug],
        epilog="Exit status: 0 success, 1 a finding (parity FAIL, divergence, a regression above --fail-above), 2 bad "
        "input, "
        "3 a bug. Benchmarks themselves run under pytest: pytest --benchmark-only [--sweep] [--problem FILE] "
        "[--isolate] "
        "[--threads N].",
    )
    commands = main_parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        parser_class=lambda **kwargs: OneLineParser(parents=[debug], **kwargs),
    )

    list_parser = commands.add_parser(
        "list",
        help="list the implementations, available or not and why, with framework versions",
        description="List every registered implementation: how it trains, whether it can run here, and the versions it "
        "uses.",
    )
    list_parser.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per implementation: availability, versions, float64 exactness, fairness card",
    )
    list_parser.set_defaults(handler=list_implementations)

    parity_parser = commands.add_parser(
        "parity",
        help="check that every implementation computes the same numbers on a problem",
        description="Train every implementation on the notebook's problem or on a problem file, compare final weights, "
        "final outputs and the loss of every epoch pairwise, and write parity.md with a heatmap and a plot "
        "of the per-epoch loss difference from NumPy. Exits 1 if a pair differs by more than the tolerance "
        "or training diverges, 2 on bad input.",
    )
    parity_parser.add_argument(
        "--problem", metavar="FILE", help="a problem file (.json or .toml) with the fields of Problem"
    )
    parity_parser.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="dtype of the notebook's problem when no --problem is given (default: %(default)s)",
    )
    parity_parser.add_argument(
        "--implementations",
        type=implementation_names,
        metavar="A,B,...",
        help=f"compare only these; one alone is compared with {REFERENCE} (default: all available)",
    )
    parity_parser.add_argument(
        "--tolerance",
        type=positive_number,
        help="largest difference allowed (default: 1e-12 in float64; in float32, epochs x eps32 x the largest weight)",
    )
    add_output_options(parity_parser, "folder for the parity report (default: RESULTS/parity/<problem>)")
    parity_parser.set_defaults(handler=parity)

    report_parser = commands.add_parser(
        "report",
        help="write a markdown report with figures from saved runs",
        description="Write a markdown table and PNG figures (training time, loss curves) from one saved run, "
        "or from several side by side, labelled by what differs between them.",
    )
    report_parser.add_argument(
        "runs",
        nargs="*",
        metavar="RUN.json",
        help="saved runs (pytest-benchmark JSON); default: the newest under --results",
    )
    add_output_options(report_parser, "folder for the report (default: RESULTS/reports/<run name>)")
    report_parser.set_defaults(handler=report)

    compare_parser = commands.add_parser(
        "compare",
        help="compare two saved runs, with a significance test per benchmark",
        description="Compare two saved runs benchmark by benchmark: both medians, the ratio, a two-sided "
        "Mann-Whitney U test on the raw samples, and a verdict (faster, slower, no significant change).",
    )
    compare_parser.add_argument("base", metavar="BASE.json", help="the run to compare against")
    compare_parser.add_argument("new", metavar="NEW.json", help="the run being judged")
    compare_parser.add_argument(
        "--fail-above",
        type=percent,
        metavar="PCT",
        help="exit 1 if any benchmark is significantly slower than BASE by more than PCT percent (10 or 10%%)",
    )
    compare_parser.add_argument(
        "--across-machines",
        action="store_true",
        help="let --fail-above gate runs measured on different machines (refused otherwise)",
    )
    add_significance_options(compare_parser)
    compare_parser.set_defaults(handler=compare)

    history_parser = commands.add_parser(
        "history",
        help="write one HTML page of every implementation's median over the saved runs, by machine",
        description="Write one self-contained HTML page: every implementation's median over the saved runs in the "
        "order saved, "
        "one panel per machine (runs from different machines are never joined in one line), version changes marked.",
    )
    history_parser.add_argument(
        "runs", nargs="*", metavar="RUN.json", help="saved runs; default: every run under --results"
    )
    add_output_options(history_parser, "the HTML file to write (default: RESULTS/history.html)", output_file)
    history_parser.set_defaults(handler=history)

    calibrate_parser = commands.add_parser(
        "calibrate",
        help="measure how often compare --fail-above fails identical code, and how often it catches a slowdown",
        description="Run the gate of `compare --fail-above` on every ordered pair of the given runs, which must be "
        "runs of "
        "identical code from one machine: the pairs it fails are false alarms. Then slow each benchmark of the "
        "second run of each pair by each --slowdowns percentage (every timing scaled) and count those it catches.",
    )
    calibrate_parser.add_argument(
        "runs", nargs="+", metavar="RUN.json", help="two or more runs of identical code, measured alike"
    )
    calibrate_parser.add_argument(
        "--fail-above", type=percent, default=10.0, metavar="PCT", help="the gate (default: %(default)g%%)"
    )
    calibrate_parser.add_argument(
        "--slowdowns",
        type=percentages,
        default=[5.0, 10.0, 20.0],
        metavar="PCT,...",
        help="slowdowns to inject (default: 5,10,20)",
    )
    add_significance_options(calibrate_parser)
    calibrate_parser.set_defaults(handler=calibrate)

    upgrade_parser = commands.add_parser(
        "upgrade",
        help="bring saved runs of an older run format to this suite's, in place",
        description="Rewrite saved runs of an older run format in this suite's, in place, each atomically; a run that "
        "cannot be "
        "read or upgraded is refused before any run is written.",
    )
    upgrade_parser.add_argument(
        "runs", nargs="*", metavar="RUN.json", help="saved runs; default: every run under --results"
    )
    add_results_option(upgrade_parser)
    upgrade_parser.set_defaults(handler=upgrade)

    index_parser = commands.add_parser(
        "index",
        help="write the results folder's README from the saved runs (and the project README's headline table)",
        description="Write the part of RESULTS/README.md between its marker lines from the saved runs: the machines, "
        "each "
        "machine's runs, and its newest run's notebook loops in float64; with --readme, the same headline table "
        "between the marker lines of that README. What lies outside the markers is kept.",
    )
    add_results_option(index_parser)
    index_parser.add_argument(
        "--readme", type=output_file, metavar="FILE", help="a README whose headline table to rewrite (e.g. README.md)"
    )
    index_parser.set_defaults(handler=index)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    """Run one command: 0 success, 1 a finding, 2 bad input (one line naming it), 3 a bug (one line saying where its
    traceback was saved; --debug shows it instead)."""
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except (BadInput, UnavailableImplementation, BadDeclaration) as error:
        print(f"backprop-bench {args.command}: error: {error}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print(f"backprop-bench {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # the output's reader stopped reading (`| head`): the rest is unwanted, not a bug
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # else the interpreter's last flush fails again
        return READER_GONE
    except Exception as error:
        if getattr(args, "debug", False):
            raise
        saved = save_traceback(args.command)
        print(
            f"backprop-bench {args.command}: internal error ({type(error).__name__}: {str(error)[:200]}), a bug: the "
            f"traceback is in {saved}; --debug shows it instead",
            file=sys.stderr,
        )
        return BUG


def save_traceback(command: str) -> Path:
    """The traceback of the exception being handled, written to a new file in the temporary folder."""
    descriptor, path = tempfile.mkstemp(
        prefix=f"backprop-bench-{command}-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".txt"
    )
    with open(descriptor, "w") as file:
        file.write(traceback.format_exc())
    return Path(path)


if __name__ == "__main__":
    sys.exit(main())
