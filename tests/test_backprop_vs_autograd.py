"""The Function equals native autograd, the lecture's hand recursion, and saves no more memory."""

from __future__ import annotations

import pytest
import torch

from aelab.backprop import ACTIVATIONS, half_mse, l2_penalty
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
