"""The hand-written Function against torch autograd: gradcheck, gradgradcheck, vmap, errors."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
from torch.autograd import gradcheck, gradgradcheck

from aelab.backprop import ACTIVATIONS, LectureLinear, linear_act
from aelab.backprop.activation import variance_preserving_gain

NAMES = list(ACTIVATIONS)


def _inputs(batch: int, n_in: int, n_out: int, bias: bool, seed: int = 0):
    g = torch.Generator().manual_seed(seed)

    def leaf(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).requires_grad_()

    return leaf(batch, n_in), leaf(n_out, n_in, scale=n_in**-0.5), leaf(n_out) if bias else None


def test_registry_holds_the_lecture_activations():
    assert {"sigmoid", "relu", "softplus"} <= set(ACTIVATIONS)  # and the extras: identity, tanh, leaky_relu, ...
    assert all(act.name == name for name, act in ACTIVATIONS.items())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(1, 3, 2), (6, 4, 3), (3, 2, 9), (4, 9, 1)])
def test_gradcheck_and_gradgradcheck(name, bias, shape):
    # Random float64 inputs land within gradcheck's eps (1e-6) of the ReLU kink with negligible odds.
    x, w, b = _inputs(*shape, bias=bias)
    args = (x, w, b) if bias else (x, w)
    fn = (lambda x, w, b: linear_act(x, w, b, name)) if bias else (lambda x, w: linear_act(x, w, None, name))
    assert gradcheck(fn, args, check_batched_grad=True)
    assert gradgradcheck(fn, args, check_batched_grad=True)


def test_only_requested_gradients_are_computed():
    x, w, b = _inputs(4, 3, 2, bias=True)
    x = x.detach()  # first layer: no ∂E/∂x wanted
    out = linear_act(x, w, b, "sigmoid")
    (gw, gb) = torch.autograd.grad(out.sum(), (w, b))
    assert gw.shape == w.shape and gb.shape == b.shape
    assert x.grad is None


@pytest.mark.parametrize("name", NAMES)
def test_torch_func_transforms(name):
    from torch.func import jacrev, vmap

    x, w, b = (t.detach() for t in _inputs(5, 4, 3, bias=True))
    native = ACTIVATIONS[name].torch_module()
    jac = jacrev(lambda w: linear_act(x, w, b, name))(w)
    ref = jacrev(lambda w: native(x @ w.t() + b))(w)
    torch.testing.assert_close(jac, ref, rtol=1e-12, atol=1e-12)
    xs = torch.randn(7, 5, 4, dtype=torch.float64)
    torch.testing.assert_close(
        vmap(lambda x: linear_act(x, w, b, name))(xs), native(xs @ w.t() + b), rtol=1e-12, atol=1e-12
    )


def test_autocast_bf16_runs_in_low_precision_with_fp32_grads():
    layer = LectureLinear(8, 4, "relu")
    x = torch.randn(16, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
    assert out.dtype == torch.bfloat16
    out.float().sum().backward()
    assert layer.weight.grad.dtype == torch.float32
    ref = torch.relu(x @ layer.weight.t() + layer.bias)
    torch.testing.assert_close(out.float(), ref, rtol=2e-2, atol=5e-2)


@pytest.mark.parametrize(
    "args, message",
    [
        ((torch.randn(4, 3), torch.randn(2, 5), None), r"x must have shape \(batch, 5\).*got \(4, 3\)"),
        ((torch.randn(4), torch.randn(2, 4), None), r"x must have shape \(batch, 4\).*got \(4,\)"),
        (
            (torch.randn(4, 3), torch.randn(2, 3, 1), None),
            r"weight must have shape \(out_features, in_features\), got \(2, 3, 1\)",
        ),
        ((torch.randn(4, 3), torch.randn(2, 3), torch.randn(3)), r"bias must have shape \(2,\), got \(3,\)"),
        ((torch.randn(4, 3), torch.randn(2, 3, dtype=torch.float64), None), r"share one dtype.*float32.*float64"),
    ],
)
def test_bad_input_raises_value_error(args, message):
    with pytest.raises(ValueError, match=message):
        linear_act(*args, "relu")


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="unknown activation 'swish'; valid activations: identity, sigmoid, relu"):
        linear_act(torch.randn(2, 3), torch.randn(1, 3), None, "swish")
    with pytest.raises(ValueError, match="valid activations"):
        LectureLinear(3, 2, "swish")


def test_names_are_listed_and_checked_without_importing_torch():
    code = (
        "import sys\n"
        "from aelab.backprop import ACTIVATIONS\n"
        "from aelab.errors import ConfigError\n"
        "assert 'relu' in ACTIVATIONS and 'gelu' in ACTIVATIONS and 'foo' not in ACTIVATIONS\n"
        "try:\n"
        "    ACTIVATIONS.check('activation', 'foo')\n"
        "except ConfigError as e:\n"
        "    print(e)\n"
        "print(','.join(ACTIVATIONS.names()))\n"
        "print('torch' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    message, names, torch_loaded = proc.stdout.splitlines()
    assert message.startswith("activation=foo is not valid; choose one of: identity, sigmoid, relu, softplus, tanh")
    names = names.split(",")  # the declared order first, then the other rows alphabetically
    assert names[:7] == ORDER and names[7:] == sorted(names[7:]) and {"gelu", "silu"} <= set(names)
    assert torch_loaded == "False"


ORDER = ["identity", "sigmoid", "relu", "softplus", "tanh", "leaky_relu", "elu"]


@pytest.mark.parametrize("name", NAMES)
def test_each_rows_dphi_is_the_derivative_of_its_phi(name):
    """φ' from what the layer keeps (a, or z for a row that needs z) equals autograd's dφ/dz, on a
    grid through both signs; a row reading φ' off a must have an a that determines φ'(z)."""
    act = ACTIVATIONS[name]
    z = torch.linspace(-6, 6, 1201, dtype=torch.float64).requires_grad_()
    a = act.phi(z)
    (dz,) = torch.autograd.grad(a.sum(), z)
    kept = act.kept(z.detach(), a.detach())
    dphi = torch.ones_like(dz) if kept is None else act.dphi(kept)
    torch.testing.assert_close(dphi, dz, rtol=1e-12, atol=1e-12)
    for grad_mode in (False, True):  # δ = g ⊙ φ'(z), fused or not (a differentiated backward runs in grad mode)
        with torch.set_grad_enabled(grad_mode):
            torch.testing.assert_close(act.delta(2 * dz, kept), 2 * dz * dphi, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(a, act.torch_module()(z), rtol=0, atol=0)  # φ is its native twin's
    if act.needs_z:  # the reason: two z of one a with different slopes
        i, j = _two_z_of_one_a(a.detach())
        assert abs(dz[i] - dz[j]) > 0.05
    assert act.max_slope == pytest.approx(float(dz.abs().max()), rel=1e-2)  # a sup for softplus (z → ∞)


def _two_z_of_one_a(a: torch.Tensor) -> tuple[int, int]:
    """Indices i < j on the grid with a[i] ≈ a[j] (φ not monotonic), as far apart as possible."""
    lowest = int(a.argmin())
    j = lowest + int((a[lowest:] - a[0]).abs().argmin())
    return 0, j


@pytest.mark.parametrize("name", [n for n in NAMES if ACTIVATIONS[n].needs_z])
def test_the_gain_of_rows_that_read_z_keeps_the_variance_of_z(name):
    """Their gain (torch's calculate_gain has none) is 1/√E[φ(z)²] for z ~ N(0, 1), He's √2 for
    ReLU: gain² · E[φ(z)²] = 1, so Var(z) stays 1 from layer to layer (Monte Carlo, 2·10⁶ draws)."""
    act = ACTIVATIONS[name]
    assert act.init == "kaiming"
    z = torch.randn(2_000_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert act.gain**2 * act.phi(z).pow(2).mean().item() == pytest.approx(1.0, rel=0.005)
    assert variance_preserving_gain(torch.relu) == pytest.approx(math.sqrt(2), rel=1e-9)


def test_saturation_of_rows_that_read_z():
    gelu, silu = ACTIVATIONS["gelu"], ACTIVATIONS["silu"]
    # GELU |φ'| at these z: 0.012, 0.129 (its negative lobe), 0.001 (φ' crosses 0), 1.08: two below 0.113
    z = torch.tensor([[-3.0, -1.4, -0.75, 1.0]])
    assert gelu.saturated_fraction(z).item() == pytest.approx(2 / 4)
    # SiLU: 0.053, 0.041 (its lobe never reaches 0.110), 0.93, 1.09
    assert silu.saturated_fraction(torch.tensor([[-4.0, -1.5, 1.0, 3.0]])).item() == pytest.approx(2 / 4)


def test_lecture_linear_matches_nn_linear_init_and_names():
    torch.manual_seed(3)
    ours = LectureLinear(7, 5, "tanh")
    torch.manual_seed(3)
    ref = torch.nn.Linear(7, 5)
    assert list(ours.state_dict()) == ["weight", "bias"]
    torch.testing.assert_close(ours.weight, ref.weight, rtol=0, atol=0)
    torch.testing.assert_close(ours.bias, ref.bias, rtol=0, atol=0)
    x = torch.randn(3, 2, 7)  # leading dims are flattened and restored
    torch.testing.assert_close(ours(x), torch.tanh(ref(x)))
