"""Retrieval quality of a code space: precision@k of Euclidean nearest neighbours.

P@k = (1/Q) Σ_q (1/k) |{ j ∈ kNN(z_q) : y_j = y_q }|, with kNN under ‖z_q − z_j‖², computed as
‖z_q‖² − 2 z_q·z_j + ‖z_j‖² one chunk of queries at a time, so that a 10,000 × 60,000 search
fits in memory.
"""

from __future__ import annotations

import torch
from torch import Tensor


def precision_at_k(
    query_codes: Tensor,
    query_labels: Tensor,
    db_codes: Tensor,
    db_labels: Tensor,
    k: int = 10,
    exclude_self: bool = False,
    chunk_size: int | None = None,
) -> float:
    """Mean fraction of each query's k nearest database codes that share its label.

    Args:
        exclude_self: the queries are the database itself (row i of both is the same item); item i
            is not counted as its own neighbour.
        chunk_size: queries per distance block; by default about 2**26 distances per block.
    """
    query_codes, db_codes = query_codes.detach().flatten(1), db_codes.detach().flatten(1).to(query_codes)
    query_labels, db_labels = query_labels.to(query_codes.device), db_labels.to(query_codes.device)
    n_q, n_db = len(query_codes), len(db_codes)
    if exclude_self and n_q != n_db:
        raise ValueError("exclude_self=True needs the queries to be the database (equal lengths)")
    if not 1 <= k <= n_db - exclude_self:
        raise ValueError(f"k must be in [1, {n_db - exclude_self}], got {k}")
    chunk = chunk_size or max(1, 2**26 // n_db)
    db_sq = db_codes.pow(2).sum(1)
    hits = torch.zeros((), dtype=torch.float64, device=query_codes.device)
    for start in range(0, n_q, chunk):
        q = query_codes[start : start + chunk]
        dist = q.pow(2).sum(1, keepdim=True) - 2 * q @ db_codes.T + db_sq
        if exclude_self:
            rows = torch.arange(len(q), device=dist.device)
            dist[rows, start + rows] = float("inf")
        nn_idx = dist.topk(k, dim=1, largest=False).indices
        hits += (db_labels[nn_idx] == query_labels[start : start + chunk, None]).sum()
    return float(hits) / (n_q * k)
