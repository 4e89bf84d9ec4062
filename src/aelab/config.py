"""Structured config schemas, registered in Hydra's ConfigStore.

The YAML files in ``conf/`` fill these dataclasses; a wrong type, an unknown key or an unknown
choice (``activation=foo``) fails in Hydra before any work starts, with a message that names the
key and, for choices, the valid values. Ranges (``depth=0``, ``optimizer.lr=-1``) are checked by
:func:`validate`, which raises :class:`ConfigError` with one line naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from aelab.backprop import ACTIVATIONS

# Choices as Enums: OmegaConf rejects other values and lists the valid ones.
Activation = Enum("Activation", {name: name for name in ACTIVATIONS})  # type: ignore[misc]
Family = Enum("Family", {"mlp": "mlp", "conv": "conv"})  # type: ignore[misc]
Impl = Enum("Impl", {"lecture": "lecture", "torch": "torch"})  # type: ignore[misc]
Init = Enum("Init", {k: k for k in ("auto", "xavier", "kaiming", "torch_default")})  # type: ignore[misc]
OptimizerName = Enum("OptimizerName", {"sgd": "sgd", "adam": "adam"})  # type: ignore[misc]
Schedule = Enum("Schedule", {k: k for k in ("none", "cosine", "onecycle")})  # type: ignore[misc]
LRScaling = Enum("LRScaling", {k: k for k in ("none", "linear", "sqrt")})  # type: ignore[misc]
LossName = Enum("LossName", {"mse": "mse", "bce": "bce"})  # type: ignore[misc]
Device = Enum("Device", {k: k for k in ("auto", "cpu", "cuda")})  # type: ignore[misc]
Precision = Enum("Precision", {"fp32": "fp32", "bf16": "bf16"})  # type: ignore[misc]
OutputActivation = Enum("OutputActivation", {"sigmoid": "sigmoid", "identity": "identity"})  # type: ignore[misc]


class ConfigError(ValueError):
    """A config value out of its range; the message names the key."""


@dataclass
class ModelConfig:
    family: Family = Family.mlp  # type: ignore[attr-defined]
    impl: Impl = Impl.lecture  # type: ignore[attr-defined]
    activation: Activation = "${activation}"  # type: ignore[assignment]
    depth: int = "${depth}"  # type: ignore[assignment]
    code_dim: int = 30
    code_activation: Activation = Activation.identity  # type: ignore[attr-defined]
    init: Init = Init.auto  # type: ignore[attr-defined]
    # the output nonlinearity: σ (images in [0, 1], BCE on logits) or identity (a linear output
    # layer, x̂ = logits: with activation=identity the linear autoencoder that PCA is the optimum of)
    output_activation: OutputActivation = OutputActivation.sigmoid  # type: ignore[attr-defined]
    # mlp
    width: int = 256
    hidden: Optional[list[int]] = None
    # conv
    channels: int = 32
    kernel_size: int = 3
    fc_hidden: int = 0


@dataclass
class DataConfig:
    name: str = "mnist"
    root: str = "${oc.env:AELAB_DATA_DIR,data}"
    download: bool = True
    limit: Optional[int] = None
    eval_limit: Optional[int] = None
    split_seed: int = 0
    shift_augment: int = 0  # random shifts of up to this many pixels during training


@dataclass
class OptimizerConfig:
    name: OptimizerName = OptimizerName.adam  # type: ignore[attr-defined]
    lr: float = 1e-3
    # sgd: the lecture's ΔW(t+1) = β(−α(∇E + λW)) + (1 − β)ΔW(t); β = 1 is plain SGD.
    beta: float = 0.1
    weight_decay: float = 0.0
    schedule: Schedule = Schedule.none  # type: ignore[attr-defined]
    warmup_fraction: float = 0.3  # onecycle: share of steps spent warming up
    # lr is tuned at base_batch_size; other batch sizes get lr·B/B₀ (linear) or lr·√(B/B₀) (sqrt)
    lr_scaling: LRScaling = LRScaling.none  # type: ignore[attr-defined]
    base_batch_size: int = 128


@dataclass
class LossConfig:
    name: LossName = LossName.mse  # type: ignore[attr-defined]


@dataclass
class TrainerConfig:
    epochs: int = 10
    batch_size: int = 128
    eval_batch_size: int = 1000
    precision: Precision = Precision.fp32  # type: ignore[attr-defined]
    cuda_graphs: bool = False
    compile: bool = False
    progress: Optional[bool] = None  # None: a tqdm bar when stderr is a terminal


@dataclass
class LoggingConfig:
    tensorboard: bool = True
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


@dataclass
class Config:
    activation: Activation = Activation.relu  # type: ignore[attr-defined]
    depth: int = 4
    seed: int = 0
    device: Device = Device.auto  # type: ignore[attr-defined]
    resume: Optional[str] = None
    skip_done: bool = False
    fail_at_epoch: Optional[int] = None  # testing aid: raise at this epoch (sweep fault tests)
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)


def register_configs() -> None:
    """Register the schema as ``config_schema``, the first entry of conf/config.yaml's defaults.

    The group options (conf/model/*.yaml, …) merge into its typed fields, so they are checked
    against ModelConfig, OptimizerConfig, … without a schema of their own."""
    ConfigStore.instance().store(name="config_schema", node=Config)


def plain(cfg: DictConfig | Any) -> Any:
    """The resolved config (or one value of it) as plain Python, enums as their names."""
    if isinstance(cfg, Enum):
        return cfg.name
    if not OmegaConf.is_config(cfg):
        return cfg
    return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)


_RANGES: list[tuple[str, str, float]] = [
    ("depth", ">=", 1),
    ("model.code_dim", ">=", 1),
    ("model.width", ">=", 1),
    ("model.channels", ">=", 1),
    ("optimizer.lr", ">", 0),
    ("optimizer.weight_decay", ">=", 0),
    ("optimizer.base_batch_size", ">=", 1),
    ("trainer.epochs", ">=", 1),
    ("trainer.batch_size", ">=", 1),
    ("trainer.eval_batch_size", ">=", 1),
    ("logging.every_n_steps", ">=", 1),
    ("logging.histograms_every_n_epochs", ">=", 1),
    ("data.shift_augment", ">=", 0),
]


def validate(cfg: DictConfig) -> None:
    """Check value ranges the type system cannot express; raise ConfigError naming the key."""
    for key, op, bound in _RANGES:
        value = OmegaConf.select(cfg, key)
        ok = value > bound if op == ">" else value >= bound
        if not ok:
            raise ConfigError(f"{key}={value} is out of range: {key} must be {op} {bound:g}")
    if not 0 < cfg.optimizer.beta <= 1:
        raise ConfigError(f"optimizer.beta={cfg.optimizer.beta} is out of range: 0 < optimizer.beta <= 1")
    for key in ("data.limit", "data.eval_limit"):
        value = OmegaConf.select(cfg, key)
        if value is not None and value < 1:
            raise ConfigError(f"{key}={value} is out of range: {key} must be >= 1 or null")
    if plain(cfg.model.output_activation) != "sigmoid" and plain(cfg.loss.name) == "bce":
        raise ConfigError("loss=bce needs model.output_activation=sigmoid (BCE is on the σ's logits); use loss=mse")
    if cfg.model.code_dim > 784:
        raise ConfigError(f"model.code_dim={cfg.model.code_dim} is out of range: model.code_dim must be <= 784")
    if cfg.model.kernel_size not in (3, 5):
        raise ConfigError(f"model.kernel_size={cfg.model.kernel_size} is not valid: model.kernel_size must be 3 or 5")
    if cfg.model.fc_hidden < 0:
        raise ConfigError(f"model.fc_hidden={cfg.model.fc_hidden} is out of range: model.fc_hidden must be >= 0")
    if not 0 < cfg.optimizer.warmup_fraction < 1:
        raise ConfigError(f"optimizer.warmup_fraction={cfg.optimizer.warmup_fraction} is out of range: "
                          "0 < optimizer.warmup_fraction < 1")
    if cfg.model.hidden is not None and any(h < 1 for h in cfg.model.hidden):
        raise ConfigError(f"model.hidden={list(cfg.model.hidden)} is out of range: every size must be >= 1")


__all__ = ["Config", "ConfigError", "MISSING", "plain", "register_configs", "validate"]
