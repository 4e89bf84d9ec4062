"""``scripts/results.py``: the main results table (``aelab-results``'s options), or with ``--table`` the
kinds table or the pretraining table, each into its own sections of the same RESULTS.md.

    python scripts/results.py [aelab-results options]            # the main table (see aelab-results --help)
    python scripts/results.py --table kinds --threads 1          # 5 kinds × {MLP, conv} -> docs/RESULTS.md
    python scripts/results.py --table pretraining --threads 1    # sigmoid ± layer-wise pretraining, ReLU
    python scripts/results.py --table kinds --quick              # smoke run -> outputs/results_quick/RESULTS.md

--table kinds trains each ``ae=`` kind on the hinton2006 MLP (10 epochs) and the hinton2006_conv net
(3 epochs) into --train-dir/kinds/<network>_<kind>; --table pretraining trains hinton2006_sigmoid
without and with pretrain=layerwise (5 epochs per layer) and hinton2006, 20 epochs each, into
--train-dir/pretraining/<row>. A completed run of the same config there is reused (--retrain trains
again). RESULTS.md keeps the other tables' sections (rendered from their JSON files beside it, or
kept as they are).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aelab.errors import AelabError
from aelab.reports.results.render import TABLE_FILES
from aelab.reports.results.run import TableInterrupted

TABLES = ("main", "kinds", "pretraining")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (--threads)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    from aelab.reports.results.methods import KINDS, NETWORKS, PRETRAINING

    parser = argparse.ArgumentParser(
        prog="scripts/results.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--table",
        choices=TABLES,
        default="main",
        help="which table (default main: every other option is aelab-results', see --table main --help)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 5,000 training images, 2 epochs, subsets")
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS), help="kinds: networks")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS), help="kinds: the ae= kinds")
    parser.add_argument(
        "--rows", nargs="+", default=list(PRETRAINING), choices=list(PRETRAINING), help="pretraining: its rows"
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
        help="runs go to <train-dir>/kinds or /pretraining (default outputs/results; --quick: "
        "outputs/results_quick/runs)",
    )
    parser.add_argument(
        "--override", nargs="+", default=[], metavar="KEY=VALUE", help="extra Hydra overrides for every run"
    )
    parser.add_argument("--retrain", action="store_true", help="train again even if a completed run exists")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--data-root", default=None, help="folder holding MNIST/raw (default $AELAB_DATA_DIR)")
    parser.add_argument(
        "--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's; --quick: 1)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--table", choices=TABLES, default="main")
    known, rest = pre.parse_known_args(args_in)
    if known.table == "main":
        if "-h" in rest or "--help" in rest:
            print("scripts/results.py [--table main|kinds|pretraining] ...; --table kinds --help for the others.\n")
        from aelab.cli.results import main as main_table

        return main_table(rest)

    args = _parser().parse_args(args_in)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    threads = args.threads or (1 if args.quick else None)
    import torch

    if threads:
        torch.set_num_threads(threads)
    from aelab.reports.results.run import run_kinds, run_pretraining

    out = args.out or Path("outputs/results_quick/RESULTS.md" if args.quick else "docs/RESULTS.md")
    command = shlex.join(["python", "scripts/results.py", *args_in])
    common = {
        "quick": args.quick,
        "train_root": args.train_dir,
        "data_root": args.data_root,
        "device": args.device,
        "extra_overrides": args.override,
        "retrain": args.retrain,
        "command": command,
    }
    if args.table == "kinds":
        return run_table(lambda: run_kinds(out, networks=args.networks, kinds=args.kinds, **common), out, "kinds")
    return run_table(lambda: run_pretraining(out, names=args.rows, **common), out, "pretraining")


def run_table(measure: Callable[[], dict[str, Any]], out: Path, table: str) -> int:
    """Run ``measure()`` (one of the tables) and say how it ended: 0 done, 1 a row failed, 2 bad input
    or an unreadable file (one line), 130 interrupted (the rows measured so far are written)."""
    try:
        results = measure()
    except TableInterrupted as err:
        print(f"Interrupted: {err}", file=sys.stderr)
        return 130
    except (ValueError, AelabError) as err:
        print(f"Error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C: the rows written so far stay
        print("Interrupted (the rows measured so far are written)", file=sys.stderr)
        return 130
    print(f"results: {out}\n         {out.parent / TABLE_FILES[table]}")
    if results["failed"]:
        print(f"failed: {', '.join(results['failed'])} (see the log above and the table)", file=sys.stderr)
        return 1
    return 0


__all__ = ["main", "positive_int", "run_table"]
