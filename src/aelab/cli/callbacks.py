"""``PreflightCallback``: refuse before Hydra creates or touches anything.

Hydra creates the run directory (and would write ``.hydra/`` and a log there) before it calls
the task function, so a refusal inside ``train()`` would come too late: a bad value would leave a
directory behind, and a run refused for an occupied directory would already have changed it.
This callback runs first (``on_run_start`` / ``on_multirun_start``, registered first in
``conf/config.yaml``) and makes the same checks ``train()`` makes, read-only:

* a single run: the config (every key and rule), the run directory's plan (a new run, a resume, a
  skip, or a refusal), the dataset's files — all without importing torch — and then the memory
  the run needs on its device. It also fixes ``hydra.run.dir`` to an
  absolute path, and to the resumed run's own directory on ``resume=``, so a resume leaves no
  extra directory;
* a sweep: a sweep directory that holds another sweep is refused (``skip_done=true`` with the
  same command line completes it instead), and the directory is locked for the sweep's life.

Either way, a directory that cannot be created (a name longer than the file system allows, a
read-only file system, no permission, a file where a folder belongs) is refused here, before Hydra
creates any of its parents. A refusal is one ``Error:`` line on stderr and exit 2.
"""

from __future__ import annotations

import copy
import fcntl
import os
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from aelab.cli.startup import fail, release_stderr
from aelab.config import check, override_key, to_config, to_dict
from aelab.config.sweep import axes_of
from aelab.data import check_data
from aelab.errors import AelabError, RunDirError
from aelab.files import FILE_MODE, check_can_create, os_error
from aelab.training.rundir import RunDir, plan

_SWEEP_LOCK: list[int] = []  # the sweep dir's lock, held until the process ends


def task_config(config: DictConfig) -> DictConfig:
    task = copy.deepcopy(config)
    with read_write(task), open_dict(task):
        del task["hydra"]
    return task


class PreflightCallback(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        release_stderr()  # composition is over: stderr writes straight through from here on
        try:
            cfg = to_config(task_config(config))
            check(cfg)  # every key and rule, without torch
            run_dir = Path(cfg.resume if cfg.resume else str(config.hydra.run.dir)).expanduser().absolute()
            with read_write(config.hydra.run):
                config.hydra.run.dir = str(run_dir)
            decision = plan(run_dir, to_dict(cfg), resume=bool(cfg.resume), skip_done=cfg.skip_done)
            if decision.action == "fresh":
                check_data(cfg.data)
            from aelab.hardware import resolve_device  # torch: the run is going to start

            check(cfg, resolve_device(cfg.device))  # the memory it needs on its device
        except AelabError as err:
            fail(err)
        except OSError as err:  # Hydra would only warn about it, then fail creating the directory
            fail(os_error(err, doing="use"))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        release_stderr()

        try:
            sweep_dir = Path(str(config.hydra.sweep.dir)).expanduser().absolute()
            with read_write(config.hydra.sweep):
                config.hydra.sweep.dir = str(sweep_dir)
            check_can_create(sweep_dir)  # mkdir(parents=True) would create the parents of a bad name
            _check_sweep_dir(sweep_dir, config)
            _lock_sweep_dir(sweep_dir)
            _name_jobs_by_what_they_sweep(config)
            _plain_optuna_logs(config)
        except AelabError as err:
            fail(err)
        except OSError as err:
            fail(os_error(err, doing="use"))


def _command_line(config: Any) -> tuple[list[str], dict[str, str]]:
    task = OmegaConf.select(config, "hydra.overrides.task", default=None) or []
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None) or {}
    keep = [str(o) for o in task if override_key(str(o)) != "skip_done"]
    return sorted(keep), {str(k): str(v) for k, v in params.items()}


def _check_sweep_dir(sweep_dir: Path, config: DictConfig) -> None:
    """Refuse a sweep dir that holds another sweep; ``skip_done=true`` and the same command line
    (task overrides and sweeper params) complete the sweep that is there."""
    try:
        entries = [p.name for p in sweep_dir.iterdir() if p.name != ".lock"]
    except FileNotFoundError:
        return
    except OSError as err:  # a file where the folder belongs, a name too long, no permission
        raise os_error(err, sweep_dir, "use") from None
    holder = _holder(sweep_dir)
    if holder is not None:
        raise RunDirError(
            f"{sweep_dir} is in use by another sweep (pid {holder or '?'}); wait for it to end, or "
            "choose another hydra.sweep.dir"
        )
    if not entries:
        return
    where = f"{sweep_dir} already holds a sweep"
    previous_path = sweep_dir / "multirun.yaml"
    if not bool(OmegaConf.select(config, "skip_done", default=False)):
        raise RunDirError(
            f"{where}; complete it with skip_done=true and the same overrides, rebuild its report "
            f"with aelab-report {sweep_dir}, or choose another hydra.sweep.dir"
        )
    try:
        previous = OmegaConf.load(previous_path)
    except Exception:
        raise RunDirError(
            f"{where} whose command line cannot be read ({previous_path.name} is missing or "
            "damaged); choose another hydra.sweep.dir"
        ) from None
    (old_task, old_params), (new_task, new_params) = _command_line(previous), _command_line(config)
    if (old_task, old_params) != (new_task, new_params):
        was = " ".join(old_task + [f"{k}={v}" for k, v in old_params.items()])
        now = " ".join(new_task + [f"{k}={v}" for k, v in new_params.items()])
        raise RunDirError(
            f"{where} of another grid ({was}), not this one ({now}); skip_done=true completes "
            "only the same sweep: choose another hydra.sweep.dir"
        )


EXCLUDE = "hydra.job.config.override_dirname.exclude_keys"


def _name_jobs_by_what_they_sweep(config: DictConfig) -> None:
    """Exclude the sweep's constant overrides from ``hydra.job.override_dirname``, so each job dir
    (``hydra.sweep.subdir``) is named by the values it sweeps. Added to ``hydra.overrides.hydra``,
    from which every job's config is composed."""
    hydra_overrides = list(OmegaConf.select(config, "hydra.overrides.hydra", default=None) or [])
    if any(override_key(str(o)) == EXCLUDE for o in hydra_overrides):
        return  # the user chose the exclusions
    task = [str(o) for o in OmegaConf.select(config, "hydra.overrides.task", default=None) or []]
    swept = axes_of(config)
    constant = sorted({override_key(o) for o in task} - set(swept))
    with read_write(config.hydra.overrides):
        config.hydra.overrides.hydra.append(f"{EXCLUDE}=[{','.join(constant)}]")


def _plain_optuna_logs(config: DictConfig) -> None:
    """Optuna logs through its own handler, in colour even into a file; send its messages through
    the console's plain handler instead."""
    if "optuna" not in str(OmegaConf.select(config, "hydra.sweeper._target_", default="")).lower():
        return
    import optuna

    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()


def _holder(folder: Path) -> int | None:
    return RunDir(folder).holder()


def _lock_sweep_dir(sweep_dir: Path) -> None:
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(sweep_dir / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    except OSError as err:
        raise os_error(err, sweep_dir / ".lock") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise RunDirError(
            f"{sweep_dir} is in use by another sweep; wait for it to end, or choose another hydra.sweep.dir"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass
    _SWEEP_LOCK.append(fd)


__all__ = ["PreflightCallback", "task_config"]
