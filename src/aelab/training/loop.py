"""``train(cfg)``: one autoencoder, from config to metrics.json, top to bottom.

Before anything is written, the config is checked (every key, the rules between keys, memory),
the run directory is planned (:mod:`aelab.training.rundir`: a new run, a resume, a skip, or a
refusal) and the dataset's files are verified. Then the directory is locked for the run's life
and the run begins with a commit at step 0, so from its first line on it can be resumed.

The run is a :class:`~aelab.training.state.TrainState` and its commits (:mod:`.commit`): set up
or restore it, pretrain (``pretrain=layerwise``), then epochs of :func:`~.epoch.train_epoch` and
:func:`~.epoch.end_epoch`, then the test with the best-validation weights. SIGINT/SIGTERM finish
the current step and commit it as ``interrupted``; ``resume=<run dir>`` continues to the same
result as an uninterrupted run (bit-identical on CPU). A NaN/Inf loss or a crash commits the run
as ``failed``; a completed run is final.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from aelab import faults
from aelab.build import build
from aelab.config import Config, check, to_config, to_dict
from aelab.data import check_data
from aelab.data.load import load, split_sizes
from aelab.errors import AelabError, ConfigError, DiskFullError
from aelab.files import read_json, write_json
from aelab.gradflow import layer_grad_norms
from aelab.hardware import describe, resolve_device
from aelab.loggers.base import RunLogger, make_logger, view_commands
from aelab.metrics import evaluate
from aelab.training.checkpoint import load_checkpoint
from aelab.training.commit import RunFiles, hash_of, metrics_of
from aelab.training.epoch import Interrupted, Loop, NonFiniteLoss, end_epoch, train_epoch
from aelab.training.interrupt import StopFlag
from aelab.training.logs import attach, detach, trace, write_hydra_files
from aelab.training.losses import build_loss
from aelab.training.optim import build_optimizer, build_scheduler, scaled_lr
from aelab.training.pretrain import pretrain_layerwise, stages
from aelab.training.resume import refuse_changes, resumed_config
from aelab.training.rundir import Plan, RunDir, plan
from aelab.training.state import TrainState, new_record
from aelab.training.step import make_step

log = logging.getLogger("aelab.train")
PROBE_BATCH = 256  # validation images on which per-layer gradient norms are measured


def hydra_run_dir() -> Path:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        raise ConfigError("train(cfg) outside a Hydra app needs run_dir=")
    return Path(HydraConfig.get().runtime.output_dir)


def read_metrics(run_dir: str | Path) -> dict[str, Any] | None:
    """A run's metrics.json (None if there is none; a damaged one raises CorruptFileError)."""
    path = Path(run_dir) / "metrics.json"
    return read_json(path) if path.exists() else None


def train(
    cfg: DictConfig | Config, run_dir: str | Path | None = None, logger: RunLogger | None = None
) -> dict[str, Any]:
    """Train one model as ``cfg`` says; return the metrics also written to metrics.json.

    ``logger``: hooks to call instead of the configured loggers (benchmarks, tests); a logger that
    sets ``stop_training = True`` in ``on_epoch_end`` ends training after that epoch.

    Refusals — a bad config, a directory that holds another run or is in use, a damaged file,
    missing data — raise :class:`aelab.errors.AelabError` before anything is written. A run that
    starts never raises for its own failure: the status says ``failed`` (with ``error``) or
    ``interrupted``, so a sweep goes on; a second Ctrl-C raises KeyboardInterrupt.
    """
    config = cfg if isinstance(cfg, Config) else to_config(cfg)
    check(config)
    device = resolve_device(config.device)
    check(config, device)
    if config.trainer.cuda_graphs and device.type != "cuda":
        raise ConfigError("trainer.cuda_graphs=true needs a CUDA device (device=cuda or auto on a GPU machine)")
    where = Path(config.resume) if config.resume else Path(run_dir) if run_dir is not None else hydra_run_dir()
    where = where.expanduser().absolute()
    decision = plan(where, to_dict(config), resume=bool(config.resume), skip_done=config.skip_done)
    if decision.action == "complete":
        refuse_changes(config, decision.config or {}, "change a completed run")
    if decision.action in ("skip", "complete"):
        return finished(decision)
    if decision.action in ("resume", "restart"):
        config = resumed_config(config, decision.config or {})
        check(config, device)
    n_images = check_data(config.data)[0]

    run = RunDir(where)
    run.lock()
    try:
        with StopFlag() as stop, threads(config.trainer.threads):  # Ctrl-C: an orderly stop at the next step
            again = plan(
                where, to_dict(config), resume=decision.action in ("resume", "restart"), skip_done=config.skip_done
            )
            if again.action in ("skip", "complete"):  # another process finished it meanwhile
                return finished(again)
            again.notes = decision.notes
            return _run(config, device, run, again, logger, n_images, stop)
    finally:
        run.unlock()


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """torch's CPU threads for the run (``trainer.threads``), and the caller's back afterwards."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n and torch.get_num_threads() != before:
            torch.set_num_threads(before)


def finished(decision: Plan) -> dict[str, Any]:
    """A completed run: report it, touching nothing (but a missing or damaged metrics.json, which is
    rewritten from last.pt)."""
    run = RunDir(decision.run_dir)
    checkpoint = decision.checkpoint or {}
    metrics = metrics_of(checkpoint["record"], checkpoint["config"], hash_of(run.last))
    try:
        current = read_metrics(run.path)
    except AelabError:
        current = None
    if current != metrics and not run.metrics.is_symlink():
        write_json(run.metrics, metrics)
        log.info("rewrote %s from checkpoints/last.pt", run.metrics)
    test = (metrics.get("test") or {}).get("sq_err_per_image")
    what = "already completed" if decision.action == "skip" else "is complete"
    log.info(
        "%s %s (test sq_err_per_image=%.3f); nothing to do", run.path, what, test if test is not None else math.nan
    )
    return metrics


def _run(
    config: Config,
    device: torch.device,
    run: RunDir,
    decision: Plan,
    logger: RunLogger | None,
    n_images: int,
    stop: StopFlag,
) -> dict[str, Any]:
    """One run in its locked directory: the fit, and whatever ends it recorded as its status."""
    values = {**to_dict(config), "resume": None, "skip_done": False}  # the run's config, not this attempt's
    if decision.action == "fresh":
        run.remove_leftovers()
        write_hydra_files(run, values)  # first: from here on resume= can start the run again
    resuming = decision.action == "resume"
    assert not resuming or decision.checkpoint is not None
    record = (
        {**decision.checkpoint["record"], "status": "running", "error": None, "failed_step": None}  # type: ignore[index]
        if resuming
        else new_record(describe(device))
    )
    files = RunFiles(run, values, record, committed=resuming)
    handlers: list[logging.Handler] = []
    fit = _Fit(config, device, files, decision, logger, n_images, stop, handlers)
    try:
        fit.run()
    except Interrupted as err:
        files.fail("interrupted", str(err))
    except NonFiniteLoss as err:
        files.fail("failed", str(err), failed_step=err.step)
    except DiskFullError as err:  # one line, said as it is; last.pt is the last commit
        files.fail("failed", str(err), keep_state=False)
    except AelabError as err:  # a damaged file: one line, said as it is
        files.fail("failed", str(err))
    except Exception as err:  # a crash: recorded, not fatal to a sweep; the traceback goes to train.log
        trace.error("run failed:\n%s", traceback.format_exc())
        files.fail("failed", f"{type(err).__name__}: {err}")
    except KeyboardInterrupt:  # a second Ctrl-C: stop now; last.pt is the last commit
        files.fail("interrupted", "KeyboardInterrupt (second Ctrl-C)")
        raise
    finally:
        if fit.logger is not None:
            fit.logger.close()
        _say_how_it_ended(files.metrics(), run.path, config)
        for handler in handlers:
            detach(handler)
    return files.metrics()


def _say_how_it_ended(metrics: dict[str, Any], path: Path, config: Config) -> None:
    """The run's last lines: its test error and how to look at it; or, in train.log, why it stopped
    (the caller says that to the user once: the CLI's ``Error:`` line, a sweep's job line, the
    returned status)."""
    if metrics["status"] == "completed":
        log.info("test sq_err_per_image=%.3f | outputs in %s", metrics["test"]["sq_err_per_image"], path)
        views = "".join(f"{command}  |  " for command in view_commands(to_dict(config), path))
        log.info("look at it: %saelab-evaluate %s", views, path)
    else:
        trace.error("run %s: %s | outputs in %s", metrics["status"], metrics["error"], path)


class _Fit:
    """The run's steps, top to bottom (:meth:`run`), each a method that reads alone."""

    def __init__(
        self,
        config: Config,
        device: torch.device,
        files: RunFiles,
        decision: Plan,
        logger: RunLogger | None,
        n_images: int,
        stop: StopFlag,
        handlers: list[logging.Handler],
    ) -> None:
        self.config, self.device, self.files, self.decision = config, device, files, decision
        self.given_logger: RunLogger | None = logger
        self.logger: RunLogger | None = None
        self.n_images, self.stop, self.handlers = n_images, stop, handlers

    def run(self) -> None:
        state, loss_fn, autocast = self.setup()
        self.restore_or_commit(state)
        data = self.load_data()
        progress = self.config.trainer.progress if self.config.trainer.progress is not None else sys.stderr.isatty()
        if self.config.pretrain.name == "layerwise" and not (state.record.get("pretrain") or {}).get("done"):
            self.pretrain(state, data.train_x, progress)
        probe = data.val_x[:PROBE_BATCH]
        if state.record.get("grad_norms_init") is None:  # the initial (or pretrained) weights' gradient flow
            state.record["grad_norms_init"] = layer_grad_norms(state.model, probe, loss_fn)
        loop = self.make_loop(state, data, loss_fn, autocast, probe, progress)
        loop.logger.on_train_start(state.model, data, self.files.config, state.record)
        while state.epoch < self.config.trainer.epochs:
            trained, seconds = train_epoch(state, loop)
            end_epoch(state, loop, trained, seconds)
            if getattr(loop.logger, "stop_training", False):
                break
        self.test(state, loop)

    def setup(self) -> tuple[TrainState, Any, dict[str, Any]]:
        """The model, optimizer and schedule of a new run (a resume loads its state into them)."""
        config, device = self.config, self.device
        torch.manual_seed(config.seed)
        model = build(config).to(device)
        n_train, batch_size = split_sizes(self.n_images, config.data)[0], config.trainer.batch_size
        optimizer = build_optimizer(
            config.optimizer, model.network_parameters(), capturable=config.trainer.cuda_graphs, batch_size=batch_size
        )
        total_steps = math.ceil(n_train / batch_size) * config.trainer.epochs
        scheduler = build_scheduler(config.optimizer, optimizer, total_steps, batch_size)
        batch_gen = torch.Generator().manual_seed(config.seed)
        state = TrainState(model, optimizer, scheduler, batch_gen, self.files.record)
        state.loss_sum = torch.zeros((), device=device)
        state.kind_optimizers = model.kind.optimizers(model)
        autocast = dict(device_type=device.type, dtype=torch.bfloat16, enabled=config.trainer.precision == "bf16")
        return state, build_loss(config.loss.name, config.model.impl), autocast

    def restore_or_commit(self, state: TrainState) -> None:
        """A resume loads last.pt (and repairs best.pt); a new run commits step 0, so it can be resumed."""
        if self.decision.action == "resume":
            self.start_log()
            log.info("resuming %s", self.files.run.path)
            state.load_state_dict(load_checkpoint(self.files.run.last, map_location=self.device), self.device)
            log.info("at epoch %d, step %d (global step %d)", state.epoch + 1, state.step_in_epoch, state.global_step)
            self.files.repair_best(state)
        else:
            self.files.commit(state)
        self.start_log()

    def start_log(self) -> None:
        """train.log, once the run has its first checkpoint (or is a resume)."""
        if not self.handlers:
            self.handlers.append(attach(self.files.run.log))
            for note in self.decision.notes:
                log.info(note)

    def load_data(self) -> Any:
        d = self.config.data
        data = load(d, self.device)
        expected = split_sizes(self.n_images, d)[0]
        if len(data.train_x) != expected:
            raise RuntimeError(f"the training set has {len(data.train_x)} images, expected {expected}")
        return data

    def make_loop(self, state: TrainState, data: Any, loss_fn: Any, autocast: dict, probe: Any, progress: bool) -> Loop:
        """The step (built after a resume has loaded its state: a CUDA graph captures the tensors as
        they are), the loggers, and what the epochs share."""
        config, trainer, device = self.config, self.config.trainer, self.device
        shape = (trainer.batch_size, *data.train_x.shape[1:])
        train_step = make_step(trainer, state.model, loss_fn, state.optimizer, autocast, shape)
        logger = self.given_logger or make_logger(config, self.files.run.path, state.global_step, state.best_val)
        self.logger = logger
        self._log_start(state, data)
        bad_step = torch.full((), -1, dtype=torch.long, device=device)
        return Loop(
            config,
            data,
            train_step,
            loss_fn,
            logger,
            self.files,
            self.stop,
            progress,
            probe,
            bad_step,
            torch.Generator(device=device),
        )

    def _log_start(self, state: TrainState, data: Any) -> None:
        log.info("model: %s", state.model.summary())
        n = (len(data.train_x), len(data.val_x), len(data.test_x))
        log.info(
            "run dir: %s | device: %s | %d train / %d val / %d test images",
            self.files.run.path,
            describe(self.device),
            *n,
        )
        opt, batch = self.config.optimizer, self.config.trainer.batch_size
        if opt.lr_scaling != "none":
            log.info(
                "lr %g at batch %d (%s scaling from %g at batch %d)",
                scaled_lr(opt, batch),
                batch,
                opt.lr_scaling,
                opt.lr,
                opt.base_batch_size,
            )

    def test(self, state: TrainState, loop: Loop) -> None:
        """The test, with the best-validation weights; the loggers write it before the final commit."""
        if state.best_model is None:
            raise RuntimeError("no epoch finished, so there is no best checkpoint to test")
        state.model.load_state_dict(state.best_model)
        state.record["test"] = evaluate(state.model, loop.data.test_x, self.config.trainer.eval_batch_size)
        loop.logger.on_train_end(self.files.metrics(), state.model, loop.data)
        faults.point("test:logged")
        self.files.commit(state, "completed")

    def pretrain(self, state: TrainState, images: torch.Tensor, progress: bool) -> None:
        """Layer-wise pretraining (:mod:`aelab.training.pretrain`), committed after each stage; an
        interruption leaves the stage it was in uncommitted, so a resume runs it again from its start."""
        n_stages, run_path = len(stages(state.model)), self.files.run.path

        def commit(done: list[dict[str, Any]]) -> None:
            state.record["pretrain"] = {"stages": done, "done": len(done) == n_stages}
            self.files.commit(state)

        def check_stop(where: str) -> None:
            if self.stop.requested:
                raise Interrupted(f"{self.stop.requested} while {where}; resume with resume={run_path}")

        log.info("layer-wise pretraining: %d layers, %d epochs each", n_stages, self.config.pretrain.epochs_per_layer)
        done = (state.record.get("pretrain") or {}).get("stages", [])
        pretrain_layerwise(state.model, images, self.config, done, commit, check_stop, progress=progress, log=log.info)


__all__ = ["finished", "hydra_run_dir", "read_metrics", "train"]
