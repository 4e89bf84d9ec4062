"""``aelab-results`` (also ``python scripts/results.py``): one results table, measured into RESULTS.md.

    aelab-results                                   # the main table: train every AE here (hours on a CPU)
    aelab-results --runs hinton2006=outputs/runs/hinton2006_cpu conv=outputs/runs/conv_gpu
    aelab-results --methods pca linear --threads 1  # only these rows; the table keeps the others
    aelab-results --table kinds --threads 1         # 5 ae= kinds x {MLP, conv}
    aelab-results --table kinds --networks mlp --kinds plain vae
    aelab-results --table pretraining --rows relu   # sigmoid +- layer-wise pretraining, ReLU
    aelab-results --quick [--table ...]             # smoke run (minutes) -> outputs/results_quick/

Writes RESULTS.md (--out; default docs/RESULTS.md, with --quick outputs/results_quick/RESULTS.md),
the table's JSON file (results.json, results_kinds.json, results_pretraining.json) and img/ beside
it. A row not given with --runs is trained into --train-dir/<row> (main), /kinds/<row> or
/pretraining/<row>; a completed run of the same config there is reused (--retrain trains again).
The rows measured now replace theirs in the table; the other rows, the other tables' sections of
RESULTS.md, and rows other runs write meanwhile stay. Exit 0: done; 1: a row failed; 2: bad input;
130: interrupted (the rows measured so far are written).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

from aelab.errors import AelabError, ConfigError
from aelab.reports.results.methods import KINDS, METHODS, NETWORKS, kind_name
from aelab.reports.results.runner import TableInterrupted, parse_runs, run_table
from aelab.reports.results.spec import RunSettings
from aelab.reports.results.tables import TABLES

QUICK_OUT = Path("outputs/results_quick/RESULTS.md")  # a smoke run never writes into docs/ unless --out says so
FULL_OUT = Path("docs/RESULTS.md")


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
    names = "; ".join(f"{name}: {', '.join(r.name for r in spec.measured_rows)}" for name, spec in TABLES.items())
    p = argparse.ArgumentParser(
        prog="aelab-results", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--table", choices=list(TABLES), default="main", help="which table (default main)")
    p.add_argument("--quick", action="store_true", help="smoke run: 5,000 training images, 2 epochs, subsets")
    p.add_argument("--rows", nargs="+", metavar="NAME", help=f"rows to measure (default: all). {names}")
    p.add_argument("--methods", nargs="+", choices=METHODS, metavar="METHOD", help="main: the same as --rows")
    p.add_argument("--networks", nargs="+", choices=list(NETWORKS), help="kinds: the rows of these networks")
    p.add_argument("--kinds", nargs="+", choices=list(KINDS), help="kinds: the rows of these ae= kinds")
    p.add_argument(
        "--runs",
        nargs="+",
        default=[],
        metavar="NAME=RUN_DIR",
        help="collect finished runs instead of training (NAME: a trained row of the table)",
    )
    p.add_argument(
        "--hardware", nargs="+", default=[], metavar="NAME=TEXT", help="where a collected run was trained, "
        "when its metrics.json does not say",
    )  # fmt: skip
    p.add_argument("--out", type=Path, default=None, help=f"markdown file (default {FULL_OUT}; --quick: {QUICK_OUT})")
    p.add_argument(
        "--train-dir", type=Path, default=None, help="where rows are trained (default outputs/results; --quick: "
        "outputs/results_quick/runs)",
    )  # fmt: skip
    p.add_argument("--override", nargs="+", default=[], metavar="KEY=VALUE", help="extra overrides for every run")
    p.add_argument("--retrain", action="store_true", help="train again even if a completed run exists")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--data-root", default=None, help="folder holding MNIST/raw (default $AELAB_DATA_DIR)")
    p.add_argument(
        "--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's; --quick: 1)"
    )
    return p


def selected_rows(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The row names --rows, --methods, --networks and --kinds select (None: every row); an option of
    another table is a ConfigError."""
    owners = {
        "--methods": (args.methods, "main"),
        "--networks": (args.networks, "kinds"),
        "--kinds": (args.kinds, "kinds"),
    }
    wrong = [option for option, (value, table) in owners.items() if value is not None and table != args.table]
    if wrong:
        raise ConfigError(f"{', '.join(wrong)}: not an option of --table {args.table}")
    if all(value is None for value in (args.rows, args.methods, args.networks, args.kinds)):
        return None
    rows = [*(args.rows or []), *(args.methods or [])]
    if args.networks is not None or args.kinds is not None:
        rows += [kind_name(n, k) for n in args.networks or NETWORKS for k in args.kinds or KINDS]
    return tuple(rows)


def _pairs(items: list[str], option: str) -> dict[str, str]:
    pairs = dict(item.split("=", 1) for item in items if "=" in item)
    if len(pairs) != len(items):
        raise ConfigError(f"{option} takes NAME=TEXT")
    return pairs


def run_settings(args: argparse.Namespace, argv: list[str]) -> RunSettings:
    """The RunSettings the options say; a bad option is a ConfigError."""
    return RunSettings(
        out=args.out or (QUICK_OUT if args.quick else FULL_OUT),
        rows=selected_rows(args),
        runs=parse_runs(args.runs),
        quick=args.quick,
        train_root=args.train_dir,
        data_root=args.data_root,
        device=args.device,
        extra_overrides=tuple(args.override),
        retrain=args.retrain,
        hardware=_pairs(args.hardware, "--hardware"),
        command=shlex.join(["python", "scripts/results.py", *argv]),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the table the options say; 0 done, 1 a row failed, 2 bad input or an unreadable file (one
    line), 130 interrupted (the rows measured so far are written)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    threads = args.threads or (1 if args.quick else None)
    if threads:
        import torch

        torch.set_num_threads(threads)
    spec = TABLES[args.table]
    try:
        settings = run_settings(args, argv)
        results: dict[str, Any] = run_table(spec, settings)
    except TableInterrupted as err:
        print(f"Interrupted: {err}", file=sys.stderr)
        return 130
    except AelabError as err:
        print(f"Error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:  # a second Ctrl-C: the rows written so far stay
        print("Interrupted (the rows measured so far are written)", file=sys.stderr)
        return 130
    print(f"results: {settings.out}\n         {Path(settings.out).parent / spec.file}")
    if results["failed"]:
        print(f"failed: {', '.join(results['failed'])} (see the log above and the table)", file=sys.stderr)
        return 1
    return 0


__all__ = ["FULL_OUT", "QUICK_OUT", "main", "positive_int", "run_settings", "selected_rows"]
