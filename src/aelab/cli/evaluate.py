"""``aelab-evaluate <run dir>``: reload a run's best checkpoint, print and write its test metrics,
a reconstruction grid, the first layer's filters and the code space coloured by class
(``eval_test.json``, ``reconstructions.png``, ``features.png``, ``codes.png`` in the run dir, or in
``--out DIR``; a run dir that cannot be written, e.g. on a read-only file system, is refused in one
line before anything is measured: evaluate it with ``--out``).

    aelab-evaluate outputs/runs/<date>/<time> [--which best|last] [--n 16] [--device auto] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys

from aelab.errors import AelabError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="aelab-evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir")
    parser.add_argument("--which", choices=("best", "last"), default="best")
    parser.add_argument("--n", type=int, default=16, help="test images in the grid")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--out", default=None, help="write eval_test.json and the grids here (default: the run dir)")
    args = parser.parse_args(argv)
    # imported after parsing, so --help answers at once (torch and the rest take seconds)
    from aelab.hardware import resolve_device
    from aelab.runs import evaluate_run

    try:
        result = evaluate_run(args.run_dir, args.which, resolve_device(args.device), args.n, out_dir=args.out)
    except AelabError as err:
        print(f"Error: {err}", file=sys.stderr)
        return err.exit_code
    print(json.dumps({"test": result["test"]}, indent=2))
    print(f"reconstruction grid: {result['grid']}")
    print(f"first-layer features: {result['features']}")
    print(f"code space: {result['codes']}")
    return 0
