#!/usr/bin/env python
"""The same as ``aelab-results`` (see src/aelab/cli/results.py)."""

from aelab.cli import results

results()
