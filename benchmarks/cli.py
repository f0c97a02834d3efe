"""The backprop-bench command line: reports and comparisons of saved benchmark runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .runs import RunFileError, differences, load_run, newest_run


def report(args: argparse.Namespace) -> int:
    """Write the report of one saved run, or of several side by side."""
    from .report import write_report  # matplotlib is slow to import; only this command needs it

    paths = [Path(run) for run in args.runs] or [newest_run(args.results)]
    runs = [load_run(path) for path in paths]
    default_name = runs[0].label if len(runs) == 1 else "+".join(run.label.split("_")[0] for run in runs)
    out_dir = Path(args.out) if args.out else Path(args.results) / "reports" / default_name
    markdown = write_report(runs, out_dir)
    print(f"report of {', '.join(map(str, paths))} written to {markdown}")
    return 0


def percent(text: str) -> float:
    """A percentage given as 10 or 10%."""
    try:
        value = float(text.removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage such as 10 or 10%, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a percentage >= 0, got {text!r}")
    return value


def compare(args: argparse.Namespace) -> int:
    """Print a table of two runs, with a verdict per benchmark; exit 1 on a significant slowdown above --fail-above."""
    from .compare import compare_runs, regressions
    from .report import format_seconds

    base, new = load_run(args.base), load_run(args.new)
    comparisons = compare_runs(base, new, args.alpha, args.min_change)
    print(f"base: {base.path}\nnew:  {new.path}")
    differing = differences([base, new])
    if differing:
        print("warning: the runs were measured differently; the comparison mixes these with the code's own effect:")
        for key, (before, after) in differing.items():
            print(f"  {key}: {before} -> {after}")
    width = max(len(c.implementation) for c in comparisons)
    for group in dict.fromkeys(c.group for c in comparisons):
        print(f"\n{group}\n{'implementation':<{max(width, 14)}}  {'base':>10}  {'new':>10}  {'ratio':>7}  {'p-value':>8}  verdict")
        for c in (c for c in comparisons if c.group == group):
            print(f"{c.implementation:<{max(width, 14)}}  {format_seconds(c.base_median):>10}  {format_seconds(c.new_median):>10}"
                  f"  {c.ratio:>6.3f}×  {c.p_value:>8.2g}  {c.verdict}")
    print(f"\nSignificant: p < {args.alpha} in a two-sided Mann-Whitney U test on the raw samples of each benchmark, "
          f"and medians {args.min_change:g}% or more apart (asv's rule).")
    if args.fail_above is None:
        return 0
    slower = regressions(comparisons, args.fail_above)
    for c in slower:
        print(f"FAIL: {c.implementation} ({c.group}) is {c.ratio - 1:.1%} slower, significantly, above the {args.fail_above:g}% allowed")
    return 1 if slower else 0


def parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    from .compare import DEFAULT_ALPHA, DEFAULT_MIN_CHANGE

    main_parser = argparse.ArgumentParser(prog="backprop-bench", description=__doc__)
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    report_parser = commands.add_parser(
        "report", help="write a markdown report with figures from saved runs",
        description="Write a markdown table and PNG figures (training time, loss curves) from one saved run, "
                    "or from several side by side, labelled by what differs between them.",
    )
    report_parser.add_argument("runs", nargs="*", metavar="RUN.json",
                               help="saved runs (pytest-benchmark JSON); default: the newest under --results")
    report_parser.add_argument("--out", help="folder for the report (default: RESULTS/reports/<run name>)")
    report_parser.add_argument("--results", default="results", help="where saved runs live (default: %(default)s)")
    report_parser.set_defaults(handler=report)

    compare_parser = commands.add_parser(
        "compare", help="compare two saved runs, with a significance test per benchmark",
        description="Compare two saved runs benchmark by benchmark: both medians, the ratio, a two-sided "
                    "Mann-Whitney U test on the raw samples, and a verdict (faster, slower, no significant change).",
    )
    compare_parser.add_argument("base", metavar="BASE.json", help="the run to compare against")
    compare_parser.add_argument("new", metavar="NEW.json", help="the run being judged")
    compare_parser.add_argument("--fail-above", type=percent, metavar="PCT",
                                help="exit 1 if any benchmark is significantly slower than BASE by more than PCT percent (10 or 10%%)")
    compare_parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                                help="significance threshold for the p-value (default: %(default)s, as asv)")
    compare_parser.add_argument("--min-change", type=percent, default=DEFAULT_MIN_CHANGE, metavar="PCT",
                                help="smallest difference of medians that counts as a change (default: %(default)g%%, as asv)")
    compare_parser.set_defaults(handler=compare)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; bad input ends with a one-line error and exit status 2."""
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except RunFileError as error:
        print(f"backprop-bench {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
