"""The config schema: one dataclass per group, each with the ``check()`` of its own values.

The YAML files in ``conf/`` fill these (Hydra types each value at composition: ``depth=abc`` fails
there); :func:`aelab.config.to_config` then turns the composed config into these dataclasses once,
at the entry of ``train()``, refusing keys the schema does not have, and :meth:`Config.check`
refuses values out of their range or choices. Every refusal is one :class:`ConfigError` that names
the key. Each model family brings its own dataclass (``aelab/models/<family>/config.py``), so a key
of another family (``model=conv model.hidden=[10]``) is an unknown key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from aelab.data.datasets import DATASETS
from aelab.errors import ConfigError
from aelab.models.base import IMAGE_SHAPE, ModelConfig, check_at_least, check_choice

DEVICES = ("auto", "cpu", "cuda")
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("none", "cosine", "onecycle")
LR_SCALINGS = ("none", "linear", "sqrt")
ANNEAL_STRATEGIES = ("cos", "linear")
LOSSES = ("mse", "bce")
PRECISIONS = ("fp32", "bf16")
MAX_SHIFT = IMAGE_SHAPE[-1] // 2  # a larger shift moves most of a 28×28 digit out of the image


def _check_range(key: str, value: Any, low: float, high: float | None = None, strict_low: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}={value} is not a number")
    too_low = value <= low if strict_low else value < low
    if too_low or (high is not None and value > high):
        lo = f"{key} must be {'>' if strict_low else '>='} {low:g}"
        raise ConfigError(f"{key}={value} is out of range: {lo}" + (f" and <= {high:g}" if high is not None else ""))


@dataclass
class DataConfig:
    name: str = "mnist"
    root: str = "${oc.env:AELAB_DATA_DIR,data}"  # the folder holding <dataset>/raw
    download: bool = True  # never under AELAB_OFFLINE=1
    limit: Optional[int] = None  # training images to keep (quick runs)
    eval_limit: Optional[int] = None  # validation and test images to keep
    split_seed: int = 0
    shift_augment: int = 0  # random shifts of up to this many pixels during training
    unshifted_last_epochs: int = 0  # the last N epochs (all, if N >= trainer.epochs) train without shifts

    def check(self) -> None:
        check_choice("data.name", self.name, DATASETS)
        for key in ("limit", "eval_limit"):
            value = getattr(self, key)
            if value is not None:
                check_at_least(f"data.{key}", value, 1)
        check_at_least("data.split_seed", self.split_seed, 0)
        check_at_least("data.shift_augment", self.shift_augment, 0)
        check_at_least("data.unshifted_last_epochs", self.unshifted_last_epochs, 0)
        if self.shift_augment > MAX_SHIFT:
            raise ConfigError(
                f"data.shift_augment={self.shift_augment} is out of range: data.shift_augment must be "
                f"<= {MAX_SHIFT} (half the {IMAGE_SHAPE[-1]}-pixel image side)"
            )


@dataclass
class OptimizerConfig:
    name: str = "adam"
    lr: float = 1e-3
    # sgd: the lecture's ΔW(t+1) = β(−α(∇E + λW)) + (1 − β)ΔW(t); β = 1 is plain SGD.
    beta: float = 0.1
    weight_decay: float = 0.0
    schedule: str = "none"
    warmup_fraction: float = 0.3  # onecycle: share of steps spent warming up
    anneal_strategy: str = "cos"  # onecycle: the shape of the warm-up and the decay, cos or linear
    # lr is tuned at base_batch_size; other batch sizes get lr·B/B₀ (linear) or lr·√(B/B₀) (sqrt)
    lr_scaling: str = "none"
    base_batch_size: int = 128
    # torch.optim's fused kernel (one pass over all parameters per step): the same update up to rounding, faster
    fused: bool = False

    def check(self) -> None:
        check_choice("optimizer.name", self.name, OPTIMIZERS)
        check_choice("optimizer.schedule", self.schedule, SCHEDULES)
        check_choice("optimizer.lr_scaling", self.lr_scaling, LR_SCALINGS)
        check_choice("optimizer.anneal_strategy", self.anneal_strategy, ANNEAL_STRATEGIES)
        _check_range("optimizer.lr", self.lr, 0, strict_low=True)
        _check_range("optimizer.weight_decay", self.weight_decay, 0)
        if not 0 < self.beta <= 1:
            raise ConfigError(f"optimizer.beta={self.beta} is out of range: 0 < optimizer.beta <= 1")
        if not 0 < self.warmup_fraction < 1:
            raise ConfigError(
                f"optimizer.warmup_fraction={self.warmup_fraction} is out of range: 0 < optimizer.warmup_fraction < 1"
            )
        check_at_least("optimizer.base_batch_size", self.base_batch_size, 1)


@dataclass
class LossConfig:
    name: str = "mse"  # mse: the lecture's 1/(2n) Σ‖x̂ − x‖²; bce: on the logits

    def check(self) -> None:
        check_choice("loss.name", self.name, LOSSES)


@dataclass
class TrainerConfig:
    epochs: int = 10
    batch_size: int = 128
    eval_batch_size: int = 1000
    precision: str = "fp32"
    cuda_graphs: bool = False
    compile: bool = False
    progress: Optional[bool] = None  # None: a tqdm bar when stderr is a terminal
    threads: Optional[int] = None  # torch CPU threads; None: torch's default (launchers set one per job)

    def check(self) -> None:
        check_at_least("trainer.epochs", self.epochs, 1)
        check_at_least("trainer.batch_size", self.batch_size, 1)
        check_at_least("trainer.eval_batch_size", self.eval_batch_size, 1)
        check_choice("trainer.precision", self.precision, PRECISIONS)
        if self.threads is not None:
            check_at_least("trainer.threads", self.threads, 1)


@dataclass
class LoggingConfig:
    loggers: list[str] = field(default_factory=lambda: ["tensorboard"])  # see aelab.loggers.LOGGERS
    every_n_steps: int = 50
    histograms_every_n_epochs: int = 1
    scalars: bool = True
    grad_flow: bool = True
    histograms: bool = True
    images: bool = True
    hparams: bool = True
    projector: bool = True
    n_images: int = 16
    n_projector: int = 1000

    def check(self) -> None:
        from aelab.loggers import LOGGERS

        for name in self.loggers:
            check_choice("logging.loggers", name, LOGGERS)
        check_at_least("logging.every_n_steps", self.every_n_steps, 1)
        check_at_least("logging.histograms_every_n_epochs", self.histograms_every_n_epochs, 1)
        check_at_least("logging.n_images", self.n_images, 0)
        check_at_least("logging.n_projector", self.n_projector, 0)


PRETRAINS = ("none", "layerwise")


@dataclass
class PretrainConfig:
    """``pretrain=layerwise``: greedy layer-wise pretraining before the end-to-end training
    (:mod:`aelab.training.pretrain`); ``pretrain=none``: start from the initial weights."""

    name: str = "none"
    epochs_per_layer: int = 2
    lr: Optional[float] = None  # None: optimizer.lr

    def check(self) -> None:
        check_choice("pretrain", self.name, PRETRAINS)
        check_at_least("pretrain.epochs_per_layer", self.epochs_per_layer, 1)
        if self.lr is not None:
            _check_range("pretrain.lr", self.lr, 0, strict_low=True)


@dataclass
class Config:
    activation: str = "relu"  # hidden-layer activation (model.activation follows it)
    depth: int = 4  # layers per side (model.depth follows it)
    seed: int = 0
    device: str = "auto"
    resume: Optional[str] = None  # a run directory to continue
    skip_done: bool = False  # a run dir holding the same completed run is skipped, not refused
    model: Any = MISSING  # a ModelConfig of the chosen family
    ae: Any = MISSING  # an AEConfig of the chosen kind (aelab.ae): what the network is trained as
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    def check(self) -> None:
        """Every choice and range, then the rules that tie groups together."""
        check_choice("device", self.device, DEVICES)
        check_at_least("seed", self.seed, 0)
        self.model.check()
        self.ae.check()
        for group in (self.data, self.optimizer, self.loss, self.trainer, self.logging, self.pretrain):
            group.check()
        self.ae.check_with(self)
        if self.pretrain.name == "layerwise":
            if self.model.family != "mlp":
                raise ConfigError(
                    f"pretrain=layerwise needs model=mlp (its unrolled decoder is the transposed encoder), "
                    f"not model={self.model.family}"
                )
            if self.ae.name not in ("plain", "denoising"):
                raise ConfigError(
                    f"pretrain=layerwise stacks plain or denoising autoencoders, not ae={self.ae.name}: "
                    "use ae=plain or ae=denoising, or pretrain=none"
                )
        if self.model.output_activation != "sigmoid" and self.loss.name == "bce":
            raise ConfigError("loss=bce needs model.output_activation=sigmoid (BCE is on the σ's logits); use loss=mse")
        if self.trainer.cuda_graphs and self.trainer.compile:
            raise ConfigError("trainer.cuda_graphs and trainer.compile are two ways to speed up the step: pick one")


GROUPS: dict[str, type] = {
    "data": DataConfig,
    "optimizer": OptimizerConfig,
    "loss": LossConfig,
    "trainer": TrainerConfig,
    "logging": LoggingConfig,
    "pretrain": PretrainConfig,
}

__all__ = [
    "GROUPS",
    "LOSSES",
    "LR_SCALINGS",
    "OPTIMIZERS",
    "PRECISIONS",
    "SCHEDULES",
    "Config",
    "DataConfig",
    "LoggingConfig",
    "LossConfig",
    "ModelConfig",
    "OptimizerConfig",
    "PretrainConfig",
    "TrainerConfig",
]
