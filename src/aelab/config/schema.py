"""The config schema: one dataclass per group, every key declared once with :func:`~aelab.keys.key`.

Hydra composes ``conf/`` over these dataclasses (the YAML files hold only what differs from the
defaults here); :func:`aelab.config.to_config` turns the result into them once, refusing unknown
keys; :func:`aelab.config.check` checks every key against its declaration, then the rules below
that tie keys together. Each model family and each autoencoder kind brings its own dataclass
(``aelab/models/<family>/config.py``, ``aelab/ae/<kind>/config.py``), so a key of another family
(``model=conv model.hidden=[10]``) is an unknown key. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from omegaconf import MISSING

from aelab.backprop.activations import ACTIVATIONS
from aelab.data import DATASETS, check_keys_apply, image_format
from aelab.data.sets.emnist import SPLITS as EMNIST_SPLITS
from aelab.data.whiten import NORMALIZE
from aelab.errors import ConfigError
from aelab.keys import SEED_MAX, key
from aelab.loggers import LOGGER_CONFIGS, LOGGER_NAMES
from aelab.models.config import MAX_DEPTH

DEVICES = ("auto", "cpu", "cuda")


@dataclass
class DataConfig:
    """``data.*``: the keys every dataset reads, then each dataset's own (null where it does not
    apply: a dataset's ``conf/data/<name>.yaml`` sets them, and they are refused for the others)."""

    name: str = key("mnist", "the dataset", choices=DATASETS, hparam="dataset")
    root: str = key("${oc.env:AELAB_DATA_DIR,data}", "the folder that holds <dataset>/raw", role="where")
    download: bool = key(True, "download missing files (never under AELAB_OFFLINE=1)", role="where")
    limit: Optional[int] = key(
        None, "train on the first N images (quick runs)", low=1, hparam="data_limit", hparam_none="all"
    )
    eval_limit: Optional[int] = key(None, "validate and test on the first N images", low=1)
    split_seed: int = key(0, "the seed of the fixed train/validation split", low=0, high=SEED_MAX)
    shift_augment: int = key(
        0, "shift training images by up to N pixels (at most half the image side)", low=0, hparam="shift_augment"
    )
    unshifted_last_epochs: int = key(
        0,
        "train the last N epochs without the shifts (all, if N >= trainer.epochs)",
        low=0,
        hparam="unshifted_last",
        missing=0,
    )
    grayscale: Optional[bool] = key(
        None, "cifar10, svhn, patches: one grey channel (luma) instead of colour", hparam="grayscale", missing=None
    )
    patch_size: Optional[int] = key(
        None, "patches: the side of the square patches, in pixels", low=2, high=64, hparam="patch_size", missing=None
    )
    normalize: Optional[str] = key(
        None,
        "patches: none (pixels in [0, 1]), standardize, or zca (whitened); not none needs a linear output",
        choices=NORMALIZE,
        hparam="normalize",
        missing=None,
    )
    split: Optional[str] = key(None, "emnist: which of its splits", choices=EMNIST_SPLITS, missing=None)
    path: Optional[str] = key(None, "folder: your folder of images (flat, or a subfolder per class)", role="where")
    size: Optional[int] = key(None, "folder: images resized to size × size", low=2, high=1024, missing=None)
    channels: Optional[int] = key(None, "folder: 1 (grey) or 3 (colour)", choices=(1, 3), missing=None)

    def check_rules(self) -> None:
        check_keys_apply(self)


@dataclass
class OptimizerConfig:
    name: str = key(
        "adam", "adam: AdamW; sgd: the lecture's update with inertia", choices=("adam", "sgd"), hparam="optimizer"
    )
    lr: float = key(1e-3, "the learning rate α (as tuned at base_batch_size)", above=0, hparam="lr")
    beta: float = key(
        0.1, "sgd: β of ΔW(t+1) = β(−α(∇E + λW)) + (1 − β)ΔW(t); 1 is plain SGD", above=0, high=1, hparam="beta"
    )
    weight_decay: float = key(
        0.0, "λ: L2 for sgd (∇E + λW), decoupled weight decay for adam", low=0, hparam="weight_decay"
    )
    schedule: str = key(
        "none", "the per-step learning-rate schedule", choices=("none", "cosine", "onecycle"), hparam="schedule"
    )
    warmup_fraction: float = key(0.3, "onecycle: the share of steps spent warming up", above=0, below=1)
    anneal_strategy: str = key(
        "cos",
        "onecycle: the shape of the warm-up and the decay",
        choices=("cos", "linear"),
        hparam="anneal",
        missing="cos",
    )
    lr_scaling: str = key(
        "none",
        "lr at other batch sizes: lr·B/B₀ (linear) or lr·√(B/B₀) (sqrt)",
        choices=("none", "linear", "sqrt"),
        hparam="lr_scaling",
    )
    base_batch_size: int = key(128, "B₀: the batch size lr is tuned at", low=1)
    eps: float = key(1e-8, "adam: ε, added to √v̂ in the update's denominator", above=0, hparam="eps", missing=1e-8)
    fused: bool = key(
        False, "torch.optim's fused kernel: the same update up to rounding, in one pass", hparam="fused", missing=False
    )


@dataclass
class LossConfig:
    name: str = key(
        "mse", "mse: the lecture's 1/(2n) Σ‖x̂ − x‖²; bce: on the logits", choices=("mse", "bce"), hparam="loss"
    )


@dataclass
class TrainerConfig:
    epochs: int = key(10, "passes over the training set", low=1, hparam="epochs")
    batch_size: int = key(128, "images per optimizer step", low=1, hparam="batch_size")
    eval_batch_size: int = key(1000, "images per evaluation batch", low=1)
    precision: str = key("fp32", "fp32, or bf16 autocast", choices=("fp32", "bf16"), hparam="precision")
    cuda_graphs: bool = key(False, "replay the whole step as one CUDA graph (device=cuda)")
    compile: bool = key(False, "torch.compile the model's forward")
    progress: Optional[bool] = key(None, "a progress bar (null: when stderr is a terminal)", role="where")
    threads: Optional[int] = key(
        None, "torch CPU threads (null: torch's default; launchers set a share)", low=1, role="where"
    )


@dataclass
class LoggingKeys:
    """``logging.*``: the keys every logger reads. :data:`LoggingConfig` adds one group per logger
    that declares keys of its own (``logging.mlflow.*``)."""

    loggers: list[str] = key(
        factory=lambda: ["tensorboard"], doc="the run's loggers ([] for none)", choices=LOGGER_NAMES
    )
    every_n_steps: int = key(50, "per-step values every N optimizer steps", low=1)
    histograms_every_n_epochs: int = key(1, "weight, gradient and activation histograms every N epochs", low=1)
    scalars: bool = key(True, "losses, metrics, lr, samples/s")
    grad_flow: bool = key(True, "per-layer ‖∂E/∂W‖, ‖δ‖, ‖W‖, saturation")
    histograms: bool = key(True, "histograms of weights, gradients and activations")
    images: bool = key(True, "reconstructions, interpolation, the kind's images")
    hparams: bool = key(True, "the HPARAMS table")
    projector: bool = key(True, "the codes of test images in the embedding projector")
    n_images: int = key(16, "test images in the reconstruction grid", low=0)
    n_projector: int = key(1000, "test images in the projector", low=0)

    def check_rules(self) -> None:
        """Each logger in use that declares keys may refuse to start (an optional package missing)."""
        for name in self.loggers:
            check_in_use = getattr(getattr(self, name, None), "check_in_use", None)
            if check_in_use is not None:
                check_in_use()


def _logging_config() -> type:
    """``LoggingKeys`` and one group per logger with a ``config.py`` (its ``CONFIG`` dataclass), so a
    logger's keys are accepted, checked, listed and recorded with no edit here."""
    groups = [
        (name, LOGGER_CONFIGS[name], key(factory=LOGGER_CONFIGS[name], doc=f"the {name} logger's keys"))
        for name in LOGGER_CONFIGS
    ]
    cls = dataclasses.make_dataclass("LoggingConfig", groups, bases=(LoggingKeys,))
    cls.__module__, cls.__doc__ = __name__, LoggingKeys.__doc__
    return cls


if TYPE_CHECKING:  # the groups are read from the folders; a type checker sees the keys they share
    LoggingConfig = LoggingKeys
else:
    LoggingConfig = _logging_config()


@dataclass
class PretrainConfig:
    """``pretrain=layerwise``: greedy layer-wise pretraining before the end-to-end training
    (:mod:`aelab.training.pretrain`); ``pretrain=none``: start from the initial weights."""

    name: str = key("none", "none, or layerwise (model=mlp)", choices=("none", "layerwise"), hparam="pretrain")
    epochs_per_layer: int = key(2, "layerwise: epochs of each layer's shallow autoencoder", low=1)
    lr: Optional[float] = key(None, "layerwise: its learning rate (null: optimizer.lr)", above=0)


@dataclass
class Config:
    activation: str = key("relu", "the hidden layers' activation (model.activation follows it)", choices=ACTIVATIONS)
    depth: int = key(4, "layers per side, encoder = decoder (model.depth follows it)", low=1, high=MAX_DEPTH)
    seed: int = key(
        0, "the seed of the init, the batch order and the augmentation", low=0, high=SEED_MAX, hparam="seed"
    )
    device: str = key("auto", "auto: cuda when a GPU is visible, else cpu", choices=DEVICES, role="where")
    resume: Optional[str] = key(None, "a run directory to continue", role="where")
    skip_done: bool = key(False, "skip the same completed run in the directory, resume an unfinished one", role="where")
    model: Any = key(MISSING, "the model family's keys (model=mlp|conv)")
    ae: Any = key(
        MISSING, "the autoencoder kind's keys (ae=plain|denoising|sparse|contractive|vae)", missing={"name": "plain"}
    )
    pretrain: PretrainConfig = key(factory=PretrainConfig, doc="layer-wise pretraining", missing={"name": "none"})
    data: DataConfig = key(factory=DataConfig, doc="the dataset")
    optimizer: OptimizerConfig = key(factory=OptimizerConfig, doc="the optimizer and its schedule")
    loss: LossConfig = key(factory=LossConfig, doc="the reconstruction loss")
    trainer: TrainerConfig = key(factory=TrainerConfig, doc="the training loop")
    logging: LoggingConfig = key(factory=LoggingConfig, doc="what the loggers record", role="report")

    def check_together(self) -> None:
        """The rules that tie keys of several groups together (each key alone is checked by its declaration)."""
        for name, value, top in (
            ("activation", self.model.activation, self.activation),
            ("depth", self.model.depth, self.depth),
        ):
            if value != top:
                raise ConfigError(
                    f"model.{name}={value} disagrees with {name}={top}: set {name}= alone (model.{name} follows it)"
                )
        self.model.check_with(self)
        self.ae.check_with(self)
        images = image_format(self.data)
        side = min(images.shape[1:])
        if self.data.shift_augment > side // 2:  # a larger shift moves most of the image out of it
            raise ConfigError(
                f"data.shift_augment={self.data.shift_augment} is out of range: data.shift_augment must be "
                f"<= {side // 2} (half the {side}-pixel image side)"
            )
        if self.pretrain.name == "layerwise":
            self._check_layerwise()
        if not images.in_unit_range and self.model.output_activation == "sigmoid":
            raise ConfigError(
                f"data.normalize={self.data.normalize} gives values outside [0, 1], which a σ output cannot "
                "reconstruct: use model.output_activation=identity loss=mse (conf/data/patches.yaml sets it), "
                "or data.normalize=none"
            )
        if self.model.output_activation != "sigmoid" and self.loss.name == "bce":
            raise ConfigError("loss=bce needs model.output_activation=sigmoid (BCE is on the σ's logits); use loss=mse")
        if self.trainer.cuda_graphs and self.trainer.compile:
            raise ConfigError("trainer.cuda_graphs and trainer.compile are two ways to speed up the step: pick one")

    def _check_layerwise(self) -> None:
        """``pretrain=layerwise`` stacks shallow autoencoders of a kind that stacks (``AEConfig.stacks``)
        on a family whose decoder is the transposed encoder, layer for layer (``ModelConfig.tied``)."""
        from aelab.ae import KIND_CONFIGS
        from aelab.models import FAMILY_CONFIGS

        if not self.model.tied:
            tied = ", ".join(f"model={n}" for n in FAMILY_CONFIGS if FAMILY_CONFIGS[n].tied)
            raise ConfigError(
                f"pretrain=layerwise needs a chain of dense layers that the decoder mirrors ({tied}: its unrolled "
                f"decoder is the transposed encoder), not model={self.model.family}"
            )
        if not self.ae.stacks:
            stacks = " or ".join(f"ae={n}" for n in KIND_CONFIGS if KIND_CONFIGS[n].stacks)
            raise ConfigError(
                f"pretrain=layerwise stacks shallow autoencoders of one kind ({stacks}), not ae={self.ae.name}: "
                f"use {stacks}, or pretrain=none"
            )


GROUPS: dict[str, type] = {
    "data": DataConfig,
    "optimizer": OptimizerConfig,
    "loss": LossConfig,
    "trainer": TrainerConfig,
    "logging": LoggingConfig,
    "pretrain": PretrainConfig,
}

__all__ = [
    "DEVICES",
    "GROUPS",
    "Config",
    "DataConfig",
    "LoggingConfig",
    "LoggingKeys",
    "LossConfig",
    "OptimizerConfig",
    "PretrainConfig",
    "TrainerConfig",
]
