"""``python -m aelab [overrides]``: the same as ``aelab-train``."""

from aelab.cli import train

train()
