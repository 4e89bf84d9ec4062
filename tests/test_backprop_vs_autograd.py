"""The Function equals native autograd, the lecture's hand recursion, and saves no more memory."""

from __future__ import annotations

import pytest
import torch

from aelab.backprop import ACTIVATIONS, bce_with_logits, half_mse, l2_penalty
from aelab.backprop.verify import (
    error_vs_autograd,
    hand_recursion_error,
    saved_bytes_vs_native,
)

NAMES = list(ACTIVATIONS)


@pytest.mark.parametrize("name", NAMES)
def test_eight_layer_stack_equals_native_float64(name):
    assert error_vs_autograd(name, torch.float64, depth=8) <= 1e-10


@pytest.mark.parametrize("name", NAMES)
def test_eight_layer_stack_equals_native_float32(name):
    assert error_vs_autograd(name, torch.float32, depth=8) <= 1e-5


@pytest.mark.parametrize("name", NAMES)
def test_hand_written_recursion_matches_function(name):
    assert hand_recursion_error(name) <= 1e-12


@pytest.mark.parametrize("name", NAMES)
def test_saved_bytes_not_above_native(name):
    ours, native = saved_bytes_vs_native(name)
    assert 0 < ours <= native


def test_saved_bytes_counts_real_tensors():
    # A stack that needs ∂E/∂x too saves the weights as well: the counter must see the difference.
    ours_first, _ = saved_bytes_vs_native("relu", sizes=(8, 8))
    from aelab.backprop import LectureLinear
    from aelab.backprop.verify import saved_bytes

    layer = LectureLinear(8, 8, "relu")
    x = torch.randn(32, 8, requires_grad=True)
    assert saved_bytes(lambda: layer(x)) == ours_first + 8 * 8 * 4


def test_half_mse_value_and_gradient():
    f = torch.tensor([[1.0, 2.0], [0.0, -1.0]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[0.0, 2.0], [1.0, 1.0]], dtype=torch.float64)
    e = half_mse(f, y)
    assert e.item() == pytest.approx((1 + 0 + 1 + 4) / (2 * 2))  # 1/(2n) Σ‖f − y‖²
    e.backward()
    torch.testing.assert_close(f.grad, (f - y).detach() / 2)  # (f − y)/n
    assert torch.autograd.gradcheck(half_mse, (f.detach().requires_grad_(), y.requires_grad_()))


def test_bce_with_logits_equals_native_and_its_delta_is_output_minus_target():
    g = torch.Generator().manual_seed(0)
    z = (torch.randn(16, 1, 5, 5, generator=g, dtype=torch.float64) * 30).requires_grad_()  # up to |z| ~ 100
    y = torch.rand(16, 1, 5, 5, generator=g, dtype=torch.float64)
    e = bce_with_logits(z, y)
    native = torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="sum") / 16
    torch.testing.assert_close(e, native, rtol=1e-12, atol=0)
    e.backward()
    torch.testing.assert_close(z.grad, (torch.sigmoid(z) - y).detach() / 16)  # δ^(L) = (x^(L) − y)/n
    z32, y32 = z.detach().float(), y.float()  # float32: the log(1 + e^−|z|) form keeps the sum's precision
    native32 = torch.nn.functional.binary_cross_entropy_with_logits(z32.double(), y32.double(), reduction="sum") / 16
    assert abs(bce_with_logits(z32, y32).item() - native32.item()) <= 1e-6 * native32.item()
    inputs = (z.detach()[:4, :, :2, :2].div(10).requires_grad_(), y[:4, :, :2, :2].clone().requires_grad_())
    assert torch.autograd.gradcheck(bce_with_logits, inputs)
    assert torch.autograd.gradgradcheck(bce_with_logits, inputs)
    with pytest.raises(ValueError, match="shapes differ"):
        bce_with_logits(torch.zeros(2, 3), torch.zeros(2, 4))


def test_l2_penalty_value_and_gradient():
    w1 = torch.tensor([[1.0, -2.0]], dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
    p = l2_penalty([w1, w2], lam=0.1)
    assert p.item() == pytest.approx(0.05 * (1 + 4 + 9))  # λ/2 Σ‖W‖²
    p.backward()
    torch.testing.assert_close(w1.grad, 0.1 * w1.detach())  # λW
    torch.testing.assert_close(w2.grad, 0.1 * w2.detach())
    with pytest.raises(ValueError, match="λ must be >= 0"):
        l2_penalty([w1], lam=-1.0)
    with pytest.raises(ValueError, match="shapes differ"):
        half_mse(torch.zeros(2, 3), torch.zeros(2, 4))


def test_verify_script_prints_all_pass(capsys):
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "verify_backprop.py"
    module = runpy.run_path(str(script))
    assert module["main"]() == 0
    out = capsys.readouterr().out
    assert out.count("PASS") == 6 * len(NAMES) and "FAIL" not in out.replace("PASS/FAIL", "")
    assert f"{6 * len(NAMES)} passed, 0 failed" in out


@pytest.mark.parametrize("family", ["mlp", "conv"])
@pytest.mark.parametrize("name", NAMES)
def test_delta_probe_is_autograds_gradient_at_z(family, name):
    """The δ probe's ‖δ^(l)‖ (δ = g ⊙ φ'(z), φ' read as the layer's backward reads it: off a, or off z)
    equals ‖∂E/∂z^(l)‖ that autograd computes at the native twin's z, for both impls; its saturation
    is the row's rule applied to that z (or its a)."""
    from aelab.build import build_model
    from aelab.gradflow import StepProbe

    torch.manual_seed(0)
    kw = dict(depth=2, activation=name, code_dim=4, **({"width": 16} if family == "mlp" else {"channels": 2}))
    lecture = build_model(family, impl="lecture", **kw).double()
    native = build_model(family, impl="torch", **kw).double()
    native.load_state_dict(lecture.state_dict())
    x = torch.rand(5, 1, 28, 28, dtype=torch.float64)

    def loss_of(model):
        return 0.5 * (model(x).recon - x).pow(2).sum() / len(x)

    zs: dict[str, torch.Tensor] = {}

    def keep_z(layer_name):
        def hook(module, inputs, output):
            inputs[0].retain_grad()
            zs[layer_name] = inputs[0]

        return hook

    handles = [layer.phi.register_forward_hook(keep_z(n)) for n, layer in native.layers()]
    loss_of(native).backward()
    for handle in handles:
        handle.remove()
    for model in (lecture, native):
        probe = StepProbe(model.layers())
        probe.arm()
        loss_of(model.train()).backward()
        probe.disarm()
        deltas, saturation = probe.take()
        assert set(deltas) == set(zs)
        for layer_name, layer in model.layers():
            z = zs[layer_name]
            assert deltas[layer_name].item() == pytest.approx(z.grad.norm().item(), rel=1e-5), layer_name
            act = layer.act
            expected = act.saturated_fraction(act.kept(z, act.phi(z))) if act.saturation else None
            if expected is None:
                assert layer_name not in saturation
            else:
                assert saturation[layer_name].item() == pytest.approx(expected.item(), abs=1e-6), layer_name


def test_bench_activations_measures_kept_memory(capsys):
    """scripts/bench_activations.py on a tiny stack: a z-row keeps x, a^(1..3) and z^(1..4) (8 tensors to
    relu's x, a^(1..4): 1.60), as native autograd does; recomputing z keeps x, a^(1..3) (0.80)."""
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "bench_activations.py"
    bench = runpy.run_path(str(script), run_name="bench_activations")
    assert bench["main"](["--depth", "4", "--width", "8", "--batch", "4", "--steps", "1", "--repeats", "1"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    ratio = {(r[0], r[1]): float(r[3]) for r in rows}
    z_rows = [name for name in NAMES if ACTIVATIONS[name].needs_z]
    assert set(ratio) == {("relu", "lecture"), ("relu", "native")} | {
        (n, impl) for n in z_rows for impl in ("lecture", "recompute", "native")
    }
    for name in z_rows:
        assert (ratio[(name, "lecture")], ratio[(name, "recompute")], ratio[(name, "native")]) == (1.6, 0.8, 1.6)
