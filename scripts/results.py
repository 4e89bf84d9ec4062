#!/usr/bin/env python
"""The results tables: the same as ``aelab-results`` (src/aelab/cli/results.py); ``--help`` lists
the options, ``--table main|kinds|pretraining`` picks the table."""

from aelab.cli import results

results()
