"""``TrainState``: everything a run is at one step. ``checkpoints/last.pt`` holds its
:meth:`~TrainState.state_dict`; :meth:`~TrainState.load_state_dict` puts a run back exactly where it
stopped (model, optimizer, schedule, RNG, the epoch's batch order and shifts, the best weights, the
partial epoch's loss sums, the record), so a resumed run is bit-identical to an uninterrupted one on
the CPU."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from aelab.models.base import Autoencoder
from aelab.training.checkpoint import rng_state, set_rng_state

CHECKPOINT_FORMAT = 2


def new_record(hardware: str) -> dict[str, Any]:
    """The record of a run that has not trained yet: what metrics.json is made of."""
    return {
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
        "hardware": hardware,
        "grad_norms_init": None,
        "history": [],
    }


@dataclass
class TrainState:
    model: Autoencoder
    optimizer: torch.optim.Optimizer
    scheduler: Any
    batch_gen: torch.Generator  # the batch order and the augmentation
    record: dict[str, Any]
    epoch: int = 0  # epochs completed
    step_in_epoch: int = 0
    global_step: int = 0
    perm: Tensor | None = None  # this epoch's order, drawn at its start
    shifts: Tensor | None = None  # this epoch's per-image shifts, drawn with the order
    best_val: float = math.inf
    best_model: dict[str, Tensor] | None = None
    loss_sum: Tensor = field(default_factory=lambda: torch.zeros(()))  # this epoch's, on the device
    n_batches: int = 0
    term_sums: dict[str, Tensor] = field(default_factory=dict)  # the loss's parts this epoch
    kind_optimizers: dict[str, torch.optim.Optimizer] = field(default_factory=dict)  # a kind's own (Kind.optimizers)

    def state_dict(self, config: dict[str, Any]) -> dict[str, Any]:
        """What last.pt holds (``config``: the run's own, as recorded)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "rng": rng_state(),
            "batch_gen": self.batch_gen.get_state(),
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "best_val": self.best_val,
            "perm": self.perm,
            "shifts": self.shifts,
            "best_model": self.best_model,
            "loss_sum": self.loss_sum.detach().cpu(),
            "term_sums": {k: v.detach().cpu() for k, v in self.term_sums.items()},
            "n_batches": self.n_batches,
            "config": config,
            "record": self.record,
            **(
                {"kind_optimizers": {k: o.state_dict() for k, o in self.kind_optimizers.items()}}
                if self.kind_optimizers
                else {}
            ),
        }

    def load_state_dict(self, ckpt: dict[str, Any], device: torch.device) -> None:
        """Back to where last.pt left the run (the record stays the caller's: a resume restarts it)."""
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt["scheduler"] is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        set_rng_state(ckpt["rng"])
        self.batch_gen.set_state(ckpt["batch_gen"])
        self.epoch, self.step_in_epoch, self.global_step = ckpt["epoch"], ckpt["step_in_epoch"], ckpt["global_step"]
        self.best_val, self.perm, self.shifts = ckpt["best_val"], ckpt["perm"], ckpt["shifts"]
        self.best_model = ckpt["best_model"]
        self.loss_sum, self.n_batches = ckpt["loss_sum"].to(device), ckpt["n_batches"]
        self.term_sums = {k: v.to(device) for k, v in (ckpt.get("term_sums") or {}).items()}
        for name, saved in (ckpt.get("kind_optimizers") or {}).items():
            self.kind_optimizers[name].load_state_dict(saved)

    def best_checkpoint(self, config: dict[str, Any]) -> dict[str, Any]:
        """What best.pt holds: the best-validation weights, with the config, epoch and metrics."""
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.best_model,
            "config": config,
            "epoch": self.record["best_epoch"],
            "val": self.record["val"],
        }

    def next_epoch(self) -> None:
        """The epoch's end: a fresh order is drawn when the next one starts, its sums start at zero."""
        self.epoch, self.step_in_epoch, self.perm, self.shifts = self.epoch + 1, 0, None, None
        self.loss_sum, self.n_batches, self.term_sums = torch.zeros((), device=self.loss_sum.device), 0, {}


__all__ = ["CHECKPOINT_FORMAT", "TrainState", "new_record"]
