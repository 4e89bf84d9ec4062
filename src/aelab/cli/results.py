"""The Results table: PCA-30, a linear AE, the hinton2006 MLP and the conv AE (30-d codes) against
Hinton & Salakhutdinov (2006): test reconstruction error, linear probe, P@10, transfer.

    aelab-results                      # train every AE here (hours on a CPU) -> docs/RESULTS.md
    aelab-results --runs hinton2006=outputs/runs/hinton2006_cpu conv=outputs/runs/conv_gpu
    aelab-results --methods pca linear hinton2006 --runs hinton2006=outputs/runs/hinton2006_cpu
    aelab-results --quick              # CPU smoke run (minutes) -> outputs/results_quick/RESULTS.md

Writes RESULTS.md, results.json and img/results_<method>.png (the same 16 test digits) to --out's
folder. AEs not given with --runs are trained into --train-dir/<method> (a completed run there with
the same config is reused; --retrain trains again).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

from aelab.reports.results import AE_METHODS, METHODS, parse_runs, run_results
from aelab.reports.results.cli import positive_int, run_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CPU smoke run: 5,000 training images, 2 epochs, subsets for the measurements",
    )
    parser.add_argument(
        "--runs",
        nargs="+",
        default=[],
        metavar="NAME=RUN_DIR",
        help=f"collect finished runs instead of training; NAME one of: {', '.join(AE_METHODS)}",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(METHODS),
        choices=METHODS,
        metavar="METHOD",
        help=f"rows to produce (default: all of {', '.join(METHODS)}; --runs adds its own)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="markdown file (default docs/RESULTS.md; --quick: outputs/results_quick/RESULTS.md)",
    )
    parser.add_argument(
        "--train-dir",
        type=Path,
        default=None,
        help="where AEs are trained (default outputs/results; --quick: outputs/results_quick/runs)",
    )
    parser.add_argument(
        "--override",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="extra Hydra overrides for every AE trained here, e.g. trainer.epochs=5",
    )
    parser.add_argument("--retrain", action="store_true", help="train again even if a completed run exists")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--data-root", default=None, help="folder holding MNIST/raw (default $AELAB_DATA_DIR)")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="torch CPU threads (default: torch's; --quick: 1, much faster on a busy CPU)",
    )
    parser.add_argument(
        "--hardware",
        nargs="+",
        default=[],
        metavar="NAME=TEXT",
        help="what a collected run was trained on, when its metrics.json does not say",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    threads = args.threads or (1 if args.quick else None)
    if threads:
        import torch

        torch.set_num_threads(threads)
    out = args.out or Path("outputs/results_quick/RESULTS.md" if args.quick else "docs/RESULTS.md")
    train_dir = args.train_dir or Path("outputs/results_quick/runs" if args.quick else "outputs/results")

    def measure() -> dict[str, Any]:
        runs = parse_runs(args.runs)
        hardware = dict(item.split("=", 1) for item in args.hardware if "=" in item)
        if len(hardware) != len(args.hardware):
            raise ValueError("--hardware takes NAME=TEXT")
        return run_results(
            out,
            methods=args.methods,
            runs=runs,
            quick=args.quick,
            train_root=train_dir,
            data_root=args.data_root,
            device=args.device,
            extra_overrides=args.override,
            retrain=args.retrain,
            hardware=hardware,
            command=shlex.join(["python", "scripts/results.py", *(sys.argv[1:] if argv is None else argv)]),
        )

    return run_table(measure, out, "main")
