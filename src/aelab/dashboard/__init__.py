"""Run loggers: the hooks the training loop calls. TensorBoard lives in :mod:`aelab.dashboard.tensorboard`."""

from aelab.dashboard.base import NullLogger, RunLogger, make_logger

__all__ = ["NullLogger", "RunLogger", "make_logger"]
