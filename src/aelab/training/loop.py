"""``train(cfg)``: one autoencoder, from config to metrics.json, top to bottom.

Before anything is written, the config is checked (choices, ranges, memory), the run directory is
planned (:mod:`aelab.training.rundir`: a new run, a resume, a skip, or a refusal) and the dataset's
files are verified. Then the directory is locked for the run's life and the run begins with a
checkpoint at step 0, so from its first line on it can be resumed.

``checkpoints/last.pt`` is the run: every commit writes it first (model, optimizer, RNG, position,
best weights and the record: status, history, best epoch, metrics, wall time), then ``best.pt``
and ``metrics.json`` from it. SIGINT/SIGTERM finish the current step and commit it as
``interrupted``; ``resume=<run dir>`` continues to the same result as an uninterrupted run
(bit-identical on CPU). A NaN/Inf loss or a crash commits the run as ``failed``; a completed run
is final.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from aelab.config import VOLATILE, Config, check, fingerprint, lookup, override_key, to_config, to_dict
from aelab.data import check_dataset, epoch_permutation, load_dataset, shift_images, split_sizes
from aelab.errors import AelabError, ConfigError, CorruptFileError, DiskFullError
from aelab.files import open_log, read_json, recorded_hashes, sha256, sha256_file, write_json, write_text
from aelab.gradflow import layer_grad_norms
from aelab.hardware import describe, resolve_device
from aelab.loggers import RunLogger, make_logger
from aelab.metrics import EVAL_SEED, evaluate
from aelab.models import build_model
from aelab.training.checkpoint import load_checkpoint, rng_state, save_checkpoint, serialize, set_rng_state
from aelab.training.interrupt import StopFlag
from aelab.training.losses import build_loss
from aelab.training.optim import build_optimizer, build_scheduler, scaled_lr
from aelab.training.pretrain import pretrain_layerwise, stages
from aelab.training.rundir import Plan, RunDir, plan
from aelab.training.step import make_step

log = logging.getLogger("aelab.train")
trace = logging.getLogger("aelab.trace")  # tracebacks: to train.log only, never the console
trace.propagate = False

PROBE_BATCH = 256  # validation images on which per-layer gradient norms are measured
CHECKPOINT_FORMAT = 2
# On resume these come from the command line, not the checkpoint: where and how the run goes on.
FROM_NOW = ("resume", "skip_done", "device", "data.root", "data.download", "trainer.progress", "trainer.threads")


class NonFiniteLoss(RuntimeError):
    def __init__(self, step: int) -> None:
        super().__init__(f"non-finite loss (NaN/Inf) at step {step}")
        self.step = step


class Interrupted(RuntimeError):
    pass


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
    device = resolve_device(config.device)
    check(config, device)
    if config.trainer.cuda_graphs and device.type != "cuda":
        raise ConfigError("trainer.cuda_graphs=true needs a CUDA device (device=cuda or auto on a GPU machine)")
    where = Path(config.resume) if config.resume else Path(run_dir) if run_dir is not None else hydra_run_dir()
    where = where.expanduser().absolute()
    decision = plan(where, to_dict(config), resume=bool(config.resume), skip_done=config.skip_done)
    if decision.kind in ("skip", "complete"):
        return _finished(decision)
    if decision.kind in ("resume", "restart"):
        config = _resumed_config(config, decision.config)  # type: ignore[arg-type]
        check(config, device)
    sizes = check_dataset(config.data.name, config.data.root, config.data.download)

    run = RunDir(where)
    run.lock()
    try:
        with StopFlag() as stop, _threads(config.trainer.threads):  # Ctrl-C: an orderly stop at the next step
            again = plan(
                where, to_dict(config), resume=decision.kind in ("resume", "restart"), skip_done=config.skip_done
            )
            if again.kind in ("skip", "complete"):  # another process finished it meanwhile
                return _finished(again)
            again.notes = decision.notes
            return _run(config, device, run, again, logger, sizes[0], stop)
    finally:
        run.unlock()


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """torch's CPU threads for the run (``trainer.threads``), and the caller's back afterwards."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n and torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _finished(decision: Plan) -> dict[str, Any]:
    """A completed run: report it, touching nothing (but a missing or damaged metrics.json, which is
    rewritten from last.pt)."""
    run = RunDir(decision.run_dir)
    checkpoint = decision.checkpoint or {}
    metrics = _metrics(checkpoint["record"], checkpoint["config"], _hash_of(run.last))
    try:
        current = read_metrics(run.path)
    except AelabError:
        current = None
    if current != metrics and not run.metrics.is_symlink():
        write_json(run.metrics, metrics)
        log.info("rewrote %s from checkpoints/last.pt", run.metrics)
    test = (metrics.get("test") or {}).get("sq_err_per_image")
    what = "already completed" if decision.kind == "skip" else "is complete"
    log.info(
        "%s %s (test sq_err_per_image=%.3f); nothing to do", run.path, what, test if test is not None else math.nan
    )
    return metrics


def _hash_of(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def _metrics(record: dict[str, Any], config: dict[str, Any], last_sha: str | None) -> dict[str, Any]:
    """metrics.json: the record, the config it ran with, its fingerprint and the checkpoints' hashes
    (best.pt's as last.pt records it)."""
    return {
        **record,
        "hparams": config,
        "config_fingerprint": fingerprint(config),
        "checkpoints": {"last.pt": last_sha, "best.pt": record.get("best_sha256")},
    }


def _resumed_config(config: Config, saved: dict[str, Any]) -> Config:
    """The interrupted run's own config, so ``resume=<dir>`` alone continues it as it was. Only the
    keys of :data:`FROM_NOW` (and, typed on the command line, the reporting keys) come from now; any
    other typed value that differs from the run's is refused, since the checkpoint could not honour
    it. Called without Hydra (nothing was typed), the model's keys must match."""
    now = to_dict(config)
    typed = _typed_override_keys()
    keys = [k for k in typed if not _is(k, FROM_NOW)] if typed is not None else [f"model.{k}" for k in now["model"]]
    diffs = [
        f"{k}: checkpoint {lookup(saved, k)!r} vs now {lookup(now, k)!r}"
        for k in keys
        if not _is(k, VOLATILE) and lookup(saved, k) != lookup(now, k)
    ]
    if diffs:
        raise ConfigError("cannot resume with a different architecture or settings: " + "; ".join(diffs))
    merged = copy.deepcopy(saved)
    for key in [*FROM_NOW, *[k for k in (typed or []) if _is(k, VOLATILE)]]:
        _assign(merged, key, lookup(now, key))
    return to_config(merged)


def _is(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def _assign(values: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    for part in parents:
        values = values.setdefault(part, {})
    values[last] = value


def _typed_override_keys() -> list[str] | None:
    """The keys of the overrides typed on the command line (None outside Hydra)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    keys = [override_key(o) for o in HydraConfig.get().overrides.task]
    return [k for k in keys if not k.startswith("hydra")]


# --- one run, in its locked directory ------------------------------------------------------------


def _run(
    config: Config,
    device: torch.device,
    run: RunDir,
    decision: Plan,
    logger: RunLogger | None,
    n_images: int,
    stop: StopFlag,
) -> dict[str, Any]:
    values = {**to_dict(config), "resume": None, "skip_done": False}  # the run's config, not this attempt's
    if decision.kind == "fresh":
        run.remove_leftovers()
        _write_hydra_files(run, values)  # first: from here on resume= can start the run again
    handlers: list[logging.Handler] = []

    def start_log() -> None:  # once the run has its first checkpoint
        if not handlers:
            handlers.append(_log_to(run.log))
            for note in decision.notes:
                log.info(note)

    if decision.kind in ("fresh", "restart"):
        record = {
            "status": "running",
            "epochs_completed": 0,
            "best_epoch": None,
            "val": None,
            "test": None,
            "wall_time_s": 0.0,
            "train_time_s": 0.0,
            "trained_samples": 0,
            "samples_per_s": None,
            "error": None,
            "failed_step": None,
            "hardware": describe(device),
            "grad_norms_init": None,
            "history": [],
        }
    else:
        assert decision.checkpoint is not None
        start_log()
        log.info("resuming %s", run.path)
        record = {
            **decision.checkpoint["record"],
            "status": "running",
            "error": None,
            "failed_step": None,
        }
    fit = _Fit(config, values, device, run, record, decision.checkpoint if decision.kind == "resume" else None)
    fit.stop = stop
    try:
        fit.fit(logger, n_images, start_log)
    except Interrupted as err:
        fit.fail("interrupted", str(err))
    except NonFiniteLoss as err:
        fit.fail("failed", str(err), failed_step=err.step)
    except DiskFullError as err:  # one line, said as it is; last.pt is the last commit
        fit.fail("failed", str(err), keep_state=False)
    except AelabError as err:  # a damaged file: one line, said as it is
        fit.fail("failed", str(err))
    except Exception as err:  # a crash: recorded, not fatal to a sweep; the traceback goes to train.log
        trace.error("run failed:\n%s", traceback.format_exc())
        fit.fail("failed", f"{type(err).__name__}: {err}")
    except KeyboardInterrupt:  # a second Ctrl-C: stop now; last.pt is the last commit
        fit.fail("interrupted", "KeyboardInterrupt (second Ctrl-C)")
        raise
    finally:
        fit.close_logger()
        metrics = fit.metrics()
        if metrics["status"] == "completed":
            log.info("test sq_err_per_image=%.3f | outputs in %s", metrics["test"]["sq_err_per_image"], run.path)
        else:
            log.error("run %s: %s | outputs in %s", metrics["status"], metrics["error"], run.path)
        for handler in handlers:
            _detach(handler)
    return metrics


class _Fit:
    """The state of one training run and the one way it reaches the disk (:meth:`commit`)."""

    def __init__(
        self,
        config: Config,
        values: dict[str, Any],
        device: torch.device,
        run: RunDir,
        record: dict[str, Any],
        checkpoint: dict[str, Any] | None,
    ) -> None:
        self.config, self.values, self.device, self.run, self.record = config, values, device, run, record
        self.checkpoint = checkpoint
        self.stop: StopFlag | None = None
        self.logger: RunLogger | None = None
        self.started, self.wall_before = time.perf_counter(), float(record.get("wall_time_s") or 0.0)
        self.shas: dict[str, str | None] = {"last.pt": _hash_of(run.last), "best.pt": _hash_of(run.best)}
        self.state: Callable[[], dict[str, Any]] | None = None
        self.committed = copy.deepcopy(record) if checkpoint is not None else None

    # --- the disk -------------------------------------------------------------------------------
    def _wall(self) -> float:
        return self.wall_before + time.perf_counter() - self.started

    def commit(self, status: str | None = None, best: dict[str, Any] | None = None) -> None:
        """last.pt first (the truth, naming best.pt's hash), then best.pt if the best changed, then
        metrics.json. A kill between two writes leaves last.pt whole; the next resume rewrites the rest."""
        assert self.state is not None
        best_bytes = serialize(best) if best is not None else None
        if best_bytes is not None:
            self.record["best_sha256"] = sha256(best_bytes)
        if status is not None:
            self.record["status"] = status
        self.record["wall_time_s"] = self._wall()
        self.shas["last.pt"] = save_checkpoint(self.run.last, {**self.state(), "record": self.record})
        self.committed = copy.deepcopy(self.record)
        if best_bytes is not None:
            self.shas["best.pt"] = save_checkpoint(self.run.best, best_bytes)
        write_json(self.run.metrics, self.metrics())

    def fail(self, status: str, error: str, failed_step: int | None = None, keep_state: bool = True) -> None:
        """Record a failed or interrupted run: the record of the last commit (what last.pt holds; the
        model in memory may hold NaN, or the disk refused the commit) with the status and error, in
        last.pt and metrics.json; ``keep_state=False`` (a full disk) writes metrics.json only. A run
        that failed before its first commit has only metrics.json."""
        if self.record.get("status") == status and self.record.get("error") == error:
            return  # committed already (an interrupt commits the step it stopped at)
        base = self.committed if self.committed is not None else self.record
        self.record = {
            **base,
            "status": status,
            "error": error,
            "failed_step": failed_step,
            "wall_time_s": self._wall(),
        }
        try:
            if keep_state and self.committed is not None:
                state = load_checkpoint(self.run.last)
                state["record"] = self.record
                self.shas["last.pt"] = save_checkpoint(self.run.last, state)
            write_json(self.run.metrics, self.metrics())
        except AelabError as err:  # e.g. the disk is still full: the last commit stands
            log.error("could not record the %s run: %s", status, err)

    def metrics(self) -> dict[str, Any]:
        return _metrics(self.record, self.values, self.shas["last.pt"])

    def close_logger(self) -> None:
        if self.logger is not None:
            self.logger.close()

    # --- the run --------------------------------------------------------------------------------
    def fit(self, logger: RunLogger | None, n_images: int, start_log: Callable[[], None]) -> None:
        config, device, run, record = self.config, self.device, self.run, self.record
        trainer, data_cfg = config.trainer, config.data

        # --- setup: the model before the data, so the run is committed (resumable) at once ---
        torch.manual_seed(config.seed)
        model = build_model(config.model, ae=config.ae).to(device)
        loss_fn = build_loss(config.loss.name, config.model.impl)
        n_train, batch_size = split_sizes(n_images, data_cfg.limit)[0], trainer.batch_size
        optimizer = build_optimizer(
            config.optimizer, model.parameters(), capturable=trainer.cuda_graphs, batch_size=batch_size
        )
        steps_per_epoch = math.ceil(n_train / batch_size)
        scheduler = build_scheduler(config.optimizer, optimizer, steps_per_epoch * trainer.epochs, batch_size)
        batch_gen = torch.Generator().manual_seed(config.seed)  # batch order and augmentation
        autocast = dict(device_type=device.type, dtype=torch.bfloat16, enabled=trainer.precision == "bf16")

        epoch, step_in_epoch, global_step, best_val = 0, 0, 0, math.inf
        perm: torch.Tensor | None = None
        shifts: torch.Tensor | None = None
        best_model: dict[str, torch.Tensor] | None = None
        loss_sum, n_batches = torch.zeros((), device=device), 0
        term_sums: dict[str, torch.Tensor] = {}  # the loss's parts this epoch (a kind with terms)
        if self.checkpoint is not None:
            ckpt = load_checkpoint(run.last, map_location=device)  # the same verified file, on the device
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            if scheduler is not None and ckpt["scheduler"] is not None:
                scheduler.load_state_dict(ckpt["scheduler"])
            set_rng_state(ckpt["rng"])
            batch_gen.set_state(ckpt["batch_gen"])
            epoch, step_in_epoch, global_step = ckpt["epoch"], ckpt["step_in_epoch"], ckpt["global_step"]
            best_val, perm, shifts, best_model = ckpt["best_val"], ckpt["perm"], ckpt["shifts"], ckpt["best_model"]
            loss_sum, n_batches = ckpt["loss_sum"].to(device), ckpt["n_batches"]
            term_sums = {k: v.to(device) for k, v in (ckpt.get("term_sums") or {}).items()}
            log.info("at epoch %d, step %d (global step %d)", epoch + 1, step_in_epoch, global_step)

        def state() -> dict[str, Any]:
            return {
                "format": CHECKPOINT_FORMAT,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "rng": rng_state(),
                "batch_gen": batch_gen.get_state(),
                "epoch": epoch,
                "step_in_epoch": step_in_epoch,
                "global_step": global_step,
                "best_val": best_val,
                "perm": perm,
                "shifts": shifts,
                "best_model": best_model,
                "loss_sum": loss_sum.detach().cpu(),
                "term_sums": {k: v.detach().cpu() for k, v in term_sums.items()},
                "n_batches": n_batches,
                "config": self.values,
            }

        def best_checkpoint() -> dict[str, Any]:
            return {
                "format": CHECKPOINT_FORMAT,
                "model": best_model,
                "config": self.values,
                "epoch": record["best_epoch"],
                "val": record["val"],
            }

        self.state = state
        if self.checkpoint is None:  # step 0: from here on the run resumes from its checkpoint
            self.commit()
        elif best_model is not None and self.shas["best.pt"] != record.get("best_sha256"):
            if run.best.exists() and self.shas["best.pt"] not in recorded_hashes(run.best):
                raise CorruptFileError(
                    f"{run.best} is corrupt: its SHA-256 differs from the one recorded when it "
                    f"was written ({run.best.name}.sha256)"
                )
            # killed between last.pt and best.pt: best.pt is from an earlier epoch (or missing); rewrite it
            self.shas["best.pt"] = record["best_sha256"] = save_checkpoint(run.best, best_checkpoint())
        start_log()

        # --- the data (verified before the run began), the initial gradient flow ----------------
        data = load_dataset(
            data_cfg.name,
            data_cfg.root,
            download=False,
            limit=data_cfg.limit,
            eval_limit=data_cfg.eval_limit,
            split_seed=data_cfg.split_seed,
            device=device,
        )
        if len(data.train_x) != n_train:
            raise RuntimeError(f"the training set has {len(data.train_x)} images, expected {n_train}")
        probe = data.val_x[:PROBE_BATCH]
        progress = trainer.progress if trainer.progress is not None else sys.stderr.isatty()
        stop = self.stop
        assert stop is not None
        if config.pretrain.name == "layerwise" and not (record.get("pretrain") or {}).get("done"):
            self._pretrain(model, data.train_x, progress)
        # on the initial weights, or the pretrained ones: the start of the end-to-end training
        if record.get("grad_norms_init") is None:
            record["grad_norms_init"] = layer_grad_norms(model, probe, loss_fn)

        # built after a resume has loaded its state: a CUDA graph captures the tensors as they are
        train_step = make_step(trainer, model, loss_fn, optimizer, autocast, (batch_size, *data.train_x.shape[1:]))
        self.logger = logger = logger if logger is not None else make_logger(config, run.path, global_step, best_val)
        log.info("model: %s", model.summary())
        log.info(
            "run dir: %s | device: %s | %d train / %d val / %d test images",
            run.path,
            describe(device),
            n_train,
            len(data.val_x),
            len(data.test_x),
        )
        if config.optimizer.lr_scaling != "none":
            log.info(
                "lr %g at batch %d (%s scaling from %g at batch %d)",
                scaled_lr(config.optimizer, batch_size),
                batch_size,
                config.optimizer.lr_scaling,
                config.optimizer.lr,
                config.optimizer.base_batch_size,
            )
        logger.on_train_start(model, data, self.values, record)
        bad_step = torch.full((), -1, dtype=torch.long, device=device)  # first non-finite step, no sync
        trained, train_time = 0, 0.0
        measure_gen = torch.Generator(device=device)  # the kind's dashboards: the same noise each epoch

        # --- epochs ------------------------------------------------------------------------------
        while epoch < trainer.epochs:
            if perm is None:  # a fresh order each epoch; kept in the checkpoint for a mid-epoch resume
                perm = epoch_permutation(n_train, batch_gen)
                # per-image shifts for the whole epoch, drawn once: no host->device copy per step
                shifts = torch.randint(0, 2 * data_cfg.shift_augment + 1, (2, n_train), generator=batch_gen)
            assert shifts is not None
            # data.unshifted_last_epochs: the last epochs see the images as the test set has them
            # (the shifts are still drawn, so the random stream does not depend on the key)
            shifted = data_cfg.shift_augment > 0 and epoch < trainer.epochs - data_cfg.unshifted_last_epochs
            batches = perm.to(device).split(batch_size)
            epoch_shifts = shifts.to(device).split(batch_size, dim=1)
            bar = tqdm(
                total=len(batches),
                initial=step_in_epoch,
                disable=not progress,
                leave=False,
                desc=f"epoch {epoch + 1}/{trainer.epochs}",
                unit="batch",
            )
            tick = time.perf_counter()
            model.train()
            for idx, offsets in zip(batches[step_in_epoch:], epoch_shifts[step_in_epoch:]):
                if stop.requested:  # SIGINT/SIGTERM (also during set-up): commit this step, stop
                    _raise_if_nonfinite(bad_step)
                    bar.close()
                    record["error"] = (
                        f"{stop.requested} at epoch {epoch + 1}, step {global_step}; resume with resume={run.path}"
                    )
                    self.commit("interrupted")
                    raise Interrupted(record["error"])
                x = data.train_x[idx]
                if shifted:
                    x = shift_images(x, data_cfg.shift_augment, offsets)
                loss = train_step(x)  # forward, the lecture's backward, the update
                lr = optimizer.param_groups[0]["lr"]  # the rate this step used (float or device tensor)
                if scheduler is not None:
                    scheduler.step()
                loss_sum += loss
                n_batches += 1
                if len(loss_fn.terms) > 1:  # recon plus the kind's penalty / KL: kept apart for the logs
                    for key, value in loss_fn.terms.items():
                        term_sums[key] = term_sums[key] + value if key in term_sums else value.clone()
                    logger.on_loss_terms(loss_fn.terms)
                bad_step.masked_fill_((bad_step < 0) & ~torch.isfinite(loss), global_step)
                global_step += 1
                step_in_epoch += 1
                trained += len(idx)
                logger.on_step(global_step, loss, model, lr)
                if global_step % config.logging.every_n_steps == 0:
                    _raise_if_nonfinite(bad_step)
                    if progress:
                        bar.set_postfix(
                            loss=f"{loss.item():.3f}",
                            samples_s=f"{trained / (train_time + time.perf_counter() - tick):.0f}",
                        )
                bar.update()
            bar.close()
            _raise_if_nonfinite(bad_step)
            train_time += time.perf_counter() - tick

            # --- end of epoch: validate, measure gradient flow, commit ---------------------------
            val = evaluate(model, data.val_x, trainer.eval_batch_size)
            history: dict[str, Any] = {
                "epoch": epoch + 1,
                "train_loss": (loss_sum / max(n_batches, 1)).item(),
                "val": val,
                "lr": float(optimizer.param_groups[0]["lr"]),
                "grad_norms": layer_grad_norms(model, probe, loss_fn),
            }
            if term_sums:
                history["train_terms"] = {k: (v / max(n_batches, 1)).item() for k, v in term_sums.items()}
            stats = model.kind.measure(model, probe, measure_gen.manual_seed(EVAL_SEED))
            if stats.scalars:
                history["ae"] = stats.scalars
            record["history"].append(history)
            epoch, step_in_epoch, perm, shifts = epoch + 1, 0, None, None
            loss_sum, n_batches, term_sums = torch.zeros((), device=device), 0, {}
            improved = val["sq_err_per_image"] < best_val
            if improved:
                best_val = val["sq_err_per_image"]
                best_model = {k: v.detach().clone() for k, v in model.state_dict().items()}
                record.update(best_epoch=epoch, val=val)
            record["epochs_completed"] = epoch
            record["trained_samples"] = int(record.get("trained_samples") or 0) + trained
            record["train_time_s"] = float(record.get("train_time_s") or 0.0) + train_time
            record["samples_per_s"] = (
                record["trained_samples"] / record["train_time_s"] if record["train_time_s"] else None
            )
            trained, train_time = 0, 0.0
            self.commit(best=best_checkpoint() if improved else None)
            logger.on_epoch_end(epoch, history, model, data)
            log.info(
                "epoch %d/%d  train_loss %.4f%s  val sq_err_per_image %.3f  mse %.5f  bce %.5f%s",
                epoch,
                trainer.epochs,
                history["train_loss"],
                "".join(f" ({k} {v:.4f})" for k, v in history.get("train_terms", {}).items()),
                val["sq_err_per_image"],
                val["mse"],
                val["bce"],
                "".join(f"  {k} {v:.3f}" for k, v in val.items() if k not in ("sq_err_per_image", "mse", "bce")),
            )
            if getattr(logger, "stop_training", False):
                break

        # --- test with the best-validation weights -----------------------------------------------
        if best_model is None:
            raise RuntimeError("no epoch finished, so there is no best checkpoint to test")
        model.load_state_dict(best_model)
        record["test"] = evaluate(model, data.test_x, trainer.eval_batch_size)
        logger.on_train_end(self.metrics(), model, data)
        self.commit("completed")

    def _pretrain(self, model: torch.nn.Module, images: torch.Tensor, progress: bool) -> None:
        """Layer-wise pretraining (:mod:`aelab.training.pretrain`), committed after each stage; an
        interruption leaves the stage it was in uncommitted, so a resume runs it again from its start."""
        record, stop = self.record, self.stop
        assert stop is not None
        n_stages = len(stages(model))  # type: ignore[arg-type]

        def commit(done: list[dict[str, Any]]) -> None:
            record["pretrain"] = {"stages": done, "done": len(done) == n_stages}
            self.commit()

        def check_stop(where: str) -> None:
            if stop.requested:
                raise Interrupted(f"{stop.requested} while {where}; resume with resume={self.run.path}")

        log.info("layer-wise pretraining: %d layers, %d epochs each", n_stages, self.config.pretrain.epochs_per_layer)
        pretrain_layerwise(
            model,  # type: ignore[arg-type]
            images,
            self.config,
            done=(record.get("pretrain") or {}).get("stages", []),
            commit=commit,
            check_stop=check_stop,
            progress=progress,
            log=log.info,
        )


def _raise_if_nonfinite(bad_step: torch.Tensor) -> None:
    step = int(bad_step)  # the one host sync, every logging.every_n_steps steps
    if step >= 0:
        raise NonFiniteLoss(step)


# --- the run directory's other files --------------------------------------------------------------


def _write_hydra_files(run: RunDir, values: dict[str, Any]) -> None:
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


def _log_to(path: Path) -> logging.Handler:
    """Also log to <run dir>/train.log (appending, never through a link); tracebacks go there only."""
    handler = _RunLogHandler(open_log(path))
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    package = logging.getLogger("aelab")
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    trace.addHandler(handler)
    return handler


def _detach(handler: logging.Handler) -> None:
    logging.getLogger("aelab").removeHandler(handler)
    trace.removeHandler(handler)
    handler.close()


__all__ = ["FROM_NOW", "Interrupted", "NonFiniteLoss", "hydra_run_dir", "read_metrics", "train"]
