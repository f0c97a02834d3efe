"""The backprop-bench command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .runs import RunFileError, load_run, newest_run


def report(args: argparse.Namespace) -> int:
    """Write the report of one saved run."""
    from .report import write_report  # matplotlib is slow to import; only this command needs it

    path = Path(args.run) if args.run else newest_run(args.results)
    run = load_run(path)
    out_dir = Path(args.out) if args.out else Path(args.results) / "reports" / run.label
    markdown = write_report(run, out_dir)
    print(f"report of {path} written to {markdown}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    main_parser = argparse.ArgumentParser(prog="backprop-bench", description=__doc__)
    commands = main_parser.add_subparsers(dest="command", required=True)
    report_parser = commands.add_parser(
        "report", help="write a markdown report with figures from a saved benchmark run",
        description="Write a markdown table and PNG figures (training time, loss curves) from a saved run.",
    )
    report_parser.add_argument("run", nargs="?", help="a saved run (pytest-benchmark JSON); default: the newest under --results")
    report_parser.add_argument("--out", help="folder for the report (default: RESULTS/reports/<run name>)")
    report_parser.add_argument("--results", default="results", help="where saved runs live (default: %(default)s)")
    report_parser.set_defaults(handler=report)
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
