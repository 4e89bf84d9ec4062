"""``BasicLauncher`` (Hydra's default, ``hydra/launcher=basic``): the jobs one after another in the
sweep's own process, as Hydra's basic launcher runs them, with a Ctrl-C that stops the sweep.

While a job's run trains, train() takes the signal (it commits its step and ends ``interrupted``)
and says so (:func:`aelab.training.interrupt.caught`); the launcher then starts no more jobs. A
signal between runs raises at once, as Python's own Ctrl-C does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

from aelab.launchers.records import job_dir, run_status
from aelab.launchers.stop import SweepStop
from aelab.training import interrupt

log = logging.getLogger("aelab.sweep")


class BasicLauncher(Launcher):
    """Jobs one after another in the sweep's process; SIGINT/SIGTERM stops the sweep (exit 130)."""

    def __init__(self) -> None:
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.task_function, self.hydra_context = config, task_function, hydra_context

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        assert self.config is not None and self.task_function is not None and self.hydra_context is not None
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        log.info("Launching %d jobs locally", len(job_overrides))
        runs: list[JobReturn] = []
        dirs: list[Path] = []
        before = 0
        with SweepStop(raise_at_once=True) as stop:
            try:
                for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
                    log.info("\t#%d : %s", idx, " ".join(filter_overrides(overrides)))
                    sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
                    with open_dict(sweep_config):
                        sweep_config.hydra.job.id = idx
                        sweep_config.hydra.job.num = idx
                    dirs.append(job_dir(sweep_config))
                    before = len(interrupt.caught())
                    runs.append(
                        run_job(
                            hydra_context=self.hydra_context,
                            task_function=self.task_function,
                            config=sweep_config,
                            job_dir_key="hydra.sweep.dir",
                            job_subdir_key="hydra.sweep.subdir",
                        )
                    )
                    configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
                    for name in interrupt.caught()[before:]:  # the run took the signal (train() held it)
                        stop.note(name)
                    if stop.requested:
                        break
            except KeyboardInterrupt:  # between runs, or a second Ctrl-C during one
                for name in interrupt.caught()[before:]:
                    stop.note(name)
                if stop.requested is None:
                    stop.note("SIGINT")
                configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        if stop.requested:
            statuses = [run_status(d)[0] for d in dirs]
            raise stop.stopped(statuses + [None] * (len(job_overrides) - len(dirs)))
        return runs


__all__ = ["BasicLauncher"]
