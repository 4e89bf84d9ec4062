"""``aelab-export-gradflow <run dir | sweep dir>``: the gradient-flow chart as a PNG.

Reads the TensorBoard event files under the folder (every ``tb/`` below it is one run) and plots
``grad_norm/<layer>`` (‖∂E/∂W‖ of each weight layer) against the training step on a log axis, one
line per layer from the first layer (dark) to the last (light), one panel per run, all panels on
one y-scale. ``--prefix delta_norm/`` plots the error signals ‖δ‖ instead, ``--prefix
saturation/`` the saturated/dead-unit fractions (linear axis).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="aelab-export-gradflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path, help="a run dir, its tb/ dir, or a sweep dir of runs")
    parser.add_argument("--out", type=Path, default=None, help="PNG to write (default: <path>/gradflow.png)")
    parser.add_argument("--prefix", default="grad_norm/", help="scalar tag prefix to plot (default grad_norm/)")
    args = parser.parse_args(argv)
    # imported after parsing, so --help answers at once (torch and the rest take seconds)
    from aelab.reports.gradflow_chart import export

    try:
        out, n = export(args.path, args.out, args.prefix)
    except FileNotFoundError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({n} run{'s' if n > 1 else ''})")
    return 0
