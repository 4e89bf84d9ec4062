"""The results table: 30-d codes of MNIST from PCA, a linear autoencoder, the hinton2006 MLP and the
conv autoencoder, side by side with Hinton & Salakhutdinov (Science 2006).

One job per module: :mod:`.methods` (which methods, trained by which preset of ``conf/experiment/``),
:mod:`.measure` (reconstruction, linear probe, P@10, transfer — the same way for every method),
:mod:`.render` (RESULTS.md through :mod:`aelab.reports.render`) and :mod:`.run` (train or collect,
measure, write).
"""

from aelab.reports.results.measure import FULL, PUBLISHED, QUICK, EvalData, Settings, checks
from aelab.reports.results.methods import AE_METHODS, METHODS, method_overrides
from aelab.reports.results.render import render_markdown
from aelab.reports.results.run import parse_runs, run_results, train_method, write_results

__all__ = [
    "AE_METHODS",
    "FULL",
    "METHODS",
    "PUBLISHED",
    "QUICK",
    "EvalData",
    "Settings",
    "checks",
    "method_overrides",
    "parse_runs",
    "render_markdown",
    "run_results",
    "train_method",
    "write_results",
]
