#!/usr/bin/env python
"""The same as ``aelab-evaluate`` (see src/aelab/cli/evaluate.py)."""

from aelab.cli import evaluate

evaluate()
