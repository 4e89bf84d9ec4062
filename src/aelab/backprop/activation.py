"""One activation of the lecture's layers: φ, its derivative φ', and what the rest of aelab needs
to know about it (its init, where it saturates, its native twin). The rows themselves live in
:mod:`aelab.backprop.activations`, one module each.

The backward needs φ' only inside the lecture's

    δ^(l) = g ⊙ φ'(z^(l)),      g = ∂E/∂x^(l) = ∂E/∂a

and a row says what φ' is computed from, which is what the layer keeps for its backward:

* the output ``a = φ(z)`` (``dphi_from_output``): for a monotonic φ, a determines z, so φ' can
  be written with a (σ' = a(1 − a)). The layer keeps only a, which the next layer keeps anyway
  as its input, and may compute φ in place over z.
* the pre-activation ``z`` (``dphi_from_input``): for φ that are not monotonic (such as GELU, SiLU)
  two z share one a, so a does not determine φ'(z). The layer keeps z beside a (what native
  autograd keeps for the same layer) and computes φ out of place.

Neither (identity): φ' ≡ 1, nothing to keep, nothing to multiply.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

SATURATION_SLOPE = 0.1  # a unit is saturated where |φ'(z)| < SATURATION_SLOPE · max |φ'|


@dataclass(frozen=True, kw_only=True)
class Activation:
    """One row: the forward map φ and its derivative φ', from a = φ(z) or from z."""

    name: str
    phi: Callable[[Tensor], Tensor]
    # The equivalent native torch module, used by the `impl=torch` twins and the tests.
    torch_module: Callable[[], torch.nn.Module]
    # φ'(z) as a function of a = φ(z) (monotonic φ), or as a function of z; at most one of them.
    dphi_from_output: Callable[[Tensor], Tensor] | None = None
    dphi_from_input: Callable[[Tensor], Tensor] | None = None
    # In-place φ for the forward pass (saves one allocation per layer); None: use `phi`.
    # Only for rows reading φ' off a: a z-row's z must survive φ.
    phi_: Callable[[Tensor], Tensor] | None = None
    # δ = g ⊙ φ'(z) from (g, what the layer kept) in one fused kernel, equal to g * dphi(kept) (one
    # pass over memory instead of several, no temporaries); None: that product.
    fused_delta: Callable[[Tensor, Tensor], Tensor] | None = None
    # init="auto": "xavier" or "kaiming", scaled by `gain`
    init: str = "xavier"
    gain: float = 1.0
    # "dead" (a unit ≤ 0 for every example), "slope" (|φ'| < SATURATION_SLOPE · max_slope), None
    saturation: str | None = None
    max_slope: float = 1.0  # max over z of |φ'(z)|

    def __post_init__(self) -> None:
        if self.dphi_from_output is not None and self.dphi_from_input is not None:
            raise ValueError(f"activation {self.name}: φ' is read off a or off z, not both")
        if self.needs_z and self.phi_ is not None:
            raise ValueError(f"activation {self.name}: a row whose φ' needs z keeps z, so φ is not in place")
        if self.saturation == "dead" and self.dphi_from_output is None:
            raise ValueError(f"activation {self.name}: 'dead' units are read off a; the row must read φ' off a")

    @property
    def needs_z(self) -> bool:
        """Whether φ' needs the pre-activation z (the layer keeps z), rather than the output a."""
        return self.dphi_from_input is not None

    @property
    def unit_slope(self) -> bool:
        """Whether φ' ≡ 1 (identity): the layer keeps nothing for φ'."""
        return self.dphi_from_output is None and self.dphi_from_input is None

    def phi_own(self, z: Tensor) -> Tensor:
        """a = φ(z) for a z the caller allocated and does not keep: in place where the row allows."""
        return self.phi_(z) if self.phi_ is not None else self.phi(z)

    def kept(self, z: Tensor | None, a: Tensor) -> Tensor | None:
        """What a layer keeps for φ': z for a row whose φ' needs z, a for the others, None for φ' ≡ 1."""
        if self.unit_slope:
            return None
        return z if self.needs_z else a

    def dphi(self, kept: Tensor) -> Tensor:
        """φ'(z), from what the layer kept (:meth:`kept`: z or a; anything of its shape for φ' ≡ 1)."""
        if self.dphi_from_input is not None:
            return self.dphi_from_input(kept)
        if self.dphi_from_output is not None:
            return self.dphi_from_output(kept)
        return torch.ones_like(kept)

    def delta(self, g: Tensor, kept: Tensor | None) -> Tensor:
        """The lecture's δ = g ⊙ φ'(z), with φ' from what the layer kept (z or a; None for φ' ≡ 1)."""
        if self.unit_slope:
            return g
        if kept is None:
            raise ValueError(f"activation {self.name}: δ needs the tensor the layer kept for φ'")
        if self.fused_delta is not None:
            return self.fused_delta(g, kept)
        return g * self.dphi(kept)

    def saturated_fraction(self, kept: Tensor) -> Tensor | None:
        """The fraction of a layer's units outside their useful range, from what the layer kept
        (z or a, batch first; a 0-d tensor on its device, no host sync); None where it does not apply.

        * ``dead``: the fraction of units (features, or conv channels) whose output a is ≤ 0 for
          every example (and position) of the batch: no gradient, or only a leak, passes them.
        * ``slope``: the fraction of (example, unit) activations with |φ'(z)| < 0.1 · max |φ'|,
          where the gradient through the unit is cut at least tenfold.
        """
        kept = kept.detach()
        if self.saturation == "dead":
            per_unit = kept.transpose(0, 1).flatten(1)  # (units, examples · positions)
            return (per_unit <= 0).all(dim=1).float().mean()
        if self.saturation == "slope" and not self.unit_slope:
            return (self.dphi(kept.float()).abs() < SATURATION_SLOPE * self.max_slope).float().mean()
        return None


# The grid on which the two helpers below integrate or scan a row's φ (float64): N(0, 1) has
# mass 2e-33 beyond |z| = 12, and the step keeps the trapezoid rule's error below 1e-12.
_GRID = (-12.0, 12.0, 24001)


def variance_preserving_gain(phi: Callable[[Tensor], Tensor]) -> float:
    """The init gain that keeps the pre-activations' variance at 1 from layer to layer:

        Var(z^(l+1)) = fan_in · (gain² / fan_in) · E[φ(z)²] = 1   ⇒   gain = 1 / √E[φ(z)²],  z ~ N(0, 1)

    (weights N(0, gain²/fan_in), He/Kaiming's form). For ReLU E[φ(z)²] = 1/2 and this is He's √2;
    for φ without a torch ``calculate_gain`` entry (such as GELU, SiLU) it is computed here."""
    z = torch.linspace(*_GRID, dtype=torch.float64)
    density = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return 1.0 / math.sqrt(float(torch.trapezoid(phi(z).pow(2) * density, z)))


def peak_slope(dphi_from_input: Callable[[Tensor], Tensor]) -> float:
    """max over z of |φ'(z)|, on a grid of step 1e-3 (φ' is smooth: off by < 1e-6)."""
    return float(dphi_from_input(torch.linspace(*_GRID, dtype=torch.float64)).abs().max())


__all__ = ["SATURATION_SLOPE", "Activation", "peak_slope", "variance_preserving_gain"]
