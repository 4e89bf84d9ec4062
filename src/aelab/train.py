"""``train(cfg)``: one autoencoder on MNIST, from config to metrics.json, top to bottom.

The run directory gets ``metrics.json`` (status, per-epoch history, val/test metrics, hparams),
``checkpoints/last.pt`` every epoch and ``best.pt`` at the best validation error (both written
atomically), ``train.log`` and, with logging on, ``tb/`` for TensorBoard. SIGINT/SIGTERM finish
the current step, save ``last.pt`` and mark the run ``interrupted``; ``resume=<run dir>``
continues it to the same result as an uninterrupted run. A NaN/Inf loss marks it ``failed``.
"""

from __future__ import annotations

import logging
import math
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from aelab.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state, write_json
from aelab.config import ConfigError, plain, validate
from aelab.dashboard import RunLogger, make_logger
from aelab.data import MissingDataError, epoch_permutation, load_mnist
from aelab.evaluate import evaluate
from aelab.gradflow import layer_grad_norms
from aelab.losses import build_loss
from aelab.models import build_model
from aelab.optim import build_optimizer, build_scheduler, scaled_lr

log = logging.getLogger("aelab.train")

PROBE_BATCH = 256  # validation images on which per-layer gradient norms are measured
# What must match for a checkpoint to be resumed: the architecture and the data it trains on.
ARCH_KEYS = ("family", "impl", "depth", "width", "hidden", "code_dim", "channels", "kernel_size",
             "fc_hidden", "activation", "code_activation", "output_activation")
ARCH_DEFAULTS = {"output_activation": "sigmoid"}  # keys that configs written before them lack


class NonFiniteLoss(RuntimeError):
    def __init__(self, step: int) -> None:
        super().__init__(f"non-finite loss (NaN/Inf) at step {step}")
        self.step = step


class Interrupted(RuntimeError):
    pass


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda but no CUDA device is available; use device=cpu or device=auto")
    return torch.device(name)


def hydra_run_dir() -> Path:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        raise ValueError("train(cfg) outside Hydra needs run_dir=")
    return Path(HydraConfig.get().runtime.output_dir)


def read_metrics(run_dir: Path) -> dict[str, Any] | None:
    import json

    path = Path(run_dir) / "metrics.json"
    return json.loads(path.read_text()) if path.exists() else None


def train(cfg: DictConfig, run_dir: str | Path | None = None, logger: RunLogger | None = None) -> dict[str, Any]:
    """Train one model as ``cfg`` says; return the metrics dict also written to metrics.json.

    ``logger``: hooks to call instead of the configured TensorBoard logger (benchmarks, tests); a
    logger that sets ``stop_training = True`` in ``on_epoch_end`` ends training after that epoch.

    Never raises for a failed run: the status says ``failed`` (with ``error``) or ``interrupted``,
    so a sweep goes on. Config errors (:class:`ConfigError`) are raised before any work starts.
    """
    validate(cfg)
    hparams = plain(cfg)
    device = resolve_device(hparams["device"])
    if cfg.trainer.cuda_graphs and device.type != "cuda":
        raise ConfigError("trainer.cuda_graphs=true needs a CUDA device (device=cuda or auto on a GPU machine)")
    run_dir = Path(cfg.resume) if cfg.resume else Path(run_dir) if run_dir else hydra_run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    previous = read_metrics(run_dir)
    if cfg.skip_done and previous and previous.get("status") == "completed":
        log.info("skip_done: %s already completed", run_dir)
        return previous
    if cfg.resume:
        last = run_dir / "checkpoints" / "last.pt"
        if not last.exists():
            raise ConfigError(f"resume={cfg.resume}: no checkpoints/last.pt there to resume from")
        cfg = _resumed_config(cfg, load_checkpoint(last)["config"])
        hparams = plain(cfg)
    handler = _log_to(run_dir / "train.log")

    metrics: dict[str, Any] = {
        "status": "running", "epochs_completed": 0, "best_epoch": None, "val": None, "test": None,
        "hparams": hparams, "wall_time_s": 0.0, "samples_per_s": None, "error": None,
        "failed_step": None, "hardware": hardware(device), "grad_norms_init": None, "history": [],
    }
    if cfg.resume and previous:  # keep the time and history already spent
        metrics.update({k: previous[k] for k in ("wall_time_s", "grad_norms_init", "history", "best_epoch", "val",
                                                 "epochs_completed", "samples_per_s") if k in previous})
    started = time.perf_counter()
    wall_before = metrics["wall_time_s"]
    try:
        logger = logger if logger is not None else make_logger(cfg, run_dir)
        _fit(cfg, device, run_dir, metrics, logger)
        metrics["status"] = "completed"
    except Interrupted as err:
        metrics.update(status="interrupted", error=str(err))
    except NonFiniteLoss as err:
        metrics.update(status="failed", error=str(err), failed_step=err.step)
    except MissingDataError as err:  # one clear message, no traceback
        metrics.update(status="failed", error=str(err))
    except ConfigError:
        raise
    except Exception as err:  # a crash, bad data: recorded, not fatal to a sweep
        metrics.update(status="failed", error=f"{type(err).__name__}: {err}")
        log.error("run failed:\n%s", traceback.format_exc())
    except KeyboardInterrupt:  # a second Ctrl-C: stop now, last.pt is from the last epoch end
        metrics.update(status="interrupted", error="KeyboardInterrupt (second Ctrl-C)")
        raise
    finally:
        metrics["wall_time_s"] = wall_before + time.perf_counter() - started
        write_json(run_dir / "metrics.json", metrics)
        if logger is not None:
            logger.close()
        if handler is not None:
            log.removeHandler(handler)
            handler.close()
    if metrics["status"] == "completed":
        log.info("test sq_err_per_image=%.3f | outputs in %s", metrics["test"]["sq_err_per_image"], run_dir)
    else:
        log.error("run %s: %s | outputs in %s", metrics["status"], metrics["error"], run_dir)
    return metrics


def _log_to(path: Path) -> logging.Handler | None:
    """Also log to <run dir>/train.log (Hydra logs to its own output dir, which differs on resume,
    and tests call train() without Hydra). Returns the handler to remove when the run ends."""
    root = logging.getLogger()
    target = str(path.resolve())
    if any(getattr(h, "baseFilename", None) == target for h in root.handlers + log.handlers):
        return None
    handler = logging.FileHandler(target)
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


def hardware(device: torch.device) -> str:
    """What trained the run: the GPU's name, or the CPU model and torch's thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
             if line.startswith("model name")] if cpuinfo.exists() else []
    return f"{names[0] if names else 'CPU'} ({torch.get_num_threads()} threads)"


def _model_kwargs(cfg: DictConfig) -> dict[str, Any]:
    m = plain(cfg.model)
    common = {k: m[k] for k in ("impl", "activation", "depth", "code_dim", "code_activation", "init")}
    common["output_activation"] = m.get("output_activation", "sigmoid")
    if m["family"] == "mlp":
        return {**common, "width": m["width"], "hidden": m["hidden"]}
    return {**common, "channels": m["channels"], "kernel_size": m["kernel_size"], "fc_hidden": m["fc_hidden"]}


def _shift(x: torch.Tensor, max_shift: int, offsets: torch.Tensor) -> torch.Tensor:
    """Translate image i by (offsets[0, i], offsets[1, i]) − max_shift pixels, zero fill."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (max_shift,) * 4)
    rows = (torch.arange(h, device=x.device) + offsets[0, :, None])[:, :, None]  # (n, h, 1)
    cols = (torch.arange(w, device=x.device) + offsets[1, :, None])[:, None, :]  # (n, 1, w)
    return padded[torch.arange(n, device=x.device)[:, None, None], 0, rows, cols].unsqueeze(1)


def _fit(cfg: DictConfig, device: torch.device, run_dir: Path, metrics: dict[str, Any], logger) -> None:
    from aelab.interrupt import StopFlag

    # --- setup -------------------------------------------------------------------------------
    torch.manual_seed(cfg.seed)
    data = load_mnist(cfg.data.root, download=cfg.data.download, limit=cfg.data.limit,
                      eval_limit=cfg.data.eval_limit, split_seed=cfg.data.split_seed, device=device)
    model = build_model(plain(cfg.model.family), **_model_kwargs(cfg)).to(device)
    loss_fn = build_loss(plain(cfg.loss.name), plain(cfg.model.impl))
    n_train, batch_size = len(data.train_x), cfg.trainer.batch_size
    optimizer = build_optimizer(cfg.optimizer, model.parameters(), capturable=cfg.trainer.cuda_graphs,
                                batch_size=batch_size)
    steps_per_epoch = math.ceil(n_train / batch_size)
    scheduler = build_scheduler(cfg.optimizer, optimizer, steps_per_epoch * cfg.trainer.epochs, batch_size)
    batch_gen = torch.Generator().manual_seed(cfg.seed)  # batch order and augmentation
    autocast = dict(device_type=device.type, dtype=torch.bfloat16,
                    enabled=plain(cfg.trainer.precision) == "bf16")
    probe = data.val_x[:PROBE_BATCH]
    ckpt_dir = run_dir / "checkpoints"

    epoch, step_in_epoch, global_step, best_val, perm, shifts = 0, 0, 0, math.inf, None, None
    loss_sum, n_batches = torch.zeros((), device=device), 0
    if cfg.resume:
        ckpt = load_checkpoint(ckpt_dir / "last.pt", map_location=device)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and ckpt["scheduler"] is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
        set_rng_state(ckpt["rng"])
        batch_gen.set_state(ckpt["batch_gen"])
        epoch, step_in_epoch, global_step = ckpt["epoch"], ckpt["step_in_epoch"], ckpt["global_step"]
        best_val, perm, shifts = ckpt["best_val"], ckpt["perm"], ckpt["shifts"]
        loss_sum, n_batches = ckpt["loss_sum"].to(device), ckpt["n_batches"]
        log.info("resuming %s at epoch %d, step %d", run_dir, epoch + 1, step_in_epoch)

    # built after a resume has loaded its state: a CUDA graph captures the tensors as they are
    train_step = _make_step(cfg, model, loss_fn, optimizer, autocast, (batch_size, *data.train_x.shape[1:]))

    def checkpoint(path: Path, **extra: Any) -> None:
        save_checkpoint(path, {
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "rng": rng_state(), "batch_gen": batch_gen.get_state(), "epoch": epoch,
            "step_in_epoch": step_in_epoch, "global_step": global_step, "best_val": best_val,
            "perm": perm, "shifts": shifts, "loss_sum": loss_sum.detach().cpu(), "n_batches": n_batches,
            "config": plain(cfg), **extra,
        })

    log.info("model: %s", model.summary())
    log.info("run dir: %s | device: %s | %d train / %d val / %d test images", run_dir, device,
             n_train, len(data.val_x), len(data.test_x))
    if plain(cfg.optimizer.lr_scaling) != "none":
        log.info("lr %g at batch %d (%s scaling from %g at batch %d)", scaled_lr(cfg.optimizer, batch_size), batch_size,
                 plain(cfg.optimizer.lr_scaling), cfg.optimizer.lr, cfg.optimizer.base_batch_size)
    if metrics["grad_norms_init"] is None:
        metrics["grad_norms_init"] = layer_grad_norms(model, probe, loss_fn)
    logger.on_train_start(model, data, metrics["hparams"])
    progress = cfg.trainer.progress if cfg.trainer.progress is not None else sys.stderr.isatty()
    bad_step = torch.full((), -1, dtype=torch.long, device=device)  # first non-finite step, no sync
    trained, train_time = 0, 0.0

    # --- epochs --------------------------------------------------------------------------------
    with StopFlag() as stop:
        while epoch < cfg.trainer.epochs:
            if perm is None:  # a fresh order each epoch; kept in the checkpoint for a mid-epoch resume
                perm = epoch_permutation(n_train, batch_gen)
                # per-image shifts for the whole epoch, drawn once: no host->device copy per step
                shifts = torch.randint(0, 2 * cfg.data.shift_augment + 1, (2, n_train), generator=batch_gen)
            batches = perm.to(device).split(batch_size)
            epoch_shifts = shifts.to(device).split(batch_size, dim=1)
            bar = tqdm(total=len(batches), initial=step_in_epoch, disable=not progress, leave=False,
                       desc=f"epoch {epoch + 1}/{cfg.trainer.epochs}", unit="batch")
            tick = time.perf_counter()
            model.train()
            for idx, offsets in zip(batches[step_in_epoch:], epoch_shifts[step_in_epoch:]):
                x = data.train_x[idx]
                if cfg.data.shift_augment:
                    x = _shift(x, cfg.data.shift_augment, offsets)
                loss = train_step(x)  # forward, the lecture's backward, the update
                lr = optimizer.param_groups[0]["lr"]  # the rate this step used (float or device tensor)
                if scheduler is not None:
                    scheduler.step()
                loss_sum += loss
                n_batches += 1
                bad_step.masked_fill_((bad_step < 0) & ~torch.isfinite(loss), global_step)
                global_step += 1
                step_in_epoch += 1
                trained += len(idx)
                logger.on_step(global_step, loss, model, lr)
                if global_step % cfg.logging.every_n_steps == 0:
                    _raise_if_nonfinite(bad_step)
                    if progress:
                        bar.set_postfix(loss=f"{loss.item():.3f}",
                                        samples_s=f"{trained / (train_time + time.perf_counter() - tick):.0f}")
                bar.update()
                if stop.requested:
                    _raise_if_nonfinite(bad_step)
                    checkpoint(ckpt_dir / "last.pt")
                    bar.close()
                    raise Interrupted(f"{stop.requested} at epoch {epoch + 1}, step {global_step}; "
                                      f"resume with resume={run_dir}")
            bar.close()
            _raise_if_nonfinite(bad_step)
            train_time += time.perf_counter() - tick

            # --- end of epoch: validate, measure gradient flow, checkpoint --------------------
            val = evaluate(model, data.val_x, cfg.trainer.eval_batch_size)
            record = {"epoch": epoch + 1, "train_loss": (loss_sum / max(n_batches, 1)).item(),
                      "val": val, "lr": float(optimizer.param_groups[0]["lr"]),
                      "grad_norms": layer_grad_norms(model, probe, loss_fn)}
            metrics["history"].append(record)
            epoch, step_in_epoch, perm, shifts = epoch + 1, 0, None, None
            loss_sum, n_batches = torch.zeros((), device=device), 0
            if val["sq_err_per_image"] < best_val:
                best_val = val["sq_err_per_image"]
                metrics.update(best_epoch=epoch, val=val)
                checkpoint(ckpt_dir / "best.pt")
            checkpoint(ckpt_dir / "last.pt")
            metrics["epochs_completed"] = epoch
            metrics["samples_per_s"] = trained / train_time if train_time > 0 else None
            write_json(run_dir / "metrics.json", metrics)
            logger.on_epoch_end(epoch, record, model, data)
            log.info("epoch %d/%d  train_loss %.4f  val sq_err_per_image %.3f  mse %.5f  bce %.5f",
                     epoch, cfg.trainer.epochs, record["train_loss"], val["sq_err_per_image"],
                     val["mse"], val["bce"])
            if getattr(logger, "stop_training", False):
                break
            if cfg.fail_at_epoch is not None and epoch >= cfg.fail_at_epoch:
                raise RuntimeError(f"forced failure at epoch {epoch} (fail_at_epoch={cfg.fail_at_epoch})")

    # --- test with the best-validation weights -------------------------------------------------
    best = load_checkpoint(ckpt_dir / "best.pt", map_location=device)
    model.load_state_dict(best["model"])
    metrics["test"] = evaluate(model, data.test_x, cfg.trainer.eval_batch_size)
    if trained and train_time > 0:
        metrics["samples_per_s"] = trained / train_time
    logger.on_train_end(metrics, model, data)


def _make_step(cfg: DictConfig, model, loss_fn, optimizer, autocast, batch_shape):
    from aelab import step

    if cfg.trainer.cuda_graphs:
        return step.cuda_graph_step(model, loss_fn, optimizer, autocast, batch_shape)
    if cfg.trainer.compile:
        return step.compiled_step(model, loss_fn, optimizer, autocast)
    return step.eager_step(model, loss_fn, optimizer, autocast)


def _raise_if_nonfinite(bad_step: torch.Tensor) -> None:
    step = int(bad_step)  # the one host sync, every logging.every_n_steps steps
    if step >= 0:
        raise NonFiniteLoss(step)


def _resumed_config(cfg: DictConfig, saved: dict[str, Any]) -> DictConfig:
    """The interrupted run's own config, so ``resume=<dir>`` alone continues it as it was. Only
    ``resume``, ``device``, ``trainer.progress`` (and the sweep aids ``skip_done``, ``fail_at_epoch``)
    come from the command line; any other value
    given now that differs from the run's (under Hydra: the overrides typed; called directly:
    the architecture) is refused, since the checkpoint could not honour it."""
    from aelab.config import Config

    now = plain(cfg)
    keys = [k for k in _typed_override_keys() if k not in RESUME_FREE] if _typed_override_keys() is not None \
        else [f"model.{k}" for k in ARCH_KEYS]
    diffs = [f"{k}: checkpoint {_lookup(saved, k)!r} vs now {_lookup(now, k)!r}"
             for k in keys if _lookup(saved, k) != _lookup(now, k)]
    if diffs:
        raise ConfigError("cannot resume with a different architecture or settings: " + "; ".join(diffs))
    merged = OmegaConf.merge(OmegaConf.structured(Config), saved)
    for key in RESUME_FREE:
        OmegaConf.update(merged, key, OmegaConf.select(cfg, key), merge=False)
    return merged


RESUME_FREE = ("resume", "device", "trainer.progress", "skip_done", "fail_at_epoch")


def _typed_override_keys() -> list[str] | None:
    """The keys of the overrides typed on the command line (None outside Hydra)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    keys = [o.split("=", 1)[0].lstrip("+~") for o in HydraConfig.get().overrides.task]
    return [k for k in keys if not k.startswith("hydra")]


def _lookup(config: dict[str, Any], key: str) -> Any:
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return ARCH_DEFAULTS.get(part) if key.startswith("model.") else None
        node = node[part]
    return node


__all__ = ["train", "read_metrics", "resolve_device", "ConfigError"]
