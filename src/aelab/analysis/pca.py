"""PCA baseline: the linear code that Hinton & Salakhutdinov (2006) compare autoencoders against.

With mean μ and the top-k eigenvectors W (k, D) of the covariance C = (1/(N−1)) Σ (x−μ)(x−μ)ᵀ,
the code is z = W (x − μ) and the reconstruction x̂ = Wᵀ z + μ.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class PCA:
    """A fitted PCA: ``mean`` (D,), orthonormal ``components`` (k, D) by decreasing ``variance`` (k,)."""

    mean: Tensor
    components: Tensor
    variance: Tensor

    @property
    def k(self) -> int:
        return self.components.shape[0]

    def encode(self, x: Tensor) -> Tensor:
        """z = W (x − μ): (N, D) or images (N, C, H, W) → (N, k)."""
        return (x.flatten(1).to(self.mean) - self.mean) @ self.components.T

    def decode(self, codes: Tensor) -> Tensor:
        """x̂ = Wᵀ z + μ: (N, k) → (N, D)."""
        return codes.to(self.mean) @ self.components + self.mean

    def reconstruct(self, x: Tensor) -> Tensor:
        """x̂ = Wᵀ W (x − μ) + μ, flattened to (N, D)."""
        return self.decode(self.encode(x))


def fit_pca(x: Tensor, k: int) -> PCA:
    """Top-k principal components of x ((N, D) or images (N, C, H, W)), from ``torch.linalg.eigh`` of the
    covariance in float64; results are cast back to x's dtype. Each component's sign is fixed so that
    its largest-magnitude entry is positive (a deterministic basis)."""
    x64 = x.flatten(1).double()  # a copy we may center in place
    n, d = x64.shape
    if not 0 <= k <= d:
        raise ValueError(f"k must be in [0, {d}], got {k}")
    if n < 2:
        raise ValueError("PCA needs at least 2 samples")
    mean = x64.mean(0)
    x64 -= mean
    cov = x64.T @ x64 / (n - 1)
    eigvals, eigvecs = torch.linalg.eigh(cov)  # ascending
    top = eigvecs[:, d - k :].flip(1).T  # (k, D), decreasing variance
    signs = torch.sign(top.gather(1, top.abs().argmax(1, keepdim=True)))
    dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
    return PCA(mean.to(dtype), (top * signs).to(dtype), eigvals[d - k :].flip(0).clamp_min(0).to(dtype))


class PCAEncoder(nn.Linear):
    """The PCA code z = W (x − μ) as a linear layer on flattened images: weight W (k, D), bias −W μ.

    ``reset_parameters`` (inherited from ``nn.Linear``) turns it into a freshly initialised trainable
    layer of the same shape, which is what "the same encoder trained from scratch" means for PCA.
    """

    def __init__(self, pca: PCA) -> None:
        super().__init__(pca.components.shape[1], pca.k, device=pca.mean.device, dtype=pca.mean.dtype)
        with torch.no_grad():
            self.weight.copy_(pca.components)
            self.bias.copy_(-(pca.components @ pca.mean))

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.flatten(1))
