"""model=resconv: a family of three files that the registry, --help and the HPARAMS table pick up;
its layers inside residual blocks get init, names, the δ probe, gradient norms and the contractive
penalty; its lecture and torch twins agree; skip connections carry the gradient to the first layer."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.func import jacrev

from aelab.backprop import ACTIVATIONS
from aelab.backprop.verify import rel_err
from aelab.build import build_model
from aelab.config import ConfigError, check, compose, to_config
from aelab.config.reference import help_lines
from aelab.gradflow import StepProbe, first_last_ratio, layer_grad_norms
from aelab.loggers.hparams import columns
from aelab.models.layers import WEIGHT_LAYER_TYPES
from aelab.training.loop import train

REPO = Path(__file__).resolve().parents[1]
SMALL = dict(channels=2, code_dim=4)
SHAPES = [(1, 28, 28), (3, 32, 32), (2, 5, 7)]  # MNIST, CIFAR-sized, odd sides


def mse(out, x):
    return 0.5 * (out.recon - x).pow(2).sum() / x.shape[0]


def test_the_registry_help_and_hparams_list_resconv_and_its_keys():
    lines = [line for line in help_lines() if "[model=resconv]" in line]
    keys = {line.split("=", 1)[0].strip() for line in lines}
    assert keys == {"model.channels", "model.kernel_size", "model.conv_kernel"}
    assert {"model=resconv"} <= set().union(*(c.applies for c in columns(families=["resconv"]).values()))
    result = subprocess.run(
        [sys.executable, "scripts/train.py", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "resconv" in result.stdout  # the model group's options
    assert sum("[model=resconv]" in line for line in result.stdout.splitlines()) == len(lines)


@pytest.mark.parametrize("shape", SHAPES)
def test_build_model_trains_one_step_on_any_shape(shape):
    torch.manual_seed(0)
    model = build_model("resconv", shape=shape, depth=2, **SMALL)
    x = torch.rand(4, *shape)
    out = model(x)
    assert out.recon.shape == x.shape and out.code.shape == (4, 4)
    assert model.config.size(shape).params == sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    loss = mse(out, x)
    loss.backward()
    optimizer.step()
    assert math.isfinite(loss.item())
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().max() > 0, f"{name}: no gradient"
        assert not torch.equal(p.detach(), before[name]), f"{name} did not move"
    assert mse(model(x), x) < loss


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "gelu"])
@pytest.mark.parametrize("kernel", ["primitive", "unfold"])
def test_lecture_and_torch_twins_agree_in_float64(activation, kernel):
    torch.manual_seed(1)
    kw = dict(SMALL, depth=2, activation=activation, shape=(1, 12, 10))
    lecture = build_model("resconv", impl="lecture", conv_kernel=kernel, **kw).double()
    native = build_model("resconv", impl="torch", **kw).double()
    native.load_state_dict(lecture.state_dict())
    x = torch.rand(3, 1, 12, 10, dtype=torch.float64)
    results = []
    for model in (lecture, native):
        out = model(x)
        loss = mse(out, x) + 1e-3 * out.code.pow(2).sum()
        results.append([out.logits, out.code, *torch.autograd.grad(loss, list(model.parameters()))])
    for a, b in zip(*results):
        assert rel_err(a, b) <= 1e-10


def test_every_weight_layer_is_listed_in_forward_order_and_initialised_per_its_activation():
    torch.manual_seed(0)
    depth = 3
    model = build_model("resconv", depth=depth, activation="relu", channels=8, code_dim=4)
    layers = model.layers()
    every = [m for m in model.modules() if isinstance(m, WEIGHT_LAYER_TYPES)]
    assert [m for _, m in layers] == every
    # per side: stem, down, two per block, then the code layer (encoder) or the first dense one (decoder)
    assert len(layers) == 2 * (2 + 2 * depth + 1)
    names = [n for n, _ in layers]
    assert names[0] == "01_enc" and names[2 + 2 * depth] == "50_code" and names[-1] == "99_out"
    called = []
    handles = [m.register_forward_hook(lambda mod, i, o, n=n: called.append(n)) for n, m in layers]
    model(torch.rand(2, 1, 28, 28))
    for h in handles:
        h.remove()
    assert called == names  # the registration order is the order forward runs them
    for name, layer in layers:  # He for relu, Glorot for identity (code, out), biases zero
        fan_in = layer.weight[0].numel()
        if layer.act.name == "relu":
            assert layer.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.25), name
        assert layer.bias.abs().max().item() == 0.0, name
    inside = model.encoder[2].conv_a  # a relu layer inside a block
    assert inside.weight.std().item() == pytest.approx(math.sqrt(2 / inside.weight[0].numel()), rel=0.1)
    sigmoid = build_model("resconv", depth=1, activation="sigmoid", channels=8, code_dim=4).encoder[2].conv_a
    fan = sigmoid.weight[0].numel()
    bound = ACTIVATIONS["sigmoid"].gain * math.sqrt(6 / (fan + fan))  # xavier_uniform, fan_out = fan_in here
    assert sigmoid.weight.abs().max().item() <= bound and sigmoid.weight.std().item() > 0.8 * bound / math.sqrt(3)


def test_every_layer_gets_a_delta_probe_and_a_gradient_norm():
    torch.manual_seed(0)
    model = build_model("resconv", depth=2, activation="sigmoid", **SMALL)
    layers = model.layers()
    x = torch.rand(8, 1, 28, 28)
    probe = StepProbe(layers)
    probe.arm()
    model.train()
    mse(model(x), x).backward()
    delta, saturation = probe.take()
    probe.disarm()
    names = [n for n, _ in layers]
    assert list(delta) == names[::-1] or set(delta) == set(names)
    assert all(float(v) > 0 for v in delta.values())
    assert {n for n, layer in layers if layer.act.name == "sigmoid"} == set(saturation)
    norms = layer_grad_norms(model, x, mse)
    assert list(norms) == names and all(v > 0 for v in norms.values())


def test_contractive_penalty_is_the_sum_of_every_encoder_layers_jacobian_inside_blocks_too():
    torch.manual_seed(0)
    model = build_model(
        "resconv", ae={"name": "contractive", "weight": 0.5}, depth=1, activation="tanh", shape=(1, 8, 8), **SMALL
    ).double()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.5)
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64)
    inputs = []
    handles = [
        m.register_forward_hook(lambda mod, i, o: inputs.append((mod, i[0].detach())))
        for m in model.encoder.modules()
        if isinstance(m, WEIGHT_LAYER_TYPES)
    ]
    model.encode(x)
    for h in handles:
        h.remove()
    assert len(inputs) == 2 + 2 + 1  # stem, down, the block's two, the code layer
    block = model.encoder[2]
    assert [m for m, _ in inputs][2:4] == [block.conv_a, block.conv_b]
    expected = sum(
        torch.stack([jacrev(lambda v, m=m: m(v[None])[0])(h).pow(2).sum() for h in h_in]).mean() for m, h_in in inputs
    )
    torch.testing.assert_close(model(x).loss_terms["penalty"], 0.5 * expected, rtol=1e-10, atol=1e-12)


def test_layerwise_pretraining_refuses_resconv_in_one_line(tmp_path):
    config = to_config(compose(["model=resconv", "pretrain=layerwise", "depth=2"]))
    with pytest.raises(ConfigError, match="model=resconv") as err:
        check(config)
    assert "\n" not in str(err.value) and "model=mlp" in str(err.value)
    with pytest.raises(ConfigError, match="model=resconv"):
        train(config, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_skip_connections_carry_the_gradient_to_the_first_layer(activation):
    """The lecture's point at initialisation: at depth 8, ‖∂E/∂W‖ of the first layer over the last's
    is orders of magnitude larger with the skip connections than through conv's plain chain."""
    torch.manual_seed(0)
    x = torch.rand(16, 1, 28, 28)
    ratios = {}
    for family, size in (("conv", dict(channels=4)), ("resconv", dict(channels=2))):
        model = build_model(family, depth=8, activation=activation, code_dim=8, **size)
        ratios[family] = first_last_ratio(layer_grad_norms(model, x, mse))
    if activation == "sigmoid":
        assert ratios["resconv"] > 100 * ratios["conv"], ratios
    else:
        assert ratios["resconv"] > ratios["conv"], ratios
