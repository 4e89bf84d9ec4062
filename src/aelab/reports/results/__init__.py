"""The results tables: 30-d codes of MNIST from PCA, a linear autoencoder, the hinton2006 MLP and the
conv autoencoder, side by side with Hinton & Salakhutdinov (Science 2006); the autoencoder kinds
(plain, denoising, sparse, contractive, VAE) on the MLP and the conv net; and the logistic net with
and without layer-wise pretraining next to the ReLU net.

One job per module: :mod:`.methods` (which methods, trained by which preset of ``conf/experiment/``),
:mod:`.measure` (reconstruction, linear probe, P@10, transfer — the same way for every method),
:mod:`.render` (RESULTS.md through :mod:`aelab.reports.render`), :mod:`.run` (train or collect,
measure, write) and :mod:`.cli` (``scripts/results.py``, with ``--table``).
"""

from aelab.reports.results.measure import FULL, PUBLISHED, QUICK, EvalData, Settings, checks, code_encoder
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
from aelab.reports.results.render import TABLE_FILES, render_document, render_markdown, split_document
from aelab.reports.results.run import (
    parse_runs,
    run_kinds,
    run_pretraining,
    run_results,
    train_method,
    write_document,
    write_results,
)

__all__ = [
    "AE_METHODS",
    "FULL",
    "KINDS",
    "METHODS",
    "NETWORKS",
    "PRETRAINING",
    "PUBLISHED",
    "QUICK",
    "TABLE_FILES",
    "EvalData",
    "Settings",
    "checks",
    "code_encoder",
    "kind_overrides",
    "method_overrides",
    "parse_runs",
    "pretrain_overrides",
    "render_document",
    "render_markdown",
    "run_kinds",
    "run_pretraining",
    "run_results",
    "split_document",
    "train_method",
    "write_document",
    "write_results",
]
