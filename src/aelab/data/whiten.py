"""Normalising image patches with statistics of the training patches alone (validation and test
patches are transformed with them, never measured), as ``data.normalize`` says:

* ``none``: pixels in [0, 1], as the photograph has them;
* ``standardize``: each patch less its own mean (its brightness), then divided by σ, the standard
  deviation of those values over the training patches: x' = (x − x̄) / σ;
* ``zca``: each patch less its own mean, then ZCA-whitened (Bell & Sejnowski 1997): with the
  training patches' mean μ and covariance C = U Λ Uᵀ,

      x' = W (x − μ),   W = U (Λ + ε I)^(−1/2) Uᵀ,   ε = ZCA_EPSILON · mean(Λ),

  which decorrelates the pixels and equalises the spectrum's variances (ε keeps the smallest,
  mostly noise, from being blown up) while staying as close to the patch as a whitening can: the
  edges of the patch stay where they were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where patches are normalised: the config reads NORMALIZE without it
    from torch import Tensor

NORMALIZE = ("none", "standardize", "zca")
ZCA_EPSILON = 1.0


def remove_brightness(x: Tensor) -> Tensor:
    """Each patch (N, C, H, W) less the mean of its values."""
    return x - x.mean(dim=(1, 2, 3), keepdim=True)


def zca_matrix(train: Tensor, epsilon: float = ZCA_EPSILON) -> tuple[Tensor, Tensor]:
    """(μ, W) of the module doc's ZCA, from the training patches (N, C, H, W), in float64."""
    import torch

    x = train.flatten(1).double()
    mean = x.mean(0)
    x = x - mean
    cov = x.T @ x / max(1, len(x) - 1)
    eigvals, eigvecs = torch.linalg.eigh(cov)
    eigvals = eigvals.clamp_min(0)
    scale = (eigvals + epsilon * eigvals.mean()).rsqrt()
    return mean, (eigvecs * scale) @ eigvecs.T


def normalise(kind: str, train: Tensor, *others: Tensor) -> list[Tensor]:
    """``train`` and ``others`` (patches in [0, 1]) normalised as ``kind`` says, with the training
    patches' statistics; float32."""
    if kind == "none":
        return [train, *others]
    train, others = remove_brightness(train), tuple(remove_brightness(x) for x in others)
    if kind == "standardize":
        sigma = float(train.std())
        return [x / sigma for x in (train, *others)]
    if kind != "zca":
        raise ValueError(f"normalize must be one of {NORMALIZE}, not {kind!r}")
    mean, w = zca_matrix(train)
    return [((x.flatten(1).double() - mean) @ w).float().view_as(x) for x in (train, *others)]


__all__ = ["NORMALIZE", "ZCA_EPSILON", "normalise", "remove_brightness", "zca_matrix"]
