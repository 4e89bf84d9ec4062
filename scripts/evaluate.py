#!/usr/bin/env python
"""Reload a run's best checkpoint, print and write its test metrics and a reconstruction grid.

    python scripts/evaluate.py outputs/runs/<date>/<time> [--which best|last] [--n 16]

Writes <run dir>/eval_test.json and <run dir>/reconstructions.png.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from aelab.checkpoint import write_json
from aelab.data import MissingDataError, load_mnist
from aelab.evaluate import evaluate
from aelab.images import save_reconstruction_grid
from aelab.runs import load_run_model
from aelab.train import resolve_device


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--which", choices=("best", "last"), default="best")
    parser.add_argument("--n", type=int, default=16, help="test digits in the grid")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    try:
        device = resolve_device(args.device)
        model, config = load_run_model(args.run_dir, args.which, device)
        data = load_mnist(config["data"]["root"], download=False, split_seed=config["data"]["split_seed"],
                          limit=1, eval_limit=config["data"]["eval_limit"], device=device)
    except (FileNotFoundError, MissingDataError, ValueError) as err:
        print(f"Error: {err}", file=sys.stderr)
        return 2
    metrics = evaluate(model, data.test_x, config["trainer"]["eval_batch_size"])
    grid = save_reconstruction_grid(model, data.test_x[: args.n], args.run_dir / "reconstructions.png")
    write_json(args.run_dir / "eval_test.json", {"checkpoint": args.which, "test": metrics})
    print(json.dumps({"test": metrics}, indent=2))
    print(f"reconstruction grid: {grid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
