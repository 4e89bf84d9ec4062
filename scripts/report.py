#!/usr/bin/env python
"""Build (or rebuild) a sweep's report: results.csv, report.md, report.html in the sweep dir.

    python scripts/report.py outputs/multirun/2024-05-01/12-00-00

Works on a finished, partial or interrupted sweep; failed and missing jobs are listed in the report
and do not change the exit status. Exit 2: the directory does not exist; 1: it holds no jobs.
"""

from __future__ import annotations

import argparse
import logging
import sys

from aelab.report import NoJobsError, build_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", help="a Hydra multirun dir (holds multirun.yaml and numbered job dirs)")
    parser.add_argument("--no-recon", action="store_true", help="skip the reconstruction grids (no MNIST needed)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = build_report(args.sweep_dir, recon=not args.no_recon)
    except FileNotFoundError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 2
    except NoJobsError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    print(f"{len(result.counts) and sum(result.counts.values())} jobs: {result.summary()}")
    for problem in result.problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(f"report: {result.markdown}\n        {result.html}\nresults: {result.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
