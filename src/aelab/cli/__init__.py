"""The command-line tools. Entry points import the heavy modules inside a guard, so Ctrl-C during
start-up (torch and Hydra take seconds to import) ends with one line, not a traceback."""

from __future__ import annotations

import importlib
import sys


def _run(module: str) -> None:
    try:
        main = importlib.import_module(f"aelab.cli.{module}").main
        code = main()
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)


def train() -> None:
    """``aelab-train`` / ``python -m aelab``."""
    _run("train")


def evaluate() -> None:
    """``aelab-evaluate``."""
    _run("evaluate")


def report() -> None:
    """``aelab-report``."""
    _run("report")


def results() -> None:
    """``aelab-results``."""
    _run("results")


def export_gradflow() -> None:
    """``aelab-export-gradflow``."""
    _run("export_gradflow")
