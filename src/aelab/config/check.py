"""Checking a config before anything is created: every key against its declaration, then the rules
that tie keys together, then (given the device) whether the run fits in its memory.

Every refusal is one :class:`~aelab.errors.ConfigError` naming the key. Only the memory check
looks at the device; everything before it runs without torch.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aelab.config.schema import Config
from aelab.errors import ConfigError
from aelab.keys import check_fields, default_of


def _groups(config: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(prefix, group) for the config and every nested group, outermost first."""
    found = [(prefix, config)]
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            found += _groups(value, f"{prefix}{field.name}.")
    return found


def check_keys(config: Config) -> None:
    """Every key of every group against its declaration, each group's own rules, then the rules
    across groups (:meth:`Config.check_together`)."""
    groups = _groups(config)
    for prefix, group in groups:
        check_fields(group, prefix)
    for _, group in groups:
        if hasattr(group, "check_rules"):
            group.check_rules()
    config.check_together()


def training_bytes(config: Config) -> int:
    """About how many bytes training ``config`` needs on its device: weights, gradients, optimizer
    state, the kept best weights and a serialized checkpoint (7–8 copies of the parameters), the
    layer outputs of a training and an evaluation batch, and the dataset's images (their shape and
    number under ``data.*``: :func:`aelab.data.image_format`)."""
    from aelab.data import dataset_of, image_format

    images = image_format(config.data)
    size = config.model.size(images.shape)
    copies = 8 if config.optimizer.name == "adam" else 7
    batch = config.trainer.batch_size * 2 + config.trainer.eval_batch_size
    n_images = dataset_of(config.data).images_of(config.data)
    return 4 * (copies * size.params + batch * size.floats_per_example + n_images * images.n_values)


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


def _declared_default(config: Config, key: str) -> Any:
    """The declared default of a size-setting key (``depth``, ``model.width``, ``trainer.batch_size``...)."""
    group, _, name = key.rpartition(".")
    cls = type(getattr(config, group)) if group else Config
    return default_of(next(f for f in dataclasses.fields(cls) if f.name == name))


def check_size(config: Config, device: Any) -> None:
    """Refuse a config whose training would not fit in the memory of ``device`` (a torch.device),
    naming the key that makes it too large (the one whose default value would shrink it most)."""
    from aelab.hardware import available_memory

    budget = available_memory(device)
    need = training_bytes(config)
    if budget is None or need <= 0.9 * budget:
        return
    from aelab.data import image_format

    size = config.model.size(image_format(config.data).shape)
    keys = {
        **size.keys,
        "trainer.batch_size": config.trainer.batch_size,
        "trainer.eval_batch_size": config.trainer.eval_batch_size,
    }
    shrunk = {
        key: training_bytes(_with(config, key, default))
        for key, value in keys.items()
        if (default := _declared_default(config, key)) != value
    }
    culprit = min(shrunk, key=shrunk.__getitem__) if shrunk else "model"
    value = keys.get(culprit)
    raise ConfigError(
        f"{culprit}={value if not isinstance(value, list) else list(value)} makes the run too large for this "
        f"{device.type.upper()}: {size.params:.3g} parameters, about {need / 2**30:,.1f} GiB to train, but "
        f"{budget / 2**30:,.1f} GiB of memory is available; choose a smaller {culprit}"
    )


def check(config: Config, device: Any = None) -> None:
    """Every key, rule and cross-group rule of ``config`` (one ConfigError naming the key); given a
    device (a torch.device), also the memory it needs there."""
    check_keys(config)
    if device is not None:
        check_size(config, device)


__all__ = ["check", "check_keys", "check_size", "training_bytes"]
