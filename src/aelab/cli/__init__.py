"""The command-line tools. Entry points import the heavy modules inside a guard, so Ctrl-C during
start-up (torch and Hydra take seconds to import) ends with one line, not a traceback."""

from __future__ import annotations

import importlib
import signal
import sys

from aelab import faults


def _run(module: str) -> None:
    try:
        faults.point("startup")  # where a test stops the process, to Ctrl-C it inside the guard
        if module != "train":  # they import torch: with Ctrl-C held (aelab.hardware.import_torch says why)
            from aelab.hardware import import_torch

            import_torch()
        main = importlib.import_module(f"aelab.cli.{module}").main
        code = main()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("Interrupted.", file=sys.stderr)
        sys.exit(130)
    except SystemExit as done:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C while the interpreter shuts down changes nothing
        raise done
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
