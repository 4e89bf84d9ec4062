"""``ReportCallback``: every Hydra multirun ends with its report in the sweep dir.

Registered in conf/config.yaml as ``hydra.callbacks.report``. It never raises: a report that
cannot be built is logged as an error (with the command to rebuild it), the sweep's outcome stands.
Turn it off for one sweep with ``hydra.callbacks.report.enabled=false``.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("aelab.report")

# Hydra unpickles its callbacks in every job process (joblib, submitit) before composing the job's
# config, so this import is the one hook that runs there first. conf/hydra/launcher/*.yaml share
# their names with the launcher plugins' schemas on purpose (they only change defaults), which
# Hydra validates and announces with a deprecation warning in every job; silence just that one.
warnings.filterwarnings("ignore", message=r"\s*'hydra/launcher/\w+' is validated against ConfigStore schema")


class ReportCallback(Callback):
    def __init__(self, enabled: bool = True, recon: bool = True) -> None:
        self.enabled = enabled
        self.recon = recon

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Save the sweep's config as multirun.yaml when the sweeper does not (Optuna does not):
        the report reads the command line and the number of jobs from it."""
        if not self.enabled:
            return
        try:
            sweep_dir = Path(str(config.hydra.sweep.dir))
            if "BasicSweeper" not in str(OmegaConf.select(config, "hydra.sweeper._target_", default="")):
                sweep_dir.mkdir(parents=True, exist_ok=True)
                OmegaConf.save(config, sweep_dir / "multirun.yaml")
        except Exception as err:
            log.error("could not save multirun.yaml: %s: %s", type(err).__name__, err)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.enabled:
            return
        sweep_dir = "<sweep dir>"
        try:
            from aelab.reports.sweep.build import build_report  # matplotlib & co.: only when a sweep ends

            sweep_dir = str(config.hydra.sweep.dir)
            result = build_report(sweep_dir, recon=self.recon)
            log.info("sweep report (%s): %s | %s | %s", result.summary(), result.markdown, result.html, result.csv)
        except Exception:  # the report must never turn a finished sweep into a failed one
            log.exception("could not build the sweep report; rebuild it with: python scripts/report.py %s", sweep_dir)


__all__ = ["ReportCallback"]
