"""One epoch of training, and its end: validate, measure the gradient flow, log, commit.

The lecture's loop: every epoch draws a fresh order of the training images (reshuffled
mini-batches), and each mini-batch is one step of forward, the hand-written backward and the
update (:mod:`aelab.training.step`). Ctrl-C (SIGINT/SIGTERM) is honoured between two steps: the
step is committed as ``interrupted`` and the run stops, to be resumed at that very step.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from tqdm import tqdm

from aelab import faults
from aelab.config.schema import Config
from aelab.data.augment import epoch_permutation, shift_images
from aelab.data.load import Splits
from aelab.gradflow import layer_grad_norms
from aelab.loggers.base import RunLogger
from aelab.metrics import EVAL_SEED, evaluate
from aelab.training.commit import RunFiles
from aelab.training.interrupt import StopFlag
from aelab.training.state import TrainState
from aelab.training.step import Step

log = logging.getLogger("aelab.train")


class NonFiniteLoss(RuntimeError):
    def __init__(self, step: int) -> None:
        super().__init__(f"non-finite loss (NaN/Inf) at step {step}")
        self.step = step


class Interrupted(RuntimeError):
    pass


@dataclass
class Loop:
    """What every step of a run needs and no checkpoint holds."""

    config: Config
    data: Splits
    train_step: Step
    loss_fn: Any
    logger: RunLogger
    files: RunFiles
    stop: StopFlag
    progress: bool
    probe: Tensor  # the validation images the gradient flow is measured on
    bad_step: Tensor  # the first non-finite step (−1: none), kept on the device: no sync per step
    measure_gen: torch.Generator  # the kind's dashboards: the same noise every epoch

    def check_finite(self) -> None:
        step = int(self.bad_step)  # the one host sync, every logging.every_n_steps steps
        if step >= 0:
            raise NonFiniteLoss(step)


def train_epoch(state: TrainState, loop: Loop) -> tuple[int, float]:
    """The rest of the current epoch, from ``state.step_in_epoch``; (images trained, seconds)."""
    config, data, trainer = loop.config, loop.data, loop.config.trainer
    n_train, batch_size = len(data.train_x), trainer.batch_size
    if state.perm is None:  # a fresh order each epoch; kept in the checkpoint for a mid-epoch resume
        state.perm = epoch_permutation(n_train, state.batch_gen)
        # per-image shifts for the whole epoch, drawn once: no host->device copy per step
        state.shifts = torch.randint(0, 2 * config.data.shift_augment + 1, (2, n_train), generator=state.batch_gen)
    assert state.shifts is not None
    # data.unshifted_last_epochs: the last epochs see the images as the test set has them
    # (the shifts are still drawn, so the random stream does not depend on the key)
    shifted = config.data.shift_augment > 0 and state.epoch < trainer.epochs - config.data.unshifted_last_epochs
    device = data.train_x.device
    batches = state.perm.to(device).split(batch_size)
    offsets = state.shifts.to(device).split(batch_size, dim=1)
    desc = f"epoch {state.epoch + 1}/{trainer.epochs}"
    bar = tqdm(
        total=len(batches), initial=state.step_in_epoch, disable=not loop.progress, leave=False, desc=desc, unit="batch"
    )
    trained, tick = 0, time.perf_counter()
    state.model.train()
    try:
        for idx, shift in zip(batches[state.step_in_epoch :], offsets[state.step_in_epoch :]):
            if loop.stop.requested:  # SIGINT/SIGTERM (also during set-up): commit this step, stop
                _interrupt(state, loop)
            x = data.train_x[idx]
            loss = _step(state, loop, shift_images(x, config.data.shift_augment, shift) if shifted else x)
            trained += len(idx)
            if state.global_step % config.logging.every_n_steps == 0:
                loop.check_finite()
                if loop.progress:
                    rate = trained / (time.perf_counter() - tick)
                    bar.set_postfix(loss=f"{loss.item():.3f}", samples_s=f"{rate:.0f}")
            bar.update()
    finally:
        bar.close()
    loop.check_finite()
    return trained, time.perf_counter() - tick


def _step(state: TrainState, loop: Loop, x: Tensor) -> Tensor:
    """One mini-batch: forward, the lecture's backward, the update; then the schedule and the sums.
    Returns the step's loss (on the device)."""
    loss = loop.train_step(x)
    faults.point("step")
    lr = state.optimizer.param_groups[0]["lr"]  # the rate this step used (float or device tensor)
    if state.scheduler is not None:
        state.scheduler.step()
    state.loss_sum += loss
    state.n_batches += 1
    terms = loop.loss_fn.terms
    if state.kind_optimizers:  # a kind with updates of its own (its discriminator, its generator)
        terms = {**terms, **state.model.kind.after_step(state.model, x, state.kind_optimizers)}
    if len(terms) > 1:  # recon plus the kind's penalty / KL: kept apart for the logs
        for key, value in terms.items():
            state.term_sums[key] = state.term_sums[key] + value if key in state.term_sums else value.clone()
        loop.logger.on_loss_terms(terms)
    loop.bad_step.masked_fill_((loop.bad_step < 0) & ~torch.isfinite(loss), state.global_step)
    state.global_step += 1
    state.step_in_epoch += 1
    loop.logger.on_step(state.global_step, loss, state.model, lr)
    return loss


def _interrupt(state: TrainState, loop: Loop) -> None:
    loop.check_finite()
    where = f"epoch {state.epoch + 1}, step {state.global_step}"
    state.record["error"] = f"{loop.stop.requested} at {where}; resume with resume={loop.files.run.path}"
    loop.files.commit(state, "interrupted")
    raise Interrupted(state.record["error"])


def end_epoch(state: TrainState, loop: Loop, trained: int, seconds: float) -> dict[str, Any]:
    """Validate, measure the gradient flow, hand the epoch to the loggers, then commit it: a logger
    writes an epoch's values before the commit, so a kill leaves them for the resume to purge or
    keeps them with the committed epoch. Returns the epoch's history entry."""
    model, record = state.model, state.record
    val = evaluate(model, loop.data.val_x, loop.config.trainer.eval_batch_size)
    n = max(state.n_batches, 1)
    history: dict[str, Any] = {
        "epoch": state.epoch + 1,
        "step": state.global_step,
        "train_loss": (state.loss_sum / n).item(),
        "val": val,
        "lr": float(state.optimizer.param_groups[0]["lr"]),
        "grad_norms": layer_grad_norms(model, loop.probe, loop.loss_fn),
    }
    if state.term_sums:
        history["train_terms"] = {k: (v / n).item() for k, v in state.term_sums.items()}
    stats = model.kind.measure(model, loop.probe, loop.measure_gen.manual_seed(EVAL_SEED))
    if stats.scalars:
        history["ae"] = stats.scalars
    record["history"].append(history)
    state.next_epoch()
    improved = val["sq_err_per_image"] < state.best_val
    if improved:
        state.best_val = val["sq_err_per_image"]
        state.best_model = {k: v.detach().clone() for k, v in model.state_dict().items()}
        record.update(best_epoch=state.epoch, val=val)
    record["epochs_completed"] = state.epoch
    record["trained_samples"] = int(record.get("trained_samples") or 0) + trained
    record["train_time_s"] = float(record.get("train_time_s") or 0.0) + seconds
    record["samples_per_s"] = record["trained_samples"] / record["train_time_s"] if record["train_time_s"] else None
    loop.logger.on_epoch_end(state.epoch, history, model, loop.data)
    faults.point("epoch:logged")
    loop.files.commit(state, improved=improved)
    _log_epoch(history, loop.config.trainer.epochs)
    return history


def _log_epoch(h: dict[str, Any], epochs: int) -> None:
    val = h["val"]
    terms = "".join(f" ({k} {v:.4f})" for k, v in h.get("train_terms", {}).items())
    extra = "".join(f"  {k} {v:.3f}" for k, v in val.items() if k not in ("sq_err_per_image", "mse", "bce"))
    log.info(
        "epoch %d/%d  train_loss %.4f%s  val sq_err_per_image %.3f  mse %.5f  bce %.5f%s",
        h["epoch"],
        epochs,
        h["train_loss"],
        terms,
        val["sq_err_per_image"],
        val["mse"],
        val["bce"],
        extra,
    )


__all__ = ["Interrupted", "Loop", "NonFiniteLoss", "end_epoch", "train_epoch"]
