"""The config: every key declared once (:mod:`.keys`, :mod:`.schema`, and each family's and kind's
``config.py``), composed by Hydra from ``conf/`` (shipped as ``aelab.conf``), converted once into
those dataclasses, checked, and fingerprinted. Nothing in this package imports torch (but the
memory check, which looks at the device).

* :func:`compose` — the config exactly as ``aelab-train <overrides>`` builds it (Python, tests).
* :func:`to_config` — composed (or recorded, plain) config → :class:`Config`; unknown keys refused.
* :func:`check` — every key against its declaration, the rules between keys, then the memory.
* :func:`complete_saved` — a recorded config with every key as the run trained, or refused.
* :func:`fingerprint`, :func:`differences` — what makes two runs the same run.
"""

from aelab.config.check import check, check_keys, check_size, training_bytes
from aelab.config.compose import CONF_PACKAGE, compose, register_configs
from aelab.config.convert import lookup, merge_overrides, override_key, plain, to_config, to_dict
from aelab.config.saved import compatibility, complete_saved, differences, fingerprint, keys_with_role, volatile
from aelab.config.schema import Config
from aelab.errors import ConfigError

__all__ = [
    "CONF_PACKAGE",
    "Config",
    "ConfigError",
    "check",
    "check_keys",
    "check_size",
    "compatibility",
    "complete_saved",
    "compose",
    "differences",
    "fingerprint",
    "keys_with_role",
    "lookup",
    "merge_overrides",
    "override_key",
    "plain",
    "register_configs",
    "to_config",
    "to_dict",
    "training_bytes",
    "volatile",
]
