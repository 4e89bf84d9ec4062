"""``ae=denoising``: corrupt the input, reconstruct the clean image (Vincent et al. 2008).

    x̃ ~ q(x̃ | x)                  masking: each pixel set to 0 with probability ``noise_level``
                                  gaussian: x̃ = x + ε, ε ~ N(0, noise_level²) per pixel
    E = 1/(2n) Σ_k ‖f(x̃_k) − x_k‖²   (or BCE): the target is the clean x

The network cannot copy its input, so it has to learn what digits look like. Evaluation reports
the clean reconstruction error as for every kind, and ``corrupted_sq_err_per_image``: the error
of reconstructing clean images from corrupted ones (a fixed seed, the same corruption each epoch).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.utils import make_grid

from aelab.ae.base import Kind, KindStats
from aelab.ae.denoising.config import DenoisingConfig
from aelab.models.base import AEOutput, Autoencoder


def corrupt(x: Tensor, noise: str, level: float, generator: torch.Generator | None = None) -> Tensor:
    """x̃: masking zeroes each pixel with probability ``level``; gaussian adds N(0, level²) noise."""
    if noise == "masking":
        keep = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) >= level
        return x * keep
    return x + level * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


class Denoising(Kind):
    config: DenoisingConfig

    def corrupt(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return corrupt(x, self.config.noise, self.config.noise_level, generator)

    def forward(self, model: Autoencoder, x: Tensor) -> AEOutput:
        # Training sees corrupted inputs; evaluation (eval mode) the clean ones, as every kind.
        return model.reconstruct(self.corrupt(x) if model.training else x)

    @torch.no_grad()
    def eval_sums(self, model: Autoencoder, x: Tensor, out: AEOutput, generator: torch.Generator) -> dict[str, Tensor]:
        recon = model.reconstruct(self.corrupt(x, generator)).recon
        return {"corrupted_sq_err_per_image": (recon.float() - x.float()).pow(2).sum()}

    @torch.no_grad()
    def measure(self, model: Autoencoder, x: Tensor, generator: torch.Generator) -> KindStats:
        x = x[:8]
        noisy = self.corrupt(x, generator)
        recon = model.reconstruct(noisy).recon
        # clean, corrupted, reconstructed from the corrupted: one column per image
        rows = torch.cat([x, noisy.clamp(0, 1), recon]).float().cpu()
        return KindStats(
            images={"denoising/clean_corrupted_reconstructed": make_grid(rows, nrow=len(x), pad_value=1.0)}
        )


KIND = Denoising
