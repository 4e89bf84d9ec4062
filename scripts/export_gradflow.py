#!/usr/bin/env python
"""The same as ``aelab-export-gradflow`` (see src/aelab/cli/export_gradflow.py)."""

from aelab.cli import export_gradflow

export_gradflow()
