"""Run loggers by name: ``logging.loggers=[tensorboard]`` (the default) or ``[]`` for none.

A logger is a :class:`RunLogger` subclass registered in :data:`LOGGERS`, built with
``(config, run_dir, start_step, best_val)``; :func:`make_logger` puts the configured ones behind
:class:`Loggers`, which measures the per-step values once for all of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aelab.loggers.base import Loggers, NullLogger, RunLogger
from aelab.loggers.csv import CSVLogger


def _tensorboard(*args: Any) -> RunLogger:
    from aelab.loggers.tensorboard import TensorBoardLogger  # TensorBoard is imported only when used

    return TensorBoardLogger(*args)


LOGGERS: dict[str, Callable[..., RunLogger]] = {
    "tensorboard": _tensorboard,
    "csv": CSVLogger,
}


def make_logger(config: Any, run_dir: str | Path, start_step: int = 0, best_val: float = math.inf) -> RunLogger:
    """The loggers ``config.logging.loggers`` names, behind one :class:`Loggers` (a NullLogger for none)."""
    loggers = [LOGGERS[name](config, Path(run_dir), start_step, best_val) for name in config.logging.loggers]
    return Loggers(loggers, config.logging, config.trainer, start_step) if loggers else NullLogger()


__all__ = ["LOGGERS", "Loggers", "NullLogger", "RunLogger", "make_logger"]
