"""aelab's submitit launchers (``hydra/launcher=submitit_local|submitit_slurm``): Hydra's, plus

* a job that never returns a result (killed, out of time retries) is recorded ``crashed`` instead
  of aborting the multirun (:func:`aelab.launchers.records.settle`);
* with ``skip_done=true`` the sweep's process collects the jobs whose runs are complete itself
  (nothing is submitted for them), and submits only the others;
* Ctrl-C/SIGTERM stops the sweep (:mod:`aelab.launchers.stop`): the jobs get SIGTERM until they end
  (they commit their step: ``interrupted``), queued ones are cancelled, the sweep exits 130;
* in the job's process, the time-limit warning (submitit's signal, ``signal_delay_s`` before the
  limit) stops the run like SIGTERM: it commits its step, then submitit's own requeue resubmits the
  job (``max_num_timeout`` times), and the requeued job resumes its run from checkpoints/last.pt.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from omegaconf import DictConfig, OmegaConf, open_dict

from aelab.errors import AelabError, ConfigError
from aelab.launchers.job import JobStopped, stop_before_run, take_job_signals
from aelab.launchers.records import first_line, job_config, job_dir, run_status, settle, task_values
from aelab.launchers.stop import SweepStop
from aelab.training import interrupt
from aelab.training.rundir import plan

log = logging.getLogger("aelab.sweep")
RESIGNAL_S = 3.0  # while stopping: SIGTERM again to jobs still setting up (their handlers come late)


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """SIGINT held back while jobs are submitted: a submission is not cut in half, and the processes
    started meanwhile (submitit's local job controllers) inherit it blocked, so a terminal's Ctrl-C
    reaches them only as the SIGTERM the sweep sends. A SIGINT that comes meanwhile is delivered after."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class SubmititJobs:
    """Mixed in before Hydra's ``BaseSubmititLauncher`` subclasses (see the module doc)."""

    _EXECUTOR: str
    params: dict[str, Any]
    config: DictConfig | None
    hydra_context: Any
    task_function: Any
    _attempt = 0  # this job's resubmissions (checkpoint() counts them on the copy it resubmits)

    # --- the sweep's process ------------------------------------------------------------------

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        assert self.config is not None and self.hydra_context is not None
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if "mode" in self.config.hydra.sweep:
            os.chmod(sweep_dir, mode=int(str(self.config.hydra.sweep.mode), 8))
        jobs = [(initial_job_idx + i, list(o)) for i, o in enumerate(job_overrides)]
        configs = {num: job_config(self.hydra_context, self.config, o, num) for num, o in jobs}
        log.info("Submitit '%s' sweep output dir : %s", self._EXECUTOR, sweep_dir)
        for num, overrides in jobs:
            log.info("\t#%d : %s", num, " ".join(filter_overrides(overrides)))
        results: dict[int, JobReturn] = {}
        self._submitted: list[Any] = []
        with SweepStop() as stop, self._polling():
            self._prepare(configs, stop)
            todo = []
            for num, overrides in jobs:
                done = self._collect_completed(configs[num]) if not stop.requested else None
                if done is None:
                    todo.append((num, overrides))
                else:
                    results[num] = done
            if todo and not stop.requested:
                for (num, _), job in zip(todo, self._submit(todo)):
                    results[num] = self._result(job, configs[num], stop)
        if stop.requested:
            raise stop.stopped([run_status(job_dir(configs[num]))[0] for num, _ in jobs])
        return [results[num] for num, _ in jobs]

    def _collect_completed(self, sweep_config: DictConfig) -> JobReturn | None:
        """A job whose run is complete (``skip_done=true``), run here as its job would run it (train()
        finds the run complete and reports it); None for a job that has work to do."""
        values = task_values(sweep_config)
        if not values or not values.get("skip_done"):
            return None
        try:
            if plan(job_dir(sweep_config), values, resume=False, skip_done=True).action != "skip":
                return None
        except AelabError:  # the job says what is wrong, in its own log and record
            return None
        assert self.config is not None
        ret = run_job(
            hydra_context=self.hydra_context,
            task_function=self.task_function,
            config=sweep_config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return ret

    def _executor(self) -> Any:
        """submitit's executor for ``self.params`` (as Hydra's launcher builds it)."""
        import submitit
        from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

        params = dict(self.params)
        init = {"folder": params.pop("submitit_folder")}
        if "max_num_timeout" in params:
            init[f"{self._EXECUTOR}_max_num_timeout"] = params.pop("max_num_timeout")
        executor = submitit.AutoExecutor(cluster=self._EXECUTOR, **init)
        base = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(**{k if k in base else f"{self._EXECUTOR}_{k}": v for k, v in params.items()})
        return executor

    def _submit(self, todo: list[tuple[int, list[str]]]) -> list[Any]:
        """Submit the jobs; a submission the scheduler refuses (an unknown partition, too much memory
        asked) is the CLI's one ``Error:`` line, exit 2, and nothing is submitted."""
        from submitit.core.utils import FailedJobError, FailedSubmissionError

        from aelab.cli.startup import fail

        params = [(o, "hydra.sweep.dir", num, f"job_id_for_{num}", Singleton.get_state()) for num, o in todo]
        try:
            executor = self._executor()
            with sigint_blocked(), contextlib.redirect_stderr(io.StringIO()):  # its words go in our one line
                jobs = executor.map_array(self, *zip(*params))
        except (FailedJobError, FailedSubmissionError, ValueError, OSError) as err:
            said = "; ".join(line.strip() for line in str(err).splitlines() if line.strip())
            fail(
                ConfigError(
                    f"the jobs were not submitted: {said or type(err).__name__}; fix hydra.launcher.* and run "
                    "the same command with skip_done=true"
                )
            )
        self._submitted = list(jobs)
        return self._submitted

    def _result(self, job: Any, sweep_config: DictConfig, stop: SweepStop) -> JobReturn:
        """Wait for ``job`` to end (passing a stop on to the jobs meanwhile) and settle its record."""
        signalled = checked = 0.0
        while True:
            now = time.monotonic()
            force = bool(stop.requested) and now - checked > 2.0  # stopping: ask the scheduler more often
            checked = now if force else checked
            if job.done(force_check=force):
                break
            if stop.again:  # a second signal: stop waiting
                self._give_up()
                return settle(sweep_config, None, "it was still running when the sweep stopped waiting", stop.requested)
            if stop.requested and now - signalled > RESIGNAL_S:
                self._stop_jobs()
                signalled = now
            time.sleep(0.5)
        if stop.requested and not job.paths.result_pickle.exists():
            return settle(sweep_config, None, "it ended without a result", stop.requested)
        try:
            ret = job.results()[0]
        except Exception as err:  # killed, timed out, or its result file lost: the sweep goes on
            return settle(sweep_config, None, f"the job returned no result ({first_line(err)})", stop.requested)
        return settle(sweep_config, ret, "", stop.requested)

    # what differs between executors (the Slurm launcher overrides these)
    def _prepare(self, configs: dict[int, DictConfig], stop: SweepStop) -> None:
        """Before anything is submitted."""

    @contextlib.contextmanager
    def _polling(self) -> Iterator[None]:
        yield

    def _stop_jobs(self) -> None:
        """Pass a stop on to the submitted jobs (submitit's local controller forwards SIGTERM to its job)."""
        for job in self._submitted:
            process = getattr(job, "_process", None)
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)

    def _give_up(self) -> None:
        """A second stop signal: the sweep stops waiting for its jobs (they have had their SIGTERM)."""

    # --- the job's process ----------------------------------------------------------------------

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """submitit's resubmission of this job (after a time-limit warning): the copy resumes its run."""
        self._attempt += 1
        return super().checkpoint(*args, **kwargs)  # type: ignore[misc]

    def __call__(
        self, sweep_overrides: list[str], job_dir_key: str, job_num: int, job_id: str, singleton_state: Any
    ) -> JobReturn:
        import submitit

        started = time.time()
        env = submitit.JobEnvironment()
        warning = env._usr_sig()
        take_job_signals(warning)
        Singleton.set_state(singleton_state)
        setup_globals()
        assert self.hydra_context is not None and self.config is not None
        sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(sweep_overrides))
        with open_dict(sweep_config.hydra.job):
            sweep_config.hydra.job.id = env.job_id
            sweep_config.hydra.job.num = job_num
        if self._attempt or int(os.environ.get("SLURM_RESTART_COUNT") or 0):
            sweep_config.skip_done = True  # requeued: continue this job's own run from its last commit
        ret: JobReturn | None = None
        stopped: JobStopped | None = None
        try:
            stop_before_run()
            ret = run_job(
                hydra_context=self.hydra_context,
                task_function=self.task_function,
                config=sweep_config,
                job_dir_key=job_dir_key,
                job_subdir_key="hydra.sweep.subdir",
            )
        except JobStopped as err:
            stopped = err
        if warning.name in interrupt.caught() and run_status(job_dir(sweep_config))[0] in (None, "interrupted"):
            self._requeue(env, warning, started)  # exits this process, or raises when no requeue is left
        if stopped is not None:
            raise stopped
        assert ret is not None
        return ret

    def _requeue(self, env: Any, warning: signal.Signals, started: float) -> None:
        """submitit's checkpoint-and-requeue for this job: resubmitted with its countdown of timeouts
        (``max_num_timeout``; a preemption does not count), or UncompletedJobError when none is left."""
        from submitit.core.job_environment import SignalHandler
        from submitit.core.utils import DelayedSubmission

        delayed = DelayedSubmission.load(env.paths.submitted_pickle)
        handler = SignalHandler(env, env.paths, delayed)
        handler._start_time = started  # submitit tells a timeout from a preemption by the time run
        handler.checkpoint_and_try_requeue(warning)


__all__ = ["RESIGNAL_S", "SubmititJobs", "sigint_blocked"]
