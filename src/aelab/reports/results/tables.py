"""The results tables, in the order RESULTS.md holds them."""

from __future__ import annotations

from aelab.reports.results.spec import TableSpec
from aelab.reports.results.table_datasets import DATASETS_TABLE
from aelab.reports.results.table_kinds import KINDS_TABLE
from aelab.reports.results.table_main import MAIN
from aelab.reports.results.table_pretraining import PRETRAINING_TABLE

TABLES: dict[str, TableSpec] = {spec.name: spec for spec in (MAIN, KINDS_TABLE, PRETRAINING_TABLE, DATASETS_TABLE)}
TABLE_FILES = {name: spec.file for name, spec in TABLES.items()}

__all__ = ["TABLES", "TABLE_FILES"]
