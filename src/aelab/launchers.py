"""Launchers whose sweeps survive a dying job.

* :class:`ProcessLauncher` (``hydra/launcher=joblib``): runs ``n_jobs`` jobs at once on this machine,
  each in its own process forked from the sweep process. joblib's process pool (loky) cannot do
  this: when one of its workers is killed it terminates the others and the whole multirun fails,
  so the scheduling here is a plain loop over ``multiprocessing`` processes. A job whose process
  dies (a signal, the OOM killer) is recorded as ``crashed``; the others go on, the next ones start,
  and the sweep ends with its report.
* :class:`SubmititLocalLauncher` / :class:`SubmititSlurmLauncher`: Hydra's submitit launchers, except
  that a job that never returns a result (killed, timed out) is recorded as ``crashed`` instead of
  aborting the multirun.

A crashed job's metrics.json (written from its last commit) gets ``status: crashed`` and the
signal; ``skip_done=true`` resumes it from its last checkpoint.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from hydra_plugins.hydra_submitit_launcher import submitit_launcher
from omegaconf import DictConfig, OmegaConf, open_dict

from aelab.config import to_config, to_dict
from aelab.files import read_json, write_json
from aelab.hardware import n_cpus
from aelab.training.rundir import RunDir

log = logging.getLogger("aelab.sweep")


def _job_config(context: HydraContext, config: DictConfig, overrides: Sequence[str], num: int) -> DictConfig:
    sweep_config = context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{num}"
        sweep_config.hydra.job.num = num
    return sweep_config


def record_crash(sweep_config: DictConfig, reason: str) -> JobReturn:
    """Mark a job whose process died as ``crashed`` in its metrics.json (unless another process
    still holds its directory) and give the sweeper an infinite objective, so the sweep goes on."""
    job_dir = Path(str(sweep_config.hydra.sweep.dir)) / str(sweep_config.hydra.sweep.subdir)
    run = RunDir(job_dir)
    try:
        if run.holder() is None:
            metrics = read_json(run.metrics) if run.metrics.exists() else None
            if not isinstance(metrics, dict):
                metrics = {
                    "history": [],
                    "epochs_completed": 0,
                    "test": None,
                    "val": None,
                    "hparams": _plain_task(sweep_config),
                }
            if metrics.get("status") != "completed":
                metrics.update(status="crashed", error=reason)
                write_json(run.metrics, metrics)
    except Exception as err:  # recording is best effort: the sweep must go on
        log.error("could not record job %s as crashed: %s", sweep_config.hydra.job.num, err)
    log.error("job %s crashed: %s (%s)", sweep_config.hydra.job.num, reason, job_dir)
    ret = JobReturn(
        overrides=[str(o) for o in sweep_config.hydra.overrides.task],
        working_dir=str(job_dir),
        task_name=str(sweep_config.hydra.job.name),
    )
    ret.status, ret.return_value = JobStatus.COMPLETED, math.inf
    return ret


def _plain_task(sweep_config: DictConfig) -> Any:
    try:
        task = OmegaConf.masked_copy(sweep_config, [str(k) for k in sweep_config if k != "hydra"])
        return to_dict(to_config(task))
    except Exception:
        return None


def _signal_name(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode} without a result"


def _child(
    conn: Any,
    context: HydraContext,
    config: DictConfig,
    task_function: TaskFunction,
    overrides: Sequence[str],
    num: int,
) -> None:
    """One job, in its own process: what Hydra's joblib launcher runs, result sent to the parent."""
    try:
        setup_globals()
        sweep_config = _job_config(context, config, overrides, num)
        from hydra.core.hydra_config import HydraConfig

        HydraConfig.instance().set_config(sweep_config)
        ret = run_job(
            hydra_context=context,
            config=sweep_config,
            task_function=task_function,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        if isinstance(ret.return_value, BaseException):  # exceptions may not pickle: keep their text
            ret.return_value = RuntimeError(f"{type(ret.return_value).__name__}: {ret.return_value}")
        conn.send(ret)
    except BaseException as err:
        conn.send(RuntimeError(f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


def _receive(reader: Any) -> Any:
    """A job's result, or None when its process died before sending all of it (killed mid-send)."""
    try:
        return reader.recv()
    except Exception:  # EOFError, a truncated pickle: no result
        return None


class ProcessLauncher(Launcher):
    """``n_jobs`` jobs at a time, one forked process per job (see the module doc). The other keys of
    joblib's launcher config are accepted and ignored, so existing overrides keep working."""

    def __init__(self, n_jobs: int = 2, **_joblib_options: Any) -> None:
        self.n_jobs = n_jobs
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.task_function, self.hydra_context = config, task_function, hydra_context

    def concurrency(self) -> int:
        n = int(self.n_jobs or -1)
        return n if n > 0 else max(1, n_cpus() + 1 + n)  # joblib's convention: -1 = one per CPU

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        assert self.config is not None and self.task_function is not None and self.hydra_context is not None
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        width = self.concurrency()
        log.info(
            "launching %d jobs, %d at a time, one process each; sweep dir: %s", len(job_overrides), width, sweep_dir
        )
        for i, overrides in enumerate(job_overrides):
            log.info("\t#%d : %s", initial_job_idx + i, " ".join(filter_overrides(overrides)))
        Singleton.get_state()  # (forked children inherit the singletons as they are)
        ctx = multiprocessing.get_context("fork")
        pending = deque(enumerate(job_overrides))
        running: dict[int, tuple[Any, Any, list[Any]]] = {}  # index -> (process, reader, [result])
        results: dict[int, JobReturn] = {}
        stopping: list[str] = []

        def stop(signum: int, frame: Any) -> None:  # forward to the jobs, launch no more
            stopping.append(signal.Signals(signum).name)
            for process, _, _ in running.values():
                if process.is_alive():
                    os.kill(process.pid, signum)

        previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while running or (pending and not stopping):
                while pending and not stopping and len(running) < width:
                    i, overrides = pending.popleft()
                    reader, writer = ctx.Pipe(duplex=False)
                    process = ctx.Process(
                        target=_child,
                        name=f"aelab-job-{initial_job_idx + i}",
                        args=(
                            writer,
                            self.hydra_context,
                            self.config,
                            self.task_function,
                            overrides,
                            initial_job_idx + i,
                        ),
                    )
                    process.start()
                    writer.close()
                    running[i] = (process, reader, [])
                waitables = [p.sentinel for p, _, _ in running.values()] + [
                    r for _, r, got in running.values() if not got
                ]
                ready = set(multiprocessing.connection.wait(waitables))
                for i, (process, reader, got) in list(running.items()):
                    if reader in ready and not got:
                        got.append(_receive(reader))
                    if process.sentinel in ready or not process.is_alive():
                        if not got and reader.poll():
                            got.append(_receive(reader))
                        process.join()
                        reader.close()
                        del running[i]
                        results[i] = self._result(
                            i, initial_job_idx, job_overrides[i], got[0] if got else None, process.exitcode
                        )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if stopping:
            log.error(
                "sweep stopped by %s: %d of %d jobs ran; complete it with skip_done=true",
                stopping[0],
                len(results),
                len(job_overrides),
            )
            raise KeyboardInterrupt
        return [results[i] for i in range(len(job_overrides))]

    def _result(self, i: int, initial: int, overrides: Sequence[str], got: Any, exitcode: int | None) -> JobReturn:
        assert self.config is not None and self.hydra_context is not None
        if isinstance(got, JobReturn):
            return got
        sweep_config = _job_config(self.hydra_context, self.config, overrides, initial + i)
        reason = (
            f"the job's process was {_signal_name(exitcode)}"
            if not isinstance(got, BaseException)
            else f"the job's process failed: {got}"
        )
        return record_crash(sweep_config, reason)


class _TolerantResults:
    """Mix-in for Hydra's submitit launchers: a job that never returns a result is recorded as
    crashed (:func:`record_crash`) instead of raising out of the multirun."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        import submitit

        original = submitit.AutoExecutor.map_array
        launcher: Any = self

        def map_array(executor: Any, fn: Any, *args: Any) -> list[Any]:
            jobs = original(executor, fn, *args)
            return [
                _Results(job, launcher, overrides, initial_job_idx + k)
                for k, (job, overrides) in enumerate(zip(jobs, job_overrides))
            ]

        submitit.AutoExecutor.map_array = map_array  # type: ignore[method-assign, assignment]
        try:
            return super().launch(job_overrides, initial_job_idx)  # type: ignore[misc]
        finally:
            submitit.AutoExecutor.map_array = original  # type: ignore[method-assign]


class _Results:
    """A submitted job whose ``results()`` never raises: a lost job becomes a crashed JobReturn."""

    def __init__(self, job: Any, launcher: Any, overrides: Sequence[str], num: int) -> None:
        self.job, self.launcher, self.overrides, self.num = job, launcher, overrides, num

    def results(self) -> list[JobReturn]:
        try:
            return list(self.job.results())
        except Exception as err:  # killed, timed out, or its result file lost: the sweep goes on
            detail = str(err).strip().splitlines()[0][:160] if str(err).strip() else ""
            sweep_config = _job_config(self.launcher.hydra_context, self.launcher.config, self.overrides, self.num)
            return [record_crash(sweep_config, f"the job returned no result ({type(err).__name__}: {detail})")]


class SubmititLocalLauncher(_TolerantResults, submitit_launcher.LocalLauncher):
    pass


class SubmititSlurmLauncher(_TolerantResults, submitit_launcher.SlurmLauncher):
    pass


__all__ = ["ProcessLauncher", "SubmititLocalLauncher", "SubmititSlurmLauncher", "record_crash"]
