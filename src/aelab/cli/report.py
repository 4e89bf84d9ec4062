"""``aelab-report <sweep dir>``: build (or rebuild) a sweep's report: results.csv, report.md and
report.html in the sweep dir. ``aelab-report RUN_A RUN_B [...]``: single runs side by side, what
differs in their configs, their test metrics, learning curves, gradient flow, reconstructions and
code spaces, in ``--out DIR`` (default ``compare/``).

Works on a finished, partial or interrupted sweep; failed, missing, stale and foreign jobs are
listed in the report, a job file that cannot be read is named in a warning, and none of them
changes the exit status. Exit 2: a directory does not exist, holds no run (given with others), or
cannot be read or written; 1: a sweep dir holds no jobs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aelab-report", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "dirs",
        nargs="+",
        metavar="DIR",
        help="a Hydra multirun dir (holds multirun.yaml and the job dirs), or run dirs",
    )
    parser.add_argument("--no-recon", action="store_true", help="skip the reconstruction grids and code spaces")
    parser.add_argument("--out", default=None, help="where a comparison of runs goes (default: compare/)")
    args = parser.parse_args(argv)
    # imported after parsing, so --help answers at once (torch and the rest take seconds)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from aelab.errors import AelabError
    from aelab.reports.sweep.build import build_report
    from aelab.reports.sweep.compare import DEFAULT_OUT, build_comparison, is_run_dir

    one = Path(args.dirs[0])
    try:
        if len(args.dirs) == 1 and not (is_run_dir(one) and not (one / "multirun.yaml").exists()):
            if args.out is not None:
                print(
                    "Error: --out is for a comparison of runs; a sweep's report goes into its sweep dir",
                    file=sys.stderr,
                )
                return 2
            result, what = build_report(one, recon=not args.no_recon), "jobs"
        else:
            result, what = build_comparison(args.dirs, args.out or DEFAULT_OUT, recon=not args.no_recon), "runs"
    except AelabError as err:  # no such dir or no run (2), no jobs (1), a dir that cannot be read or written (2)
        print(f"Error: {err}", file=sys.stderr)
        return err.exit_code
    print(f"{sum(result.counts.values())} {what}: {result.summary()}")
    for problem in result.problems:
        print(f"warning: {problem}", file=sys.stderr)
    for dir_ in result.outside:
        print(f"not part of this sweep: {dir_}", file=sys.stderr)
    print(f"report: {result.markdown}\n        {result.html}\nresults: {result.csv}")
    return 0
