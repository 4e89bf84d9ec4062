"""``ae=vae``: the variational autoencoder (Kingma & Welling 2014).

The encoder's last layer gives μ and log σ² side by side (2·code_dim linear units), the code is
sampled by reparameterization, and the loss is the negative ELBO per image, in nats::

    q(z|x) = N(μ(x), diag σ²(x))            z = μ + σ ⊙ ε,  ε ~ N(0, I)   (training; evaluation uses μ)
    −ELBO  = −log p(x|z) + β · KL(q(z|x) ‖ N(0, I))
    −log p(x|z) = BCE(x, σ(logits))          Bernoulli pixels: loss=bce on the decoder's logits
    KL     = ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²)

The gradient reaches μ and log σ² through ε's fixed draw (∂z/∂μ = 1, ∂z/∂log σ² = ½σε) and then
the code layer's hand-written backward. Evaluation also reports ``neg_elbo`` (β = 1, one sample of
z per image from a fixed seed) and ``kl``; the dashboards show KL per latent dimension, the number
of active units (Cov_x(μ_j) > 0.01, Burda et al. 2016) and images decoded from the prior N(0, I).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.utils import make_grid

from aelab.ae.base import Kind, KindStats
from aelab.ae.vae.config import VAEConfig
from aelab.errors import ConfigError
from aelab.models.base import AEOutput, Autoencoder
from aelab.models.init import init_layer
from aelab.models.layers import WEIGHT_LAYER_TYPES, dense

ACTIVE_UNIT_VARIANCE = 0.01  # a latent unit is active when its μ varies over the data more than this
PRIOR_SAMPLES = 64


def kl_to_prior(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) per latent dimension and example: ½(μ² + σ² − 1 − log σ²)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)


class VAE(Kind):
    config: VAEConfig

    def prepare(self, model: Autoencoder) -> None:
        """Give the encoder's last layer 2·code_dim linear outputs: μ and log σ²."""
        index = max(i for i, m in enumerate(model.encoder) if isinstance(m, WEIGHT_LAYER_TYPES))
        old = model.encoder[index]
        if not isinstance(old, torch.nn.Linear):
            raise ConfigError("ae=vae needs an encoder that ends in a fully connected code layer")
        new = dense(model.impl, old.in_features, 2 * old.out_features, "identity")
        init_layer(new, model.init_scheme)
        model.encoder[index] = new.to(old.weight.device, old.weight.dtype)
        model.code_heads = 2

    def forward(self, model: Autoencoder, x: Tensor) -> AEOutput:
        mu, logvar = model.encoder(x).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if model.training else mu
        out = model.from_code(z, mu=mu, logvar=logvar)
        out.code = mu
        out.loss_terms["kl"] = self.config.beta * kl_to_prior(mu, logvar).sum(1).mean()
        return out

    @torch.no_grad()
    def eval_sums(self, model: Autoencoder, x: Tensor, out: AEOutput, generator: torch.Generator) -> dict[str, Tensor]:
        assert out.mu is not None and out.logvar is not None
        mu, logvar = out.mu.float(), out.logvar.float()
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        logits = model.decode_logits((mu + torch.exp(0.5 * logvar) * eps).to(out.mu.dtype)).float()
        nll = F.binary_cross_entropy_with_logits(logits.flatten(1), x.float().flatten(1), reduction="sum")
        kl = kl_to_prior(mu, logvar).sum()
        return {"neg_elbo": nll + kl, "kl": kl}

    @torch.no_grad()
    def measure(self, model: Autoencoder, x: Tensor, generator: torch.Generator) -> KindStats:
        mu, logvar = (t.float() for t in model.encoder(x).chunk(2, dim=1))
        kl_per_dim = kl_to_prior(mu, logvar).mean(0)
        active = int((mu.var(0) > ACTIVE_UNIT_VARIANCE).sum()) if len(mu) > 1 else 0
        z = torch.randn((PRIOR_SAMPLES, mu.shape[1]), generator=generator, device=mu.device)
        samples = model.decode(z.to(next(model.parameters()).dtype)).float().cpu()
        return KindStats(
            scalars={"vae/kl": float(kl_per_dim.sum()), "vae/active_units": float(active)},
            histograms={"vae/kl_per_dimension": kl_per_dim.cpu()},
            images={"vae/samples_from_prior": make_grid(samples, nrow=8, pad_value=1.0)},
        )


KIND = VAE
