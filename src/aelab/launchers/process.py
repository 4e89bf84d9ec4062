"""``ProcessLauncher`` (``hydra/launcher=joblib``): ``n_jobs`` jobs at once on this machine, each in
its own process forked from the sweep's process.

joblib's process pool (loky) cannot do this: when one of its workers is killed it terminates the
others and the whole multirun fails, so the scheduling here is a plain loop over ``multiprocessing``
processes. A job whose process dies (a signal, the OOM killer) is recorded as ``crashed``; the
others go on, the next ones start, and the sweep ends with its report. SIGINT/SIGTERM to the sweep
stops it (:mod:`aelab.launchers.stop`): the running jobs get SIGTERM, none starts after.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from aelab.hardware import n_cpus
from aelab.launchers.job import stop_before_run, take_job_signals
from aelab.launchers.records import job_config, job_dir, run_status, settle
from aelab.launchers.stop import SweepStop

log = logging.getLogger("aelab.sweep")


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
    take_job_signals()  # not the sweep's handlers, which this process inherited
    try:
        setup_globals()
        sweep_config = job_config(context, config, overrides, num)
        from hydra.core.hydra_config import HydraConfig

        HydraConfig.instance().set_config(sweep_config)
        stop_before_run()
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
        running: dict[int, tuple[Any, Any, list[Any]]] = {}  # index -> (process, reader, [result])

        def forward(sig: signal.Signals) -> None:
            for process, _, _ in running.values():
                if process.is_alive():
                    os.kill(process.pid, sig)

        # the first stop: SIGTERM to each job (a terminal's SIGINT reached them already; a SIGTERM to
        # the sweep did not); a second one: SIGINT, which stops a run at once
        with SweepStop(on_stop=lambda: forward(signal.SIGTERM), on_again=lambda: forward(signal.SIGINT)) as stop:
            results = self._run_all(job_overrides, initial_job_idx, width, running, stop)
        if stop.requested:
            dirs = [
                job_dir(job_config(self.hydra_context, self.config, o, initial_job_idx + i))
                for i, o in enumerate(job_overrides)
            ]
            raise stop.stopped([run_status(d)[0] if i in results else None for i, d in enumerate(dirs)])
        return [results[i] for i in range(len(job_overrides))]

    def _run_all(
        self,
        job_overrides: Sequence[Sequence[str]],
        initial: int,
        width: int,
        running: dict[int, tuple[Any, Any, list[Any]]],
        stop: SweepStop,
    ) -> dict[int, JobReturn]:
        ctx = multiprocessing.get_context("fork")
        pending = deque(enumerate(job_overrides))
        results: dict[int, JobReturn] = {}
        while running or (pending and not stop.requested):
            while pending and not stop.requested and len(running) < width:
                i, overrides = pending.popleft()
                reader, writer = ctx.Pipe(duplex=False)
                args = (writer, self.hydra_context, self.config, self.task_function, overrides, initial + i)
                process = ctx.Process(target=_child, name=f"aelab-job-{initial + i}", args=args)
                process.start()
                writer.close()
                running[i] = (process, reader, [])
            waitables = [p.sentinel for p, _, _ in running.values()] + [r for _, r, got in running.values() if not got]
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
                        i, initial, job_overrides[i], got[0] if got else None, process.exitcode, stop
                    )
        return results

    def _result(
        self, i: int, initial: int, overrides: Sequence[str], got: Any, exitcode: int | None, stop: SweepStop
    ) -> JobReturn:
        assert self.config is not None and self.hydra_context is not None
        sweep_config = job_config(self.hydra_context, self.config, overrides, initial + i)
        if isinstance(got, JobReturn):
            return settle(sweep_config, got, "", stop.requested)
        reason = (
            f"the job's process was {_signal_name(exitcode)}"
            if not isinstance(got, BaseException)
            else f"the job's process failed: {got}"
        )
        return settle(sweep_config, None, reason, stop.requested)


__all__ = ["ProcessLauncher"]
