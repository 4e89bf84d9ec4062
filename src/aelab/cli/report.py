"""``aelab-report <sweep dir>``: build (or rebuild) a sweep's report: results.csv, report.md and
report.html in the sweep dir.

Works on a finished, partial or interrupted sweep; failed, missing, stale and foreign jobs are
listed in the report, a job file that cannot be read is named in a warning, and none of them
changes the exit status. Exit 2: the directory does not exist or cannot be read or written; 1: it
holds no jobs.
"""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aelab-report", description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", help="a Hydra multirun dir (holds multirun.yaml and the job dirs)")
    parser.add_argument("--no-recon", action="store_true", help="skip the reconstruction grids (no MNIST needed)")
    args = parser.parse_args(argv)
    # imported after parsing, so --help answers at once (torch and the rest take seconds)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from aelab.errors import AelabError
    from aelab.reports.sweep.build import build_report

    try:
        result = build_report(args.sweep_dir, recon=not args.no_recon)
    except AelabError as err:  # no such dir (2), no jobs (1), a dir that cannot be read or written (2)
        print(f"Error: {err}", file=sys.stderr)
        return err.exit_code
    print(f"{sum(result.counts.values())} jobs: {result.summary()}")
    for problem in result.problems:
        print(f"warning: {problem}", file=sys.stderr)
    for dir_ in result.outside:
        print(f"not part of this sweep: {dir_}", file=sys.stderr)
    print(f"report: {result.markdown}\n        {result.html}\nresults: {result.csv}")
    return 0
