"""``ae=sparse``: a penalty that keeps most code units quiet (Ng's sparse autoencoder).

    kl:  Ω = Σ_j KL(ρ ‖ ρ̂_j) = Σ_j [ρ log(ρ/ρ̂_j) + (1 − ρ) log((1 − ρ)/(1 − ρ̂_j))],
         ρ̂_j = 1/n Σ_k h_j(x_k), the mean activation of code unit j over the mini-batch
         (units in (0, 1): ``ae=sparse`` sets ``model.code_activation=sigmoid``); ρ = ``target``
    l1:  Ω = 1/n Σ_k Σ_j |h_j(x_k)|

    E = reconstruction + weight · Ω          (logged as loss/recon and loss/penalty)

The penalty is on the code h, the output of the hand-written Function's code layer: its gradient
∂Ω/∂h enters that layer's backward as g, and the lecture's δ = g ⊙ φ'(z) carries it down.
"""

from __future__ import annotations

import torch
from torch import Tensor

from aelab.ae.base import Kind, KindStats
from aelab.ae.sparse.config import SparseConfig
from aelab.models.base import AEOutput, Autoencoder

EPS = 1e-6  # ρ̂ is kept in [EPS, 1 − EPS], so the KL stays finite when a unit is off for a whole batch


def kl_sparsity(code: Tensor, target: float) -> Tensor:
    """Σ_j KL(ρ ‖ ρ̂_j), ρ̂_j the batch mean of unit j."""
    rho_hat = code.flatten(1).mean(0).clamp(EPS, 1 - EPS)
    rho = target
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def l1_sparsity(code: Tensor) -> Tensor:
    """1/n Σ_k Σ_j |h_j(x_k)|."""
    return code.flatten(1).abs().sum(1).mean()


class Sparse(Kind):
    config: SparseConfig

    def penalty(self, code: Tensor) -> Tensor:
        return kl_sparsity(code, self.config.target) if self.config.penalty == "kl" else l1_sparsity(code)

    def forward(self, model: Autoencoder, x: Tensor) -> AEOutput:
        out = model.reconstruct(x)
        out.loss_terms["penalty"] = self.config.weight * self.penalty(out.code)
        return out

    @torch.no_grad()
    def measure(self, model: Autoencoder, x: Tensor, generator: torch.Generator) -> KindStats:
        code = model.encode(x).flatten(1).float()
        mean = code.mean(0)  # ρ̂_j per code unit
        return KindStats(
            scalars={
                "sparse/mean_activation": float(mean.mean()),
                "sparse/l1_per_image": float(code.abs().sum(1).mean()),
                "sparse/penalty": float(self.penalty(code)),
            },
            histograms={"sparse/mean_activation_per_unit": mean.cpu()},
        )


KIND = Sparse
