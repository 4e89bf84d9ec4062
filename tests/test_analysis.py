"""Baselines and code evaluations: PCA against the published figure, probe, retrieval, transfer."""

from __future__ import annotations

import pytest
import torch

from aelab.analysis import (
    PCA,
    PCAEncoder,
    balanced_subset,
    fit_pca,
    linear_probe_accuracy,
    precision_at_k,
    transfer_accuracy,
)
from aelab.analysis.transfer import _reinitialize
from aelab.data.load import Splits as MNISTSplits
from aelab.data.load import load_dataset
from aelab.metrics import sq_err_per_image


@pytest.fixture(scope="module")
def mnist(mnist_root) -> MNISTSplits:
    return load_dataset("mnist", mnist_root)


@pytest.fixture(scope="module")
def pca30_full(mnist):
    """PCA-30 on all 60,000 training images (train + validation), as in the published figure."""
    return fit_pca(torch.cat([mnist.train_x, mnist.val_x]), 30)


@pytest.fixture
def one_thread():
    """Tiny models train faster on one thread (and on some VMs two OpenMP threads cost ms per op)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --- PCA -------------------------------------------------------------------------------------


def test_pca30_matches_hinton_salakhutdinov(mnist, pca30_full):
    assert len(mnist.train_x) + len(mnist.val_x) == 60_000 and len(mnist.test_x) == 10_000
    err = sq_err_per_image(pca30_full.reconstruct(mnist.test_x), mnist.test_x)
    assert abs(err - 13.87) <= 0.01, err


def test_pca_basis_is_orthonormal_and_ordered(pca30_full):
    w = pca30_full.components
    assert w.shape == (30, 784) and pca30_full.mean.shape == (784,)
    torch.testing.assert_close(w @ w.T, torch.eye(30), atol=1e-5, rtol=0)
    assert (pca30_full.variance[:-1] >= pca30_full.variance[1:]).all()


def test_pca_error_decreases_with_k_and_is_exact_at_full_rank(mnist):
    x, test = mnist.train_x[:5000], mnist.test_x[:2000]
    full = fit_pca(x, 784)
    top30 = fit_pca(x, 30)
    torch.testing.assert_close(top30.components, full.components[:30])  # top k = first k of all
    truncated = {k: PCA(full.mean, full.components[:k], full.variance[:k]) for k in (10, 30, 100)}
    errs = {k: sq_err_per_image(p.reconstruct(test), test) for k, p in truncated.items()}
    assert errs[10] > errs[30] > errs[100] > 0
    assert errs[30] == pytest.approx(sq_err_per_image(top30.reconstruct(test), test), rel=1e-5)
    assert sq_err_per_image(full.reconstruct(test), test) < 1e-6
    codes = full.encode(test)
    assert codes.shape == (2000, 784)
    torch.testing.assert_close(full.decode(codes).view_as(test), test, atol=1e-4, rtol=0)


def test_pca_rejects_bad_k():
    with pytest.raises(ValueError):
        fit_pca(torch.rand(10, 5), 6)


def test_pca_encoder_equals_pca_encode(mnist, pca30_full):
    enc = PCAEncoder(pca30_full)
    assert enc.weight.shape == (30, 784)
    x = mnist.test_x[:500]
    torch.testing.assert_close(enc(x), pca30_full.encode(x), atol=1e-4, rtol=0)


# --- linear probe ----------------------------------------------------------------------------


def test_linear_probe_on_pca_codes(mnist, pca30_full):
    acc = linear_probe_accuracy(
        pca30_full.encode(mnist.train_x[:5000]),
        mnist.train_y[:5000],
        pca30_full.encode(mnist.test_x[:2000]),
        mnist.test_y[:2000],
    )
    assert 0.80 < acc <= 1.0


def test_linear_probe_is_chance_on_noise():
    g = torch.Generator().manual_seed(0)
    codes, labels = torch.randn(3000, 5, generator=g), torch.randint(0, 4, (3000,), generator=g)
    acc = linear_probe_accuracy(codes[:2000], labels[:2000], codes[2000:], labels[2000:])
    assert abs(acc - 0.25) < 0.06


# --- retrieval -------------------------------------------------------------------------------


def _brute_force_precision(q, qy, db, dby, k):
    nn_idx = torch.cdist(q.double(), db.double()).topk(k, largest=False).indices
    return float((dby[nn_idx] == qy[:, None]).double().mean())


def test_precision_at_k_pixels(mnist):
    p = precision_at_k(mnist.test_x[:1000], mnist.test_y[:1000], mnist.train_x[:5000], mnist.train_y[:5000], k=10)
    assert 0.80 < p <= 1.0


def test_precision_at_k_matches_brute_force_across_chunks():
    g = torch.Generator().manual_seed(0)
    q, db = torch.randn(37, 6, generator=g), torch.randn(200, 6, generator=g)
    qy, dby = torch.randint(0, 3, (37,), generator=g), torch.randint(0, 3, (200,), generator=g)
    expected = _brute_force_precision(q, qy, db, dby, 7)
    for chunk in (None, 1, 5, 37):
        assert precision_at_k(q, qy, db, dby, k=7, chunk_size=chunk) == pytest.approx(expected, abs=1e-12)


def test_precision_at_k_separated_clusters_and_chance():
    centres = torch.arange(10.0)[:, None] * 100 * torch.ones(1, 3)
    # Clusters labelled by cluster: every neighbour within a cluster of 20 shares the label.
    noise = 0.1 * torch.randn(200, 3, generator=torch.Generator().manual_seed(0))
    db = centres.repeat_interleave(20, 0) + noise
    db_y = torch.arange(10).repeat_interleave(20)
    assert precision_at_k(centres, torch.arange(10), db, db_y, k=20) == 1.0
    # Each cluster point holds one item of every label: the 10 neighbours are the 10 labels, P@10 = 1/10.
    db = centres.repeat_interleave(10, 0)
    db_y = torch.arange(10).repeat(10)
    assert precision_at_k(centres, torch.zeros(10, dtype=torch.long), db, db_y, k=10) == pytest.approx(0.1)


def test_precision_at_k_exclude_self():
    # Pairs of points 1 apart (pairs 17 apart) with different labels: an item's nearest neighbour is
    # itself, its nearest other item always disagrees.
    x = torch.arange(16.0)[:, None] + 8 * (torch.arange(16.0)[:, None] // 2)
    y = torch.tensor([0, 1]).repeat(8)
    assert precision_at_k(x, y, x, y, k=1, exclude_self=True, chunk_size=3) == 0.0
    assert precision_at_k(x, y, x, y, k=1, exclude_self=False, chunk_size=3) == 1.0
    with pytest.raises(ValueError):
        precision_at_k(x[:3], y[:3], x, y, exclude_self=True)


# --- transfer --------------------------------------------------------------------------------


def test_balanced_subset():
    labels = torch.arange(10).repeat_interleave(torch.arange(50, 150, 10))
    idx = balanced_subset(labels, 95, seed=3)
    assert len(idx.unique()) == 95
    counts = torch.bincount(labels[idx], minlength=10)
    assert counts.max() - counts.min() <= 1
    assert torch.equal(idx, balanced_subset(labels, 95, seed=3))
    assert not torch.equal(idx, balanced_subset(labels, 95, seed=4))


def test_reinitialize_resets_a_copy():
    enc = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    before = [p.detach().clone() for p in enc.parameters()]
    fresh = _reinitialize(enc)
    assert all(torch.equal(p, b) for p, b in zip(enc.parameters(), before))
    assert all(not torch.equal(p, b) for p, b in zip(fresh.parameters(), before))


def test_transfer_with_pca_encoder(mnist, pca30_full, one_thread):
    enc = PCAEncoder(pca30_full)
    weight = enc.weight.detach().clone()
    args = (enc, 30, mnist.train_x, mnist.train_y, mnist.test_x[:2000], mnist.test_y[:2000], 1000)
    frozen = transfer_accuracy(*args, frozen=True)
    assert frozen > 0.7
    assert frozen == transfer_accuracy(*args, frozen=True)  # seeded
    scratch = transfer_accuracy(*args, frozen=False, min_steps=200)
    assert 0.1 < scratch <= 1.0
    assert torch.equal(enc.weight, weight) and enc.weight.requires_grad  # caller's encoder untouched
