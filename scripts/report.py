#!/usr/bin/env python
"""The same as ``aelab-report`` (see src/aelab/cli/report.py)."""

from aelab.cli import report

report()
