"""Baselines and code evaluations for the Results: PCA, linear probe, retrieval, few-label transfer."""

from aelab.analysis.pca import PCA, PCAEncoder, fit_pca
from aelab.analysis.probe import linear_probe_accuracy
from aelab.analysis.retrieval import precision_at_k
from aelab.analysis.transfer import balanced_subset, transfer_accuracy

__all__ = [
    "PCA",
    "PCAEncoder",
    "balanced_subset",
    "fit_pca",
    "linear_probe_accuracy",
    "precision_at_k",
    "transfer_accuracy",
]
