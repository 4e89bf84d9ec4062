#!/usr/bin/env python
"""Train one autoencoder (or a sweep with -m): the same as ``aelab-train``. See README.md.

python scripts/train.py activation=relu depth=8
python scripts/train.py -m activation=relu,sigmoid depth=2,8
"""

from aelab.cli import train

train()
