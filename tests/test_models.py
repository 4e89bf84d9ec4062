"""Autoencoders: lecture and torch twins agree number for number; the nets can fit MNIST."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from aelab.backprop import ACTIVATIONS, conv_act, unfolded_conv2d
from aelab.backprop.verify import rel_err, saved_bytes
from aelab.build import build_model
from aelab.models.base import AEOutput

NAMES = list(ACTIVATIONS)
SMALL = {"mlp": dict(width=24, code_dim=6), "conv": dict(channels=4, code_dim=6)}


def _twin_error(family: str, activation: str, depth: int, dtype: torch.dtype, kernel: str = "primitive") -> float:
    torch.manual_seed(depth)
    kw = dict(SMALL[family], depth=depth, activation=activation)
    lecture = build_model(family, impl="lecture", **kw, **({"conv_kernel": kernel} if family == "conv" else {}))
    lecture = lecture.to(dtype)
    native = build_model(family, impl="torch", **kw).to(dtype)
    native.load_state_dict(lecture.state_dict())
    x = torch.rand(3, 1, 28, 28, dtype=dtype)
    errs = []
    outs = []
    for model in (lecture, native):
        out = model(x)
        loss = 0.5 * (out.recon - x).pow(2).sum() / x.shape[0] + out.code.pow(2).sum() * 1e-3
        grads = torch.autograd.grad(loss, list(model.parameters()))
        outs.append([out.logits, out.code, *grads])
    for a, b in zip(*outs):
        errs.append(rel_err(a, b))
    return max(errs)


@pytest.mark.parametrize("family", ["mlp", "conv", "conv_unfold"])
@pytest.mark.parametrize("activation", NAMES)
@pytest.mark.parametrize("depth", [1, 2, 4, 8])
def test_lecture_and_torch_twins_agree(family, activation, depth):
    family, _, kernel = family.partition("_")
    assert _twin_error(family, activation, depth, torch.float64, kernel or "primitive") <= 1e-10
    assert _twin_error(family, activation, depth, torch.float32, kernel or "primitive") <= 1e-4


def _conv_cases(geometries: list[tuple[int, int, int]], activations: list[str]) -> list[tuple[int, int, int, str]]:
    """Every geometry with the listed activations, and every row of ACTIVATIONS on the first one."""
    cases = [(*g, a) for g in geometries for a in activations]
    return cases + [(*geometries[0], a) for a in NAMES if a not in activations]


@pytest.mark.parametrize(
    "kernel, stride, padding, activation",
    _conv_cases([(3, 1, 1), (3, 2, 1), (5, 1, 2), (5, 2, 0), (3, 1, 0)], ["identity", "tanh"]),
)
def test_unfolded_conv_matches_conv2d_and_gradcheck(kernel, stride, padding, activation):
    g = torch.Generator().manual_seed(kernel * 10 + stride)
    x = torch.randn(1, 2, 7, 6, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, kernel, kernel, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True)
    ours = unfolded_conv2d(x, w, b, stride, padding, activation)
    ref = ACTIVATIONS[activation].phi(F.conv2d(x, w, b, stride=stride, padding=padding))
    assert ours.shape == ref.shape
    gy = torch.randn_like(ref)
    g_ours = torch.autograd.grad(ours, (x, w, b), gy)
    g_ref = torch.autograd.grad(ref, (x, w, b), gy)
    assert rel_err(ours, ref) <= 1e-12
    assert max(rel_err(a, r) for a, r in zip(g_ours, g_ref)) <= 1e-12
    assert torch.autograd.gradcheck(lambda x, w, b: unfolded_conv2d(x, w, b, stride, padding, activation), (x, w, b))


@pytest.mark.parametrize(
    "kernel, stride, padding, activation",
    _conv_cases([(3, 2, 1), (3, 1, 1), (5, 1, 2), (5, 2, 0)], ["identity", "sigmoid", "relu", "elu", "gelu"]),
)
def test_primitive_conv_is_the_unfolded_layer_and_passes_gradcheck(kernel, stride, padding, activation):
    """conv_act (the lecture's backward, products by the convolution primitive) computes what the
    dense Function on unfolded patches computes, value and gradients, to 1e-12 in float64."""
    g = torch.Generator().manual_seed(kernel * 10 + stride)
    x = torch.rand(2, 2, 7, 6, generator=g, dtype=torch.float64).sub(0.5).requires_grad_()
    w = torch.randn(3, 2, kernel, kernel, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True)
    ours = conv_act(x, w, b, stride, padding, activation)
    ref = unfolded_conv2d(x, w, b, stride, padding, activation)
    gy = torch.randn(ref.shape, generator=g, dtype=torch.float64)
    g_ours = torch.autograd.grad(ours, (x, w, b), gy)
    g_ref = torch.autograd.grad(ref, (x, w, b), gy)
    assert rel_err(ours, ref) <= 1e-12
    assert max(rel_err(a, r) for a, r in zip(g_ours, g_ref)) <= 1e-12
    fn = lambda x, w, b: conv_act(x, w, b, stride, padding, activation)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, w, b))
    assert torch.autograd.gradgradcheck(fn, (x, w, b))


@pytest.mark.parametrize("activation", NAMES)
def test_primitive_conv_saves_no_more_than_native(activation):
    """The layer saves x (for ∂E/∂W), W (for ∂E/∂x) and a or z (for φ'): what conv2d + φ saves."""
    from aelab.models.layers import conv

    torch.manual_seed(0)
    ours = conv("lecture", 3, 8, 3, 2, 1, activation)
    native = conv("torch", 3, 8, 3, 2, 1, activation)
    native.load_state_dict(ours.state_dict())
    for needs_x in (False, True):
        x = torch.rand(4, 3, 14, 14, requires_grad=needs_x)
        assert 0 < saved_bytes(lambda x=x: ours(x)) <= saved_bytes(lambda x=x: native(x))


def test_conv_kernel_is_a_checked_model_key():
    assert build_model("conv", depth=1, channels=2).layers()[0][1].kernel == "primitive"
    assert build_model("conv", depth=1, channels=2, conv_kernel="unfold").layers()[0][1].kernel == "unfold"
    with pytest.raises(ValueError, match=r"model\.conv_kernel=im2col is not valid; choose one of: primitive, unfold"):
        build_model("conv", conv_kernel="im2col")


@pytest.mark.parametrize(
    "family, keys", [("mlp", {"width": 8}), ("conv", {"channels": 2}), ("resconv", {"channels": 2})]
)
def test_a_layer_has_the_same_name_for_the_same_role_at_every_depth(family, keys):
    """The first layer, the code, the decoder's last hidden layer and the output layer are named
    alike at depths 2 and 8 (one TensorBoard chart per role); each run's names sort in forward order."""
    shallow, deep = ([n for n, _ in build_model(family, depth=d, code_dim=3, **keys).layers()] for d in (2, 8))
    for names in (shallow, deep):
        assert names == sorted(names) and len(set(names)) == len(names)
        assert (names[0], names[-2], names[-1]) == ("01_enc", "98_dec", "99_out") and "50_code" in names
        n_enc = names.index("50_code") + 1
        assert names[:n_enc] == [f"{k:02d}_enc" for k in range(1, n_enc)] + ["50_code"]
    roles = {"01_enc", "50_code", "98_dec", "99_out"}
    assert roles <= set(shallow) & set(deep)
    mlp2 = [n for n, _ in build_model("mlp", depth=2, width=8).layers()]
    assert mlp2 == ["01_enc", "50_code", "98_dec", "99_out"]  # not 02_code at depth 2 and 02_enc at depth 8


def test_typed_output_encode_decode_and_layers():
    model = build_model("mlp", depth=3, width=16, code_dim=5)
    x = torch.rand(4, 1, 28, 28)
    out = model(x)
    assert isinstance(out, AEOutput)
    assert out.recon.shape == x.shape and out.code.shape == (4, 5)
    torch.testing.assert_close(out.recon, torch.sigmoid(out.logits))
    torch.testing.assert_close(model.decode(model.encode(x)), out.recon)
    assert [n for n, _ in model.layers()] == ["01_enc", "02_enc", "50_code", "97_dec", "98_dec", "99_out"]
    assert (
        model.summary()
        == "mlp impl=lecture activation=relu layers=784-16-16-5-16-16-784 params="
        + f"{sum(p.numel() for p in model.parameters()):,}"
    )
    conv = build_model("conv", depth=2, channels=4, code_dim=5)
    assert conv(x).recon.shape == x.shape
    assert conv.summary().startswith("conv impl=lecture activation=relu layers=c4-c8-392-5-392-c4-c1 params=")


def test_hinton_architecture_from_hidden_list():
    model = build_model("mlp", hidden=[1000, 500, 250], code_dim=30)
    assert model.layer_sizes() == ["784", "1000", "500", "250", "30", "250", "500", "1000", "784"]
    acts = [layer.act.name for _, layer in model.layers()]
    assert acts == ["relu"] * 3 + ["identity"] + ["relu"] * 3 + ["identity"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(depth=0), "model.depth=0 is out of range: model.depth must be >= 1 and <= 1000"),
        (dict(code_dim=0), "model.code_dim=0 is out of range: model.code_dim must be >= 1"),
        (dict(code_dim=785), "model.code_dim=785 is out of range: model.code_dim must be <= 784"),
        (dict(hidden=[100, 0]), r"model.hidden=\[100, 0\] is out of range: every item must be >= 1"),
        (dict(activation="swish"), "activation=swish is not valid; choose one of: identity, sigmoid, relu"),
        (dict(impl="jax"), "model.impl=jax is not valid; choose one of: lecture, torch"),
        (dict(init="orthogonal"), "model.init=orthogonal is not valid; choose one of: auto, xavier, kaiming"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_model("mlp", **kwargs)


def test_bad_family_and_conv_arguments():
    with pytest.raises(ValueError, match="model=rnn is not valid; choose one of: mlp, conv"):
        build_model("rnn")
    with pytest.raises(ValueError, match=r"model\.depth=0 is out of range: model\.depth must be >= 1 and <= 1000"):
        build_model("conv", depth=0)
    with pytest.raises(ValueError, match=r"model\.kernel_size=4 is not valid; choose one of: 3, 5"):
        build_model("conv", kernel_size=4)


@pytest.mark.parametrize(
    "activation, expected_std", [("relu", math.sqrt(2 / 784)), ("sigmoid", math.sqrt(2 / (784 + 400)))]
)
def test_auto_init_is_he_for_relu_and_glorot_for_sigmoid(activation, expected_std):
    torch.manual_seed(0)
    model = build_model("mlp", depth=2, width=400, activation=activation)
    first = model.layers()[0][1]
    assert first.weight.std().item() == pytest.approx(expected_std, rel=0.02)
    assert first.bias.abs().max().item() == 0.0
    torch.manual_seed(0)
    default = build_model("mlp", depth=2, width=400, activation=activation, init="torch_default")
    assert default.layers()[0][1].bias.abs().max().item() > 0


@pytest.mark.parametrize(
    "family, kw, lr", [("mlp", dict(depth=2, width=128), 3e-3), ("conv", dict(depth=2, channels=8), 3e-3)]
)
def test_models_fit_a_small_batch_of_mnist(mnist_root, family, kw, lr):
    from aelab.data.load import load_dataset

    x = load_dataset("mnist", mnist_root, limit=32, eval_limit=1).train_x
    torch.manual_seed(0)
    model = build_model(family, code_dim=16, **kw)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(200):
        out = model(x)
        loss = F.binary_cross_entropy_with_logits(out.logits, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append((out.recon.detach() - x).pow(2).flatten(1).sum(1).mean().item())
    assert losses[-1] <= losses[0] / 5, (losses[0], losses[-1])


def test_elu_is_one_row_of_the_activation_table(tmp_path):
    """activation=elu: φ and φ'(a) as ELU's (α = 1), the native twin nn.ELU, He init, and it trains
    through the whole CLI path with nothing else changed."""
    from aelab.backprop import ACTIVATIONS
    from aelab.config import check, compose, to_config

    elu = ACTIVATIONS["elu"]
    z = torch.linspace(-4, 4, 81, dtype=torch.float64, requires_grad=True)
    a = elu.phi(z)
    (dz,) = torch.autograd.grad(a.sum(), z)
    torch.testing.assert_close(elu.dphi_from_output(a.detach()), dz)  # φ'(z) read off the output
    torch.testing.assert_close(a, torch.nn.functional.elu(z))
    assert elu.init == "kaiming" and isinstance(elu.torch_module(), torch.nn.ELU)
    cfg = to_config(compose(["activation=elu"]))
    check(cfg)
    model = build_model(cfg.model)
    assert {layer.act.name for _, layer in model.layers()} == {"elu", "identity"}
