"""``ae=adversarial``: the adversarial autoencoder (Makhzani et al. 2015).

The code distribution q(z) = E_x q(z|x) is matched to a prior p(z) by a discriminator D that tells
samples of the prior from codes, in three updates per mini-batch:

    reconstruction:  E = the autoencoder's loss on x                    (the run's own step)
    discriminator:   E_D = −log D(z') − log(1 − D(enc(x))),  z' ~ p(z)   (D's parameters, Adam)
    regularization:  E_G = −weight · log D(enc(x))                      (the encoder's, Adam)

D is a multi-layer perceptron of the lecture's layers (``model.impl``: the hand-written Function or
its native twin) on the code; its logits go through ``binary_cross_entropy_with_logits``. The prior is
N(0, I) or a mixture of ten Gaussians on a circle of radius 4 in the code's first two units (σ 0.5,
the rest N(0, I)). The dashboards show samples decoded from the prior and D's accuracy.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.utils import make_grid

from aelab.ae.adversarial.config import AdversarialConfig
from aelab.ae.base import Kind, KindStats
from aelab.models.base import Autoencoder
from aelab.models.init import init_layer
from aelab.models.layers import dense

PRIOR_SAMPLES = 64
MIXTURE = (10, 4.0, 0.5)  # components, radius, σ


def sample_prior(prior: str, n: int, dim: int, like: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """n samples of p(z) (see the module doc), on ``like``'s device and dtype."""
    z = torch.randn((n, dim), generator=generator, device=like.device, dtype=like.dtype)
    if prior == "mixture10":
        k, radius, sigma = MIXTURE
        which = torch.randint(0, k, (n,), generator=generator, device=like.device)
        angle = which.to(like.dtype) * (2 * math.pi / k)
        z[:, :2] = sigma * z[:, :2] + radius * torch.stack([angle.cos(), angle.sin()], dim=1)
    return z


def discriminator(impl: str, code_dim: int, hidden: int) -> nn.Sequential:
    """code → hidden → hidden → one logit: D(z) = σ(logit), each layer initialised for its activation."""
    layers = [
        dense(impl, code_dim, hidden, "leaky_relu"),
        dense(impl, hidden, hidden, "leaky_relu"),
        dense(impl, hidden, 1, "identity"),
    ]
    for layer in layers:
        init_layer(layer, "auto")
    return nn.Sequential(*layers)


class Adversarial(Kind):
    config: AdversarialConfig

    def prepare(self, model: Autoencoder) -> None:
        model.kind_modules["discriminator"] = discriminator(model.impl, model.config.code_dim, self.config.d_hidden)

    def optimizers(self, model: Autoencoder) -> dict[str, torch.optim.Optimizer]:
        d = model.kind_modules["discriminator"]
        return {
            "discriminator": torch.optim.Adam(d.parameters(), lr=self.config.d_lr, betas=(0.5, 0.999)),
            "generator": torch.optim.Adam(model.encoder.parameters(), lr=self.config.g_lr, betas=(0.5, 0.999)),
        }

    def after_step(
        self, model: Autoencoder, x: Tensor, optimizers: dict[str, torch.optim.Optimizer]
    ) -> dict[str, Tensor]:
        d = model.kind_modules["discriminator"]
        code = model.encode(x)
        prior = sample_prior(self.config.prior, len(code), code.shape[1], code)
        real, fake = d(prior), d(code.detach())
        d_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(
            fake, torch.zeros_like(fake)
        )
        optimizers["discriminator"].zero_grad(set_to_none=True)
        d_loss.backward()
        optimizers["discriminator"].step()
        fooled = d(model.encode(x))
        g_loss = self.config.weight * F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
        optimizers["generator"].zero_grad(set_to_none=True)
        g_loss.backward()
        optimizers["generator"].step()
        d.zero_grad(set_to_none=True)  # D's gradient of the generator phase is not D's to use
        return {"discriminator": d_loss.detach(), "generator": g_loss.detach()}

    @torch.no_grad()
    def measure(self, model: Autoencoder, x: Tensor, generator: torch.Generator) -> KindStats:
        d = model.kind_modules["discriminator"]
        code = model.encode(x).float()
        prior = sample_prior(self.config.prior, len(code), code.shape[1], code, generator)
        accuracy = ((d(prior) > 0).float().mean() + (d(code) <= 0).float().mean()) / 2
        z = sample_prior(self.config.prior, PRIOR_SAMPLES, code.shape[1], code, generator)
        samples = model.decode(z.to(next(model.parameters()).dtype)).float().clamp(0, 1).cpu()
        return KindStats(
            scalars={"adversarial/discriminator_accuracy": float(accuracy)},
            images={"adversarial/samples_from_prior": make_grid(samples, nrow=8, pad_value=1.0)},
        )


KIND = Adversarial
