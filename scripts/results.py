#!/usr/bin/env python
"""The results tables: ``aelab-results`` (the main table, src/aelab/cli/results.py), plus
``--table kinds`` and ``--table pretraining`` (src/aelab/reports/results/cli.py)."""

import sys

from aelab.reports.results.cli import main

sys.exit(main())
