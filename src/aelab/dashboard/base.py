"""The hooks a training run calls. A logger may read the model, never change it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from torch import Tensor

from aelab.data import MNISTSplits
from aelab.models import Autoencoder


class RunLogger:
    """No-op base: subclasses override what they record."""

    def on_train_start(self, model: Autoencoder, data: MNISTSplits, hparams: dict[str, Any]) -> None: ...

    def on_step(self, step: int, loss: Tensor, model: Autoencoder, lr: float) -> None:
        """Called after every optimizer step with the step's loss (a device tensor: no sync)."""

    def on_epoch_end(self, epoch: int, record: dict[str, Any], model: Autoencoder, data: MNISTSplits) -> None: ...

    def on_train_end(self, metrics: dict[str, Any], model: Autoencoder, data: MNISTSplits) -> None: ...

    def close(self) -> None: ...


class NullLogger(RunLogger):
    pass


def make_logger(cfg: DictConfig, run_dir: Path) -> RunLogger:
    if not cfg.logging.tensorboard:
        return NullLogger()
    from aelab.dashboard.tensorboard import TensorBoardLogger

    return TensorBoardLogger(cfg, run_dir / "tb")
