"""The config: composed by Hydra from ``conf/`` (shipped as ``aelab.conf``), converted once into the
dataclasses of :mod:`aelab.config.schema`, checked, and fingerprinted.

* :func:`compose` — the config exactly as ``aelab-train <overrides>`` builds it (Python, tests).
* :func:`to_config` — composed (or saved, plain) config → :class:`Config`; unknown keys refused.
* :func:`check` — every choice, range and cross-group rule, then the pre-flight size check: the
  model's parameters and activations against the memory the device has, before anything is
  allocated, naming the key that makes it too large.
* :func:`fingerprint` — what makes two runs the same run (for ``skip_done``).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
from typing import Any

import torch
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from aelab.ae import KINDS, ae_config
from aelab.config.schema import GROUPS, Config
from aelab.config.sweep import job_dir_name
from aelab.errors import ConfigError
from aelab.models import FAMILIES, family, model_size

CONF_PACKAGE = "aelab.conf"


def _groups() -> str:
    """``--help``'s list of config groups and their options, read from the shipped conf/."""
    import importlib.resources

    root = importlib.resources.files(CONF_PACKAGE)
    lines = []
    for group in sorted(
        (p for p in root.iterdir() if p.is_dir() and p.name not in ("hydra", "__pycache__")), key=lambda p: p.name
    ):
        options = sorted(f.name[: -len(".yaml")] for f in group.iterdir() if f.name.endswith(".yaml"))
        lines.append(f"  {group.name + ':':17} {', '.join(options)}")
    return "\n".join(lines)


def _choices(what: str) -> str:
    from aelab.backprop import ACTIVATIONS

    return ", ".join({"activation": ACTIVATIONS}[what])


for _name, _resolver in (("aelab_job_dir", job_dir_name), ("aelab_groups", _groups), ("aelab_choices", _choices)):
    if not OmegaConf.has_resolver(_name):  # hydra.sweep.subdir (03_activation=sigmoid,depth=8), --help
        OmegaConf.register_new_resolver(_name, _resolver)
# Keys that may differ between two attempts at the same run: where it runs and how it reports.
VOLATILE = (
    "resume",
    "skip_done",
    "device",
    "data.root",
    "data.download",
    "trainer.progress",
    "trainer.threads",
    "logging",
)


def register_configs() -> None:
    """Register the schemas Hydra checks the YAML against: ``config_schema`` (conf/config.yaml's first
    default), ``schema/model/<family>`` per model family (each conf/model/<family>.yaml's) and
    ``schema/ae/<kind>`` per autoencoder kind (each conf/ae/<kind>.yaml's)."""
    store = ConfigStore.instance()
    store.store(name="config_schema", node=Config)
    for name, fam in FAMILIES.items():
        store.store(group="schema/model", name=name, node=fam.config)
    for name, kind in KINDS.items():
        store.store(group="schema/ae", name=name, node=kind.config)


def compose(overrides: list[str] | None = None, return_hydra_config: bool = False) -> DictConfig:
    """The config exactly as ``aelab-train <overrides>`` would build it (outside a Hydra app)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    register_configs()
    with initialize_config_module(config_module=CONF_PACKAGE, version_base="1.3"):
        return hydra_compose(
            config_name="config", overrides=list(overrides or []), return_hydra_config=return_hydra_config
        )


def _build(cls: type, values: Any, prefix: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'the config'} must be a mapping, got {values!r}")
    names = [f.name for f in dataclasses.fields(cls)]
    for key in values:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else f"; valid keys: {', '.join(names)}"
            raise ConfigError(f"unknown key {prefix}{key}{hint}")
    return cls(**values)


def upgrade_saved(values: dict[str, Any]) -> dict[str, Any]:
    """A config recorded by a run (checkpoint, .hydra/config.yaml, metrics.json) with the keys added
    since filled in at the value that run trained with, so resuming, skip_done and load_run see what
    it was. Only for saved configs: a new config gets the keys' defaults. Returns a new dict."""
    values = json.loads(json.dumps(values))
    model = values.get("model")
    if isinstance(model, dict) and model.get("family") == "conv" and "conv_kernel" not in model:
        model["conv_kernel"] = "unfold"  # saved before the key existed: unfold was the only kernel
    optimizer = values.get("optimizer")
    if isinstance(optimizer, dict):  # saved before these keys existed: what that run did
        optimizer.setdefault("fused", False)  # the per-parameter loop
        optimizer.setdefault("anneal_strategy", "cos")  # OneCycleLR's default
    data = values.get("data")
    if isinstance(data, dict):
        data.setdefault("unshifted_last_epochs", 0)  # every epoch was shifted (with shift_augment)
    return values


def to_config(cfg: DictConfig | dict[str, Any]) -> Config:
    """The typed config, from a composed DictConfig (resolved here) or a plain dict (e.g. one saved in a
    checkpoint: its strings are taken literally, never interpolated)."""
    if isinstance(cfg, DictConfig):
        try:
            values = OmegaConf.to_container(cfg, resolve=True)
        except OmegaConfBaseException as err:
            key = getattr(err, "full_key", None)
            raise ConfigError(f"{key + ': ' if key else ''}{str(err).splitlines()[0]}") from None
    else:
        values = json.loads(json.dumps(cfg))  # a deep copy of plain values
    if not isinstance(values, dict):
        raise ConfigError("the config must be a mapping")
    values = dict(values)
    model = values.pop("model", None)
    if not isinstance(model, dict):
        raise ConfigError("the config has no model group (model=mlp or model=conv)")
    model_cls = family(str(model.get("family"))).config
    # a config from before the kinds existed has no ae group: it trained the plain autoencoder
    ae = values.pop("ae", None) or {"name": "plain"}
    if not isinstance(ae, dict):
        raise ConfigError(f"ae must be a mapping, got {ae!r}")
    ae_cls = type(ae_config({"name": ae.get("name", "plain")}))
    groups = {name: _build(cls, values.pop(name, {}) or {}, f"{name}.") for name, cls in GROUPS.items()}
    return _build(
        Config, {**values, **groups, "model": _build(model_cls, model, "model."), "ae": _build(ae_cls, ae, "ae.")}, ""
    )


def override_key(override: str) -> str:
    """``+model.width=8`` → ``model.width``: the key a command-line override sets."""
    return override.split("=", 1)[0].lstrip("+~")


def merge_overrides(*groups: Any) -> list[str]:
    """Overrides in order, a later value of a key replacing an earlier one (Hydra refuses a key twice)."""
    merged: dict[str, str] = {}
    for group in groups:
        for item in group:
            merged.pop(override_key(item), None)
            merged[override_key(item)] = item
    return list(merged.values())


def to_dict(config: Config) -> dict[str, Any]:
    return dataclasses.asdict(config)


def lookup(values: dict[str, Any], key: str) -> Any:
    node: Any = values
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _leaves(values: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(values, dict):
        return {prefix.rstrip("."): values}
    out: dict[str, Any] = {}
    for key, value in values.items():
        out.update(_leaves(value, f"{prefix}{key}."))
    return out


# Groups added after runs existed, at the value that trains as those runs did: left out of the
# fingerprint, so a run from before them is still the same run (skip_done, resume).
AS_BEFORE = {"ae.name": "plain", "pretrain.name": "none"}


def _stable(values: dict[str, Any]) -> dict[str, Any]:
    leaves = {
        k: v for k, v in _leaves(values).items() if not any(k == vol or k.startswith(vol + ".") for vol in VOLATILE)
    }
    for key, value in AS_BEFORE.items():
        group = key.split(".")[0]
        if leaves.get(key, value) == value:  # the whole group is then inert: drop it
            leaves = {k: v for k, v in leaves.items() if not k.startswith(group + ".")}
    return leaves


def fingerprint(config: Config | dict[str, Any]) -> str:
    """SHA-256 of the resolved config less :data:`VOLATILE` keys: equal for two attempts at the same run."""
    values = to_dict(config) if isinstance(config, Config) else config
    return hashlib.sha256(json.dumps(_stable(values), sort_keys=True, default=str).encode()).hexdigest()


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``key: old → new`` for every non-volatile key whose value differs."""
    a, b = _stable(old), _stable(new)
    return [f"{k}: {a.get(k)!r} there vs {b.get(k)!r} now" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def training_bytes(config: Config) -> int:
    """About how many bytes training ``config`` needs on its device: weights, gradients, optimizer
    state, the kept best weights and a serialized checkpoint (7–8 copies of the parameters), the
    layer outputs of a training and an evaluation batch, and the dataset (60,000 + 10,000 images)."""
    size = model_size(config.model)
    copies = 8 if config.optimizer.name == "adam" else 7
    batch = config.trainer.batch_size * 2 + config.trainer.eval_batch_size
    return 4 * (copies * size.params + batch * size.floats_per_example + 70_000 * 784)


_DEFAULTS = {
    "depth": 4,
    "model.width": 256,
    "model.hidden": None,
    "model.channels": 32,
    "model.fc_hidden": 0,
    "model.code_dim": 30,
    "trainer.batch_size": 128,
    "trainer.eval_batch_size": 1000,
}


def _with(config: Config, key: str, value: Any) -> Config:
    new = dataclasses.replace(
        config, model=dataclasses.replace(config.model), trainer=dataclasses.replace(config.trainer)
    )
    group, _, name = key.rpartition(".")
    if not group:  # depth: the model's depth follows the top-level key
        new.depth = new.model.depth = value
    else:
        setattr(getattr(new, group), name, value)
    return new


def check_size(config: Config, device: torch.device) -> None:
    """Refuse a config whose training would not fit in the device's memory, naming the key that
    makes it too large (the one whose default value would shrink it most); nothing is allocated."""
    from aelab.hardware import available_memory

    budget = available_memory(device)
    need = training_bytes(config)
    if budget is None or need <= 0.9 * budget:
        return
    keys = dict(model_size(config.model).keys)
    keys.update(
        {"trainer.batch_size": config.trainer.batch_size, "trainer.eval_batch_size": config.trainer.eval_batch_size}
    )
    shrunk = {
        key: training_bytes(_with(config, key, _DEFAULTS[key]))
        for key in keys
        if key in _DEFAULTS and keys[key] != _DEFAULTS[key]
    }
    culprit = min(shrunk, key=shrunk.__getitem__) if shrunk else "model"
    value = keys.get(culprit)
    size = model_size(config.model)
    raise ConfigError(
        f"{culprit}={value if not isinstance(value, list) else list(value)} makes the run too large for this "
        f"{device.type.upper()}: {size.params:.3g} parameters, about {need / 2**30:,.1f} GiB to train, but "
        f"{budget / 2**30:,.1f} GiB of memory is available; choose a smaller {culprit}"
    )


def check(config: Config, device: torch.device | None = None) -> None:
    """Every choice and range of ``config`` (one ConfigError naming the key), then, given the device,
    the size check."""
    config.check()
    if device is not None:
        check_size(config, device)


__all__ = [
    "CONF_PACKAGE",
    "VOLATILE",
    "Config",
    "ConfigError",
    "check",
    "check_size",
    "compose",
    "differences",
    "fingerprint",
    "lookup",
    "merge_overrides",
    "override_key",
    "register_configs",
    "to_config",
    "to_dict",
    "training_bytes",
    "upgrade_saved",
]
