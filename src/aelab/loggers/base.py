"""The hooks a training run calls, and :class:`Loggers`, which measures once for every logger.

A logger may read the model, never change it or draw random numbers, so a run trains
bit-identically whatever is logged. Per-step values — ``loss/train`` (the mean since the last
logging step), ``lr``, ``perf/samples_per_s`` and the gradient flow (``grad_norm/``,
``weight_norm/``, ``delta_norm/``, ``saturation/`` per layer, from one shared
:class:`~aelab.gradflow.StepProbe`) — are gathered on the device and copied to the host once per
logging step, then handed to every logger as plain numbers (:meth:`RunLogger.log_scalars`). A kind
that adds terms to the loss gets them logged apart too: ``loss/recon``, ``loss/penalty``, ``loss/kl``.

Logging steps: the first step, every ``logging.every_n_steps`` steps, and the last step of every
epoch, so even a two-epoch run of a few steps draws every chart.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from aelab.data.load import Splits
from aelab.gradflow import StepProbe
from aelab.loggers import LOGGERS
from aelab.models.base import Autoencoder


class RunLogger:
    """No-op base: subclasses override what they record."""

    stop_training = False

    def on_train_start(self, model: Autoencoder, data: Splits, config: dict[str, Any], record: dict[str, Any]) -> None:
        """Before the first step: the run's config and its record so far (``grad_norms_init``, and
        on a resume the history)."""

    def on_loss_terms(self, terms: dict[str, Tensor]) -> None:
        """Before ``on_step``, when the kind adds terms to the loss: the step's parts (``recon``,
        ``penalty``, ``kl``; device tensors, no sync)."""

    def on_step(self, step: int, loss: Tensor, model: Autoencoder, lr: float | Tensor) -> None:
        """Called after every optimizer step with the step's loss (a device tensor: no sync)."""

    def log_scalars(self, step: int, scalars: dict[str, float], model: Autoencoder) -> None:
        """Called on logging steps with the per-step values (see the module doc)."""

    def on_epoch_end(self, epoch: int, record: dict[str, Any], model: Autoencoder, data: Splits) -> None: ...

    def on_train_end(self, metrics: dict[str, Any], model: Autoencoder, data: Splits) -> None: ...

    def close(self) -> None: ...

    @staticmethod
    def view(config: dict[str, Any], folder: Path) -> str | None:
        """The command that shows the runs under ``folder`` (a run dir or a sweep dir) as this logger
        recorded them, for a run of ``config`` (plain values); None: nothing to open."""
        return None


class NullLogger(RunLogger):
    pass


class Loggers(RunLogger):
    """Every configured logger behind one set of hooks, with the per-step measurements made once."""

    def __init__(self, loggers: list[RunLogger], logging: Any, trainer: Any, start_step: int = 0) -> None:
        self.loggers = loggers
        self.every = int(logging.every_n_steps)
        self.scalars, self.grad_flow = bool(logging.scalars), bool(logging.grad_flow)
        # δ and saturation come from Python hooks: a CUDA graph replays the step without them and
        # torch.compile would recompile around them, so those fast paths log the hook-free norms.
        self.observe = self.grad_flow and not (trainer.compile or trainer.cuda_graphs)
        self.batch_size = int(trainer.batch_size)
        self.step = start_step
        self.layers: list[tuple[str, Any]] = []
        self.probe: StepProbe | None = None
        self._loss_sum: Tensor | None = None
        self._term_sums: dict[str, Tensor] = {}
        self._loss_n = 0
        self._samples = 0
        self._tick = time.perf_counter()
        self._steps_per_epoch, self._last_batch = 1, self.batch_size

    @property
    def stop_training(self) -> bool:  # type: ignore[override]
        return any(getattr(lg, "stop_training", False) for lg in self.loggers)

    def is_log_step(self, step: int) -> bool:
        return step == 1 or step % self.every == 0 or step % self._steps_per_epoch == 0

    def on_train_start(self, model: Autoencoder, data: Splits, config: dict[str, Any], record: dict[str, Any]) -> None:
        self.layers = model.layers()
        self._loss_sum = torch.zeros((), device=next(model.parameters()).device)
        n_train = len(data.train_x)
        self._steps_per_epoch = max(1, math.ceil(n_train / self.batch_size))
        self._last_batch = n_train - (self._steps_per_epoch - 1) * self.batch_size
        if self.observe:
            self.probe = StepProbe(self.layers)
            if self.is_log_step(self.step + 1):
                self.probe.arm()
        for lg in self.loggers:
            lg.on_train_start(model, data, config, record)
        self._tick = time.perf_counter()

    def on_loss_terms(self, terms: dict[str, Tensor]) -> None:
        for key, value in terms.items():
            # a copy: a CUDA graph's replay rewrites the step's tensors in place
            self._term_sums[key] = (
                self._term_sums[key] + value.float() if key in self._term_sums else value.detach().float().clone()
            )
        for lg in self.loggers:
            lg.on_loss_terms(terms)

    def on_step(self, step: int, loss: Tensor, model: Autoencoder, lr: float | Tensor) -> None:
        # `step` counts the steps done, from 1; no host sync here except on logging steps.
        self.step = step
        if self._loss_sum is not None:
            self._loss_sum += loss.detach().float()
        self._loss_n += 1
        self._samples += self._last_batch if step % self._steps_per_epoch == 0 else self.batch_size
        for lg in self.loggers:
            lg.on_step(step, loss, model, lr)
        if self.is_log_step(step):
            self._log_step(step, lr, model)
        if self.probe is not None:  # observe the next step's forward/backward only if it is logged
            if self.is_log_step(step + 1):
                self.probe.arm()
            else:
                self.probe.disarm()

    def _log_step(self, step: int, lr: float | Tensor, model: Autoencoder) -> None:
        values: dict[str, Tensor] = {}
        if self.scalars and self._loss_sum is not None:
            values["loss/train"] = self._loss_sum / max(self._loss_n, 1)
            for key, total in self._term_sums.items():  # loss/recon, loss/penalty, loss/kl
                values[f"loss/{key}"] = total / max(self._loss_n, 1)
            if isinstance(lr, Tensor):  # a capturable optimizer keeps lr on the device
                values["lr"] = lr
        if self.grad_flow:
            delta, saturation = self.probe.take() if self.probe is not None else ({}, {})
            for name, layer in self.layers:
                if layer.weight.grad is not None:
                    values[f"grad_norm/{name}"] = torch.linalg.vector_norm(layer.weight.grad.float())
                values[f"weight_norm/{name}"] = torch.linalg.vector_norm(layer.weight.detach().float())
                if name in delta:
                    values[f"delta_norm/{name}"] = delta[name]
                if name in saturation:
                    values[f"saturation/{name}"] = saturation[name]
        # the one device→host transfer per logging step
        stacked = torch.stack([v.detach().float().reshape(()) for v in values.values()]) if values else None
        numbers = dict(zip(values, stacked.cpu().tolist() if stacked is not None else []))
        now = time.perf_counter()
        if self.scalars:
            if not isinstance(lr, Tensor):
                numbers["lr"] = float(lr)
            if now > self._tick and self._samples:
                numbers["perf/samples_per_s"] = self._samples / (now - self._tick)
        for lg in self.loggers:
            lg.log_scalars(step, numbers, model)
        if self._loss_sum is not None:
            self._loss_sum.zero_()
        self._term_sums = {}
        self._loss_n, self._samples, self._tick = 0, 0, now

    def on_epoch_end(self, epoch: int, record: dict[str, Any], model: Autoencoder, data: Splits) -> None:
        for lg in self.loggers:
            lg.on_epoch_end(epoch, record, model, data)
        self._tick, self._samples = time.perf_counter(), 0  # evaluation time is not training time

    def on_train_end(self, metrics: dict[str, Any], model: Autoencoder, data: Splits) -> None:
        if self.probe is not None:
            self.probe.disarm()
        for lg in self.loggers:
            lg.on_train_end(metrics, model, data)

    def close(self) -> None:
        if self.probe is not None:
            self.probe.disarm()
        for lg in self.loggers:
            lg.close()


def make_logger(config: Any, run_dir: str | Path, start_step: int = 0, best_val: float = math.inf) -> RunLogger:
    """The loggers ``config.logging.loggers`` names, behind one :class:`Loggers` (a NullLogger for none)."""
    loggers = [LOGGERS[name](config, Path(run_dir), start_step, best_val) for name in config.logging.loggers]
    return Loggers(loggers, config.logging, config.trainer, start_step) if loggers else NullLogger()


def view_commands(config: dict[str, Any], folder: Path) -> list[str]:
    """The commands that show the runs under ``folder``, one per logger of ``config`` (plain values)
    that has something to open (:meth:`RunLogger.view`)."""
    names = (config.get("logging") or {}).get("loggers") or []
    return [cmd for name in names if name in LOGGERS and (cmd := LOGGERS[name].view(config, folder))]


__all__ = ["Loggers", "NullLogger", "RunLogger", "make_logger", "view_commands"]
