"""The results tables: 30-d codes of MNIST from PCA, a linear autoencoder, the hinton2006 MLP and the
conv autoencoder, side by side with Hinton & Salakhutdinov (Science 2006); the autoencoder kinds
(plain, denoising, sparse, contractive, VAE) on the MLP and the conv net; and the logistic net with
and without layer-wise pretraining next to the ReLU net.

A table is data (:mod:`.spec`: rows × the overrides that train them × measured columns), one
module each: :mod:`.table_main`, :mod:`.table_kinds`, :mod:`.table_pretraining` (all in
:mod:`.tables`). One runner measures any of them (:func:`.runner.run_table`); :mod:`.store` merges
its rows into the table's JSON file under the folder's lock (:mod:`.lock`); :mod:`.document`
renders RESULTS.md from the JSON files (:mod:`.render_main`, :mod:`.render_kinds`,
:mod:`.render_pretraining`, cells in :mod:`.format`). Below them: :mod:`.methods` (which preset
trains what), :mod:`.measure` (probe, P@k, transfer) and :mod:`.rows` (a run's row). The command
line is :mod:`aelab.cli.results` (``aelab-results``, ``scripts/results.py``).
"""

from aelab.reports.results.document import render_document, render_table, split_document, write_document
from aelab.reports.results.measure import FULL, QUICK, EvalData, Settings, code_encoder
from aelab.reports.results.methods import (
    AE_METHODS,
    KINDS,
    METHODS,
    NETWORKS,
    PRETRAINING,
    kind_overrides,
    method_overrides,
    pretrain_overrides,
)
from aelab.reports.results.runner import TableInterrupted, parse_runs, run_table, select_rows, train_method
from aelab.reports.results.spec import Row, RunSettings, TableSpec
from aelab.reports.results.table_main import PUBLISHED, checks
from aelab.reports.results.tables import TABLE_FILES, TABLES

__all__ = [
    "AE_METHODS",
    "FULL",
    "KINDS",
    "METHODS",
    "NETWORKS",
    "PRETRAINING",
    "PUBLISHED",
    "QUICK",
    "TABLES",
    "TABLE_FILES",
    "EvalData",
    "Row",
    "RunSettings",
    "Settings",
    "TableInterrupted",
    "TableSpec",
    "checks",
    "code_encoder",
    "kind_overrides",
    "method_overrides",
    "parse_runs",
    "pretrain_overrides",
    "render_document",
    "render_table",
    "run_table",
    "select_rows",
    "split_document",
    "train_method",
    "write_document",
]
