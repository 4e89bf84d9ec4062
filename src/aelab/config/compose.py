"""Composing the config as ``aelab-train`` does: the schemas Hydra checks the YAML against, and the
resolvers ``conf/`` uses (job dir names, ``--help``'s lists). Nothing here imports torch."""

from __future__ import annotations

import importlib.resources

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from aelab.ae import KIND_CONFIGS
from aelab.config.schema import Config
from aelab.config.sweep import job_dir_name
from aelab.models import FAMILY_CONFIGS

CONF_PACKAGE = "aelab.conf"


def _groups() -> str:
    """``--help``'s list of config groups and their options, read from the shipped conf/."""
    root = importlib.resources.files(CONF_PACKAGE)
    lines = []
    for group in sorted(
        (p for p in root.iterdir() if p.is_dir() and p.name not in ("hydra", "__pycache__")), key=lambda p: p.name
    ):
        options = sorted(f.name[: -len(".yaml")] for f in group.iterdir() if f.name.endswith(".yaml"))
        lines.append(f"  {group.name + ':':17} {', '.join(options)}")
    return "\n".join(lines)


def _keys() -> str:
    """``--help``'s list of every key with its default, range or choices, and doc."""
    from aelab.config.reference import help_lines

    return "\n".join(help_lines()).replace("$", "$$")  # Hydra fills the help text with string.Template


for _name, _resolver in (("aelab_job_dir", job_dir_name), ("aelab_groups", _groups), ("aelab_keys", _keys)):
    if not OmegaConf.has_resolver(_name):  # hydra.sweep.subdir (03_activation=sigmoid,depth=8), --help
        OmegaConf.register_new_resolver(_name, _resolver)


def register_configs() -> None:
    """Register the schemas Hydra checks the YAML against: ``config_schema`` (conf/config.yaml's first
    default), ``schema/model/<family>`` per model family (each conf/model/<family>.yaml's) and
    ``schema/ae/<kind>`` per autoencoder kind (each conf/ae/<kind>.yaml's)."""
    store = ConfigStore.instance()
    store.store(name="config_schema", node=Config)
    for name in FAMILY_CONFIGS:
        store.store(group="schema/model", name=name, node=FAMILY_CONFIGS[name])
    for name in KIND_CONFIGS:
        store.store(group="schema/ae", name=name, node=KIND_CONFIGS[name])


def compose(overrides: list[str] | None = None, return_hydra_config: bool = False) -> DictConfig:
    """The config exactly as ``aelab-train <overrides>`` would build it (outside a Hydra app)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    register_configs()
    with initialize_config_module(config_module=CONF_PACKAGE, version_base="1.3"):
        return hydra_compose(
            config_name="config", overrides=list(overrides or []), return_hydra_config=return_hydra_config
        )


__all__ = ["CONF_PACKAGE", "compose", "register_configs"]
