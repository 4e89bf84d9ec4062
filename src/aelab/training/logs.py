"""A run's own files besides its records: ``train.log`` (the run's log; tracebacks go there only)
and ``.hydra/`` (the resolved config that runs, written first)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from aelab.files import open_log, write_text
from aelab.training.rundir import RunDir

trace = logging.getLogger("aelab.trace")  # tracebacks: to train.log only, never the console
trace.propagate = False


def write_hydra_files(run: RunDir, values: dict[str, Any]) -> None:
    """``.hydra/config.yaml`` (the resolved config that runs), ``overrides.yaml`` and, under Hydra,
    ``hydra.yaml``: what Hydra would write, written only once the run owns the directory."""
    write_text(run.hydra / "config.yaml", OmegaConf.to_yaml(OmegaConf.create(values)))
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        hydra_cfg = HydraConfig.get()
        write_text(run.hydra / "overrides.yaml", OmegaConf.to_yaml(hydra_cfg.overrides.task))
        write_text(run.hydra / "hydra.yaml", OmegaConf.to_yaml(OmegaConf.create({"hydra": hydra_cfg})))
    else:
        write_text(run.hydra / "overrides.yaml", "[]\n")


class _RunLogHandler(logging.StreamHandler):
    def handleError(self, record: logging.LogRecord) -> None:
        """A log line that cannot be written (a full disk) is dropped: the run's one-line error says why."""


def attach(path: Path) -> logging.Handler:
    """Also log to ``path`` (appending, never through a link); tracebacks go there only."""
    handler = _RunLogHandler(open_log(path))
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    package = logging.getLogger("aelab")
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    trace.addHandler(handler)
    return handler


def detach(handler: logging.Handler) -> None:
    logging.getLogger("aelab").removeHandler(handler)
    trace.removeHandler(handler)
    handler.close()


__all__ = ["attach", "detach", "trace", "write_hydra_files"]
