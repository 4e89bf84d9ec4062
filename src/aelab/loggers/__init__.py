"""Run loggers by name (``logging.loggers=[tensorboard,csv]``, ``[]`` for none): each a folder here
whose ``logger.py`` exports ``LOGGER``, a :class:`~aelab.loggers.base.RunLogger` built with
``(config, run_dir, start_step, best_val)``. The names come from the folders; a logger's module is
imported only when a run uses it. A logger with keys of its own has a ``config.py`` too (``CONFIG``,
a dataclass: ``logging.<name>.*``), which the config schema reads from the folder.
:func:`aelab.loggers.base.make_logger` puts the configured ones behind one
:class:`~aelab.loggers.base.Loggers`, which measures the per-step values once for all.

What every logger keeps to (the run's records are its checkpoint; a logger's files follow it): it
writes what describes a state of the run before that state is committed, and a resume drops
everything after the committed step, so no kill loses or doubles a value (see base.py).
"""

from __future__ import annotations

from typing import Any

from aelab.registry import Names, Registry

LOGGER_NAMES = Names("aelab.loggers", module="logger", order=("tensorboard", "csv"))
LOGGERS: Registry[Any] = Registry("logger", "aelab.loggers", "LOGGER", module="logger", order=LOGGER_NAMES.order)
# the loggers that declare keys of their own (``logging.<name>.*``): a ``config.py`` exporting ``CONFIG``,
# a dataclass made with aelab.keys.key() that never imports torch nor the logger's package
LOGGER_CONFIGS: Registry[Any] = Registry("logger", "aelab.loggers", "CONFIG", module="config", order=LOGGER_NAMES.order)

__all__ = ["LOGGERS", "LOGGER_CONFIGS", "LOGGER_NAMES"]
