"""Autoencoder kinds (ae=plain|denoising|sparse|contractive|vae) and layer-wise pretraining: the
hand-written backward equals autograd for every kind, each penalty is the quantity it claims to be,
the sampling and the corruption have the stated statistics, ae=plain trains bit for bit as before."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch.distributions import Bernoulli, Normal, kl_divergence
from torch.func import jacrev

from aelab.ae.contractive.kind import contraction, encoder_layers, layer_contraction, squared_fan_in
from aelab.ae.sparse.kind import kl_sparsity, l1_sparsity
from aelab.ae.vae.kind import kl_to_prior
from aelab.backprop import ACTIVATIONS, dphi_input
from aelab.build import build_model
from aelab.config import check, complete_saved, fingerprint, to_config, to_dict
from aelab.data.load import load_dataset
from aelab.errors import ConfigError
from aelab.gradflow import layer_grad_norms
from aelab.loggers.base import Loggers, NullLogger
from aelab.metrics import EVAL_SEED, evaluate
from aelab.models.layers import WEIGHT_LAYER_TYPES
from aelab.runs import load_run
from aelab.training.checkpoint import load_checkpoint
from aelab.training.loop import train
from aelab.training.losses import build_loss
from aelab.training.pretrain import pretrain_layerwise, stages
from conftest import compose

REFERENCE = json.loads((Path(__file__).parent / "data" / "plain_reference.json").read_text())

# name -> (ae config, model keywords the kind needs, the loss terms it adds)
KINDS = {
    "plain": ({"name": "plain"}, {}, set()),
    "denoising": ({"name": "denoising", "noise": "masking", "noise_level": 0.3}, {}, set()),
    "denoising_gaussian": ({"name": "denoising", "noise": "gaussian", "noise_level": 0.2}, {}, set()),
    "sparse_kl": (
        {"name": "sparse", "penalty": "kl", "target": 0.05, "weight": 0.1},
        {"code_activation": "sigmoid"},
        {"penalty"},
    ),
    "sparse_l1": ({"name": "sparse", "penalty": "l1", "weight": 0.1}, {"code_activation": "tanh"}, {"penalty"}),
    "contractive": (
        {"name": "contractive", "weight": 0.5},
        {"activation": "sigmoid", "code_activation": "tanh"},
        {"penalty"},
    ),
    "vae": ({"name": "vae", "beta": 1.0}, {}, {"kl"}),
}
SMALL = {"mlp": {"depth": 2, "width": 16, "code_dim": 4}, "conv": {"depth": 2, "channels": 2, "code_dim": 4}}


def small_model(family, kind, impl="lecture", dtype=torch.float64, **extra):
    ae, needs, _ = KINDS[kind]
    return build_model(family, ae=ae, impl=impl, **{**SMALL[family], **needs, **extra}).to(dtype)


def batch(n=6, seed=0, dtype=torch.float64):
    return torch.rand((n, 1, 28, 28), generator=torch.Generator().manual_seed(seed), dtype=dtype)


def weights_sha256(state):  # as tests/data/make_plain_reference.py hashes them
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].contiguous().numpy().tobytes())
    return digest.hexdigest()


def mean_sq_jacobian(f, inputs):
    """1/n Σ_k ‖∂f/∂x (x_k)‖²_F, f taking and giving one example, by autograd (jacrev)."""
    return torch.stack([jacrev(f)(x).pow(2).sum() for x in inputs]).mean()


# --- 1. the hand-written backward equals autograd for every kind ---------------------------------


@pytest.mark.parametrize("family", ["mlp", "conv"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_lecture_and_torch_twins_agree_on_loss_and_every_gradient(family, kind):
    terms = KINDS[kind][2]
    loss_name = "bce" if kind == "vae" else "mse"
    lecture = small_model(family, kind, "lecture")
    twin = small_model(family, kind, "torch")
    twin.load_state_dict(lecture.state_dict())
    x = batch()
    results = []
    for model, impl in ((lecture, "lecture"), (twin, "torch")):
        model.train()
        loss_fn = build_loss(loss_name, impl)
        torch.manual_seed(123)  # the same noise / ε draws for both
        out = model(x)
        loss = loss_fn(out, x)
        loss.backward()
        assert set(out.loss_terms) == terms, f"{impl}: loss_terms {set(out.loss_terms)}"
        assert set(loss_fn.terms) == {"recon", *terms}
        for term in terms:
            value = float(out.loss_terms[term].detach())
            assert value > 1e-6, f"{impl}: {term} is {value}"
        total = loss_fn.terms["recon"] + sum(loss_fn.terms[t] for t in terms)
        torch.testing.assert_close(loss.detach(), total, rtol=1e-14, atol=0)
        grads = {}
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), f"{impl}: no gradient for {name}"
            grads[name] = p.grad.clone()
        results.append((loss.detach(), grads))
    (loss_l, grads_l), (loss_t, grads_t) = results
    torch.testing.assert_close(loss_l, loss_t, rtol=1e-10, atol=1e-10)
    assert grads_l.keys() == grads_t.keys()
    for name in grads_l:
        torch.testing.assert_close(
            grads_l[name], grads_t[name], rtol=1e-10, atol=1e-10, msg=lambda m, n=name: f"{n}: {m}"
        )
        assert grads_l[name].abs().max() > 0, f"{name}: zero gradient"


# --- 2. the contractive penalty is the squared Frobenius norm of the Jacobian ---------------------

ACTS = list(ACTIVATIONS)  # every row, those whose φ' needs z included
Z_ROWS = [name for name in ACTS if ACTIVATIONS[name].needs_z]


@pytest.mark.parametrize("impl", ["lecture", "torch"])
@pytest.mark.parametrize("code_activation", ACTS)
def test_one_layer_contraction_is_the_encoders_jacobian(impl, code_activation):
    torch.manual_seed(0)
    model = build_model(
        "mlp", ae=KINDS["contractive"][0], impl=impl, depth=1, code_dim=5, code_activation=code_activation
    )
    model = model.double().train()
    x = batch(5, seed=1)
    code, layers = encoder_layers(model, x)
    assert len(layers) == 1
    torch.testing.assert_close(code, model.encode(x), rtol=0, atol=0)
    expected = mean_sq_jacobian(lambda v: model.encode(v[None])[0], x)
    torch.testing.assert_close(contraction(layers), expected, rtol=1e-10, atol=1e-12)
    out = model(x)
    torch.testing.assert_close(out.loss_terms["penalty"], 0.5 * expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("impl", ["lecture", "torch"])
@pytest.mark.parametrize("kernel_size", [3, 5])
@pytest.mark.parametrize("activation", ["relu", "identity", "sigmoid", "tanh", "elu", *Z_ROWS])
def test_conv_encoder_layer_contraction_is_each_layers_jacobian(impl, kernel_size, activation):
    torch.manual_seed(0)
    # depth 3: two stride-2 convolutions with padding (28 → 14 → 7), one stride-1, then the dense code layer
    model = build_model(
        "conv",
        ae=KINDS["contractive"][0],
        impl=impl,
        depth=3,
        channels=2,
        code_dim=3,
        kernel_size=kernel_size,
        activation=activation,
        code_activation=activation,
    ).double()
    for p in model.parameters():  # biases away from 0, so relu units are on and off
        torch.nn.init.normal_(p, std=0.5)
    x = batch(3, seed=2)
    _, layers = encoder_layers(model, x)
    assert [type(layer).__name__.endswith("Conv2d") for layer, _, _ in layers] == [True, True, True, False]
    strides = [layer.stride[0] for layer, _, _ in layers[:3]]
    assert strides == [2, 2, 1]
    gen = torch.Generator().manual_seed(3)
    total = torch.zeros((), dtype=torch.float64)
    for layer, shape, _ in layers:
        h = torch.randn(shape, generator=gen, dtype=torch.float64)  # a random input of the layer's shape
        kept = dphi_input(layer, h, layer(h))  # a, or z for a row whose φ' needs z
        expected = mean_sq_jacobian(lambda v, layer=layer: layer(v[None])[0], h)
        torch.testing.assert_close(layer_contraction(layer, shape, kept), expected, rtol=1e-10, atol=1e-12)
        total = total + expected
    # a kernel tap outside the image counts nothing: fan-in at a corner < in the middle for a conv layer
    first, shape, _ = layers[0]
    fan = squared_fan_in(first, shape)
    assert fan[:, 0, 0].lt(fan[:, 3, 3]).all() and fan.shape == (2, 14, 14)
    # the kind's penalty is weight × Σ over the encoder's layers, each against its actual input
    model.train()
    inputs, h = [], x
    for module in model.encoder:
        if isinstance(module, WEIGHT_LAYER_TYPES):
            inputs.append((module, h))
        h = module(h)
    expected = sum(mean_sq_jacobian(lambda v, m=m: m(v[None])[0], h_in) for m, h_in in inputs)
    torch.testing.assert_close(model(x).loss_terms["penalty"], 0.5 * expected, rtol=1e-10, atol=1e-12)


# --- 3. the KL terms ------------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["mlp", "conv"])
@pytest.mark.parametrize("beta", [1.0, 2.5])
def test_vae_kl_term_is_the_closed_form_kl_to_the_prior(family, beta):
    torch.manual_seed(0)
    model = build_model(family, ae={"name": "vae", "beta": beta}, **SMALL[family]).double().train()
    x = batch(7)
    mu, logvar = model.encoder(x).detach().chunk(2, dim=1)
    assert model.code_heads == 2 and mu.shape == (7, 4)
    torch.manual_seed(1)
    out = model(x)
    torch.testing.assert_close(out.mu, mu, rtol=0, atol=0)
    torch.testing.assert_close(out.logvar, logvar, rtol=0, atol=0)
    torch.testing.assert_close(out.code, mu, rtol=0, atol=0)  # the code of a VAE is μ
    reference = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0))
    torch.testing.assert_close(kl_to_prior(mu, logvar), reference, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(out.loss_terms["kl"], beta * reference.sum(1).mean(), rtol=1e-12, atol=0)


def test_kl_to_prior_per_dimension_on_chosen_values():
    mu = torch.tensor([[0.0, 1.0, -2.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, math.log(4.0), math.log(0.25)]], dtype=torch.float64)
    # ½(μ² + σ² − 1 − log σ²)
    expected = [[0.0, 0.5 * (1 + 4 - 1 - math.log(4)), 0.5 * (4 + 0.25 - 1 - math.log(0.25))]]
    torch.testing.assert_close(
        kl_to_prior(mu, logvar), torch.tensor(expected, dtype=torch.float64), rtol=1e-14, atol=1e-15
    )


def test_sparse_kl_is_the_bernoulli_kl_of_the_target_to_each_units_mean():
    code = torch.rand((50, 6), generator=torch.Generator().manual_seed(0), dtype=torch.float64) ** 2
    rho = 0.05
    rho_hat = code.mean(0)
    by_hand = sum(rho * math.log(rho / float(r)) + (1 - rho) * math.log((1 - rho) / (1 - float(r))) for r in rho_hat)
    assert float(kl_sparsity(code, rho)) == pytest.approx(by_hand, rel=1e-12)
    library = kl_divergence(Bernoulli(probs=torch.full_like(rho_hat, rho)), Bernoulli(probs=rho_hat)).sum()
    torch.testing.assert_close(kl_sparsity(code, rho), library, rtol=1e-12, atol=0)
    # zero exactly when every unit's mean activation is the target
    assert float(kl_sparsity(torch.full((4, 3), rho, dtype=torch.float64), rho)) == pytest.approx(0, abs=1e-15)
    # l1: mean over examples of Σ_j |h_j|
    signed = code - 0.5
    assert float(l1_sparsity(signed)) == pytest.approx(float(signed.abs().sum()) / 50, rel=1e-12)


@pytest.mark.parametrize("family", ["mlp", "conv"])
@pytest.mark.parametrize("kind", ["sparse_kl", "sparse_l1"])
def test_sparse_penalty_is_weight_times_the_penalty_of_the_models_code(family, kind):
    torch.manual_seed(0)
    model = small_model(family, kind).train()
    x = batch()
    code = model.encode(x)
    config = KINDS[kind][0]
    omega = kl_sparsity(code, config["target"]) if config["penalty"] == "kl" else code.abs().sum(1).mean()
    out = model(x)
    torch.testing.assert_close(out.code, code, rtol=0, atol=0)
    torch.testing.assert_close(out.loss_terms["penalty"], config["weight"] * omega, rtol=1e-12, atol=0)


# --- 4. the reparameterization -------------------------------------------------------------------


def _vae_with_fixed_posterior(mu, logvar, impl):
    """A one-layer-encoder VAE whose (μ, log σ²) is the code layer's bias whatever the input."""
    model = build_model("mlp", ae={"name": "vae"}, impl=impl, depth=1, code_dim=len(mu))
    layer = [m for m in model.encoder if isinstance(m, WEIGHT_LAYER_TYPES)][-1]
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.copy_(torch.cat([mu, logvar]))
    codes = []
    model.decoder.register_forward_pre_hook(lambda module, args: codes.append(args[0].detach().clone()))
    return model, codes


@pytest.mark.parametrize("impl", ["lecture", "torch"])
def test_vae_samples_z_from_mu_and_sigma_in_training_and_uses_mu_in_eval(impl):
    mu = torch.tensor([0.5, -1.0, 2.0, 0.0])
    var = torch.tensor([0.25, 1.0, 4.0, 0.01])
    model, codes = _vae_with_fixed_posterior(mu, var.log(), impl)
    n = 20_000
    x = batch(n, dtype=torch.float32)
    torch.manual_seed(0)
    model.train()
    out = model(x)
    z = codes[-1].double()
    assert z.shape == (n, 4)
    torch.testing.assert_close(out.mu, mu.expand(n, 4), rtol=0, atol=1e-6)
    # mean within 5 standard errors σ/√n, variance within 5 of σ²·√(2/(n−1))
    assert (z.mean(0) - mu).abs().le(5 * var.sqrt() / math.sqrt(n)).all(), f"mean {z.mean(0)} vs μ {mu}"
    assert (z.var(0) - var).abs().le(5 * var * math.sqrt(2 / (n - 1))).all(), f"var {z.var(0)} vs σ² {var}"
    corr = torch.corrcoef(z.T) - torch.eye(4, dtype=torch.float64)
    assert corr.abs().max() < 5 / math.sqrt(n), "the dimensions of z are drawn independently"
    standardized = (z - mu) / var.sqrt()  # ε ~ N(0, 1): its fourth moment is 3
    assert float(standardized.pow(4).mean()) == pytest.approx(3.0, abs=0.2)
    # a second forward pass draws anew
    model(x[:10])
    assert not torch.equal(codes[-1], z[:10].float())
    # eval: z = μ exactly, deterministic, and the global RNG is untouched
    model.eval()
    rng = torch.get_rng_state()
    first, second = model(x[:10]), model(x[:10])
    assert torch.equal(torch.get_rng_state(), rng), "evaluation drew from the global generator"
    assert torch.equal(codes[-1], mu.expand(10, 4)) and torch.equal(codes[-2], mu.expand(10, 4))
    assert torch.equal(first.code, mu.expand(10, 4))
    assert torch.equal(first.recon, second.recon) and torch.equal(first.logits, second.logits)


# --- 5. the corruption of the denoising autoencoder ----------------------------------------------


@pytest.mark.parametrize("level", [0.3, 0.7])
def test_masking_zeroes_the_requested_fraction_and_keeps_the_rest(level):
    kind = build_model("mlp", ae={"name": "denoising", "noise": "masking", "noise_level": level}, depth=1).kind
    ones = torch.ones(1_000_000)
    noisy = kind.corrupt(ones, torch.Generator().manual_seed(0))
    assert set(noisy.unique().tolist()) <= {0.0, 1.0}, "kept pixels must be unchanged (no rescaling)"
    zeroed = float((noisy == 0).double().mean())
    se = math.sqrt(level * (1 - level) / ones.numel())
    assert abs(zeroed - level) < 4 * se, f"zeroed {zeroed} of the pixels, asked for {level}"
    # a seeded generator gives the same mask; the global generator is then untouched
    rng = torch.get_rng_state()
    assert torch.equal(kind.corrupt(ones, torch.Generator().manual_seed(0)), noisy)
    assert torch.equal(torch.get_rng_state(), rng)


@pytest.mark.parametrize("level", [0.1, 0.5])
def test_gaussian_noise_has_the_requested_std(level):
    kind = build_model("mlp", ae={"name": "denoising", "noise": "gaussian", "noise_level": level}, depth=1).kind
    x = torch.full((1_000_000,), 0.25, dtype=torch.float64)
    noise = kind.corrupt(x, torch.Generator().manual_seed(0)) - x
    n = x.numel()
    assert abs(float(noise.mean())) < 5 * level / math.sqrt(n)
    assert abs(float(noise.std()) - level) < 5 * level / math.sqrt(2 * n)


@pytest.mark.parametrize("noise", ["masking", "gaussian"])
@pytest.mark.parametrize("family", ["mlp", "conv"])
def test_denoising_corrupts_in_training_only(family, noise):
    torch.manual_seed(0)
    ae = {"name": "denoising", "noise": noise, "noise_level": 0.4}
    model = build_model(family, ae=ae, **SMALL[family]).double()
    x = batch()
    model.eval()
    rng = torch.get_rng_state()
    clean = model.reconstruct(x)
    evaluated = model(x)
    assert torch.equal(evaluated.recon, clean.recon) and torch.equal(evaluated.code, clean.code)
    assert torch.equal(torch.get_rng_state(), rng), "an eval forward drew noise"
    model.train()
    torch.manual_seed(5)
    trained = model(x)
    torch.manual_seed(5)
    expected = model.reconstruct(model.kind.corrupt(x))
    assert torch.equal(trained.recon, expected.recon), "training must reconstruct from corrupt(x)"
    assert not torch.allclose(trained.recon, clean.recon), "training did not corrupt the input"


def test_evaluate_adds_the_kinds_metrics_without_touching_the_global_rng():
    torch.manual_seed(0)
    images = batch(40, dtype=torch.float32)
    denoising = build_model("mlp", ae={"name": "denoising", "noise_level": 0.5}, **SMALL["mlp"])
    vae = build_model("mlp", ae={"name": "vae"}, **SMALL["mlp"])
    rng = torch.get_rng_state()
    d_metrics, v_metrics = evaluate(denoising, images, batch_size=16), evaluate(vae, images, batch_size=16)
    assert torch.equal(torch.get_rng_state(), rng), "evaluate drew from the global generator"
    assert denoising.training and vae.training, "evaluate must restore training mode"
    with torch.no_grad():
        # denoising: ‖f(x̃) − x‖² per image, x̃ from a generator seeded EVAL_SEED across the batches
        gen = torch.Generator().manual_seed(EVAL_SEED)
        err = sum(
            (denoising.reconstruct(denoising.kind.corrupt(images[i : i + 16], gen)).recon - images[i : i + 16])
            .pow(2)
            .sum()
            for i in range(0, 40, 16)
        )
        assert d_metrics["corrupted_sq_err_per_image"] == pytest.approx(float(err) / 40, rel=1e-5)
        clean = (denoising.reconstruct(images).recon - images).pow(2).sum() / 40
        assert d_metrics["sq_err_per_image"] == pytest.approx(float(clean), rel=1e-5)
        # vae: neg_elbo = BCE(x, decoder(μ + σε)) + KL, kl = Σ_j KL, per image (β = 1)
        gen = torch.Generator().manual_seed(EVAL_SEED)
        nll, kl = 0.0, 0.0
        for i in range(0, 40, 16):
            x = images[i : i + 16]
            mu, logvar = vae.encoder(x).chunk(2, dim=1)
            eps = torch.randn(mu.shape, generator=gen)
            logits = vae.decode_logits(mu + torch.exp(0.5 * logvar) * eps)
            nll += float(F.binary_cross_entropy_with_logits(logits, x, reduction="sum"))
            kl += float(kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum())
    assert v_metrics["kl"] == pytest.approx(kl / 40, rel=1e-5)
    assert v_metrics["neg_elbo"] == pytest.approx((nll + kl) / 40, rel=1e-5)


# --- 6. layer-wise pretraining -------------------------------------------------------------------


def _pretrain_config(tiny_cfg, *extra):
    return to_config(
        tiny_cfg("pretrain=layerwise", "pretrain.epochs_per_layer=3", "activation=sigmoid", "depth=3", *extra)
    )


def _train_images(config):
    d = config.data
    return load_dataset(
        d.name, d.root, limit=d.limit, eval_limit=d.eval_limit, split_seed=d.split_seed, device="cpu"
    ).train_x


@pytest.mark.parametrize("impl", ["lecture", "torch"])
@pytest.mark.parametrize("ae", ["plain", "denoising"])
def test_layerwise_pretraining_trains_each_layer_then_unrolls_the_transposed_encoder(tiny_cfg, ae, impl):
    config = _pretrain_config(tiny_cfg, f"ae={ae}", f"model.impl={impl}")
    check(config)
    torch.manual_seed(config.seed)
    model = build_model(config.model, ae=config.ae)
    images = _train_images(config)
    initial = copy.deepcopy(model.state_dict())
    snapshots = []

    def commit(done):
        snapshots.append((copy.deepcopy(done), copy.deepcopy(model.state_dict())))

    records = pretrain_layerwise(
        model, images, config, done=[], commit=commit, check_stop=lambda where: None, log=lambda s: None
    )
    the_stages = stages(model)
    assert len(the_stages) == 3 and len(snapshots) == 3 and len(records) == 3
    assert [r["layer"] for r in records] == [s.name for s in the_stages] == ["01_enc", "02_enc", "50_code"]
    for record in records:
        losses = record["losses"]
        assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
        assert all(b < a for a, b in zip(losses, losses[1:])), f"{record['layer']}: loss did not decrease: {losses}"
    # stage k changes only encoder layer k and its mirror, and leaves the mirror = the transposed layer
    names = {id(p): n for n, p in model.named_parameters()}
    previous = initial
    for k, (stage, (done, state)) in enumerate(zip(the_stages, snapshots)):
        assert len(done) == k + 1
        own = {
            names[id(stage.encoder.weight)],
            names[id(stage.encoder.bias)],
            names[id(stage.decoder.weight)],
            names[id(stage.decoder.bias)],
        }
        for name in state:
            if name in own:
                assert not torch.equal(state[name], previous[name]), f"stage {stage.name} did not train {name}"
            else:
                assert torch.equal(state[name], previous[name]), f"stage {stage.name} changed {name}"
        enc_w, dec_w = names[id(stage.encoder.weight)], names[id(stage.decoder.weight)]
        assert torch.equal(state[dec_w], state[enc_w].t()), f"stage {stage.name}: decoder ≠ encoderᵀ"
        previous = state
    for stage in the_stages:
        assert torch.equal(stage.decoder.weight, stage.encoder.weight.t())


class _Capture(NullLogger):
    """Keeps a copy of the weights the end-to-end training starts from."""

    def on_train_start(self, model, data, config, record):
        self.start = copy.deepcopy(model.state_dict())


def test_fine_tuning_starts_from_the_pretrained_weights(tiny_cfg, tmp_path):
    cfg = tiny_cfg("pretrain=layerwise", "pretrain.epochs_per_layer=2", "activation=sigmoid", "depth=3")
    capture = _Capture()
    metrics = train(cfg, run_dir=tmp_path / "run", logger=capture)
    assert metrics["status"] == "completed", metrics.get("error")
    config = to_config(cfg)
    torch.manual_seed(config.seed)
    model = build_model(config.model, ae=config.ae)
    records = pretrain_layerwise(
        model,
        _train_images(config),
        config,
        done=[],
        commit=lambda d: None,
        check_stop=lambda w: None,
        log=lambda s: None,
    )
    pretrained = model.state_dict()
    assert capture.start.keys() == pretrained.keys()
    for name, value in pretrained.items():
        assert torch.equal(capture.start[name], value), f"fine-tuning did not start from the pretrained {name}"
    on_disk = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert on_disk["pretrain"]["done"] is True
    assert [s["layer"] for s in on_disk["pretrain"]["stages"]] == ["01_enc", "02_enc", "50_code"]
    assert [s["losses"] for s in on_disk["pretrain"]["stages"]] == [r["losses"] for r in records]
    assert all(s["time_s"] >= 0 for s in on_disk["pretrain"]["stages"])
    final = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["model"]
    assert any(not torch.equal(final[n], v) for n, v in pretrained.items()), "fine-tuning changed nothing"


def _params(run_dir):
    return load_checkpoint(run_dir / "checkpoints" / "last.pt")["model"]


def test_pretraining_interrupted_in_a_stage_resumes_to_the_uninterrupted_run(tiny_cfg, tmp_path, monkeypatch):
    extra = ("pretrain=layerwise", "pretrain.epochs_per_layer=2", "activation=sigmoid", "depth=3", "ae=denoising")
    reference = train(tiny_cfg(*extra), run_dir=tmp_path / "ref", logger=NullLogger())
    assert reference["status"] == "completed", reference.get("error")

    real = pretrain_layerwise

    def interrupted(model, images, config, done, commit, check_stop, **kwargs):
        def stop_in_stage_two(where):
            if where.startswith("pretraining 02_enc, epoch 2"):
                os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C would
            check_stop(where)

        return real(model, images, config, done, commit, stop_in_stage_two, **kwargs)

    monkeypatch.setattr("aelab.training.loop.pretrain_layerwise", interrupted)
    stopped = train(tiny_cfg(*extra), run_dir=tmp_path / "run", logger=NullLogger())
    assert stopped["status"] == "interrupted" and "02_enc" in stopped["error"], stopped.get("error")
    on_disk = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [s["layer"] for s in on_disk["pretrain"]["stages"]] == ["01_enc"] and on_disk["pretrain"]["done"] is False

    monkeypatch.setattr("aelab.training.loop.pretrain_layerwise", real)
    resumed = train(tiny_cfg(*extra, f"resume={tmp_path / 'run'}"), logger=NullLogger())
    assert resumed["status"] == "completed", resumed.get("error")
    assert resumed["pretrain"]["done"] is True
    assert [s["losses"] for s in resumed["pretrain"]["stages"]] == [
        s["losses"] for s in reference["pretrain"]["stages"]
    ]
    assert resumed["test"] == reference["test"]
    ref_state, state = _params(tmp_path / "ref"), _params(tmp_path / "run")
    for name, tensor in ref_state.items():
        assert torch.equal(tensor, state[name]), name


class _SigintAt(NullLogger):
    def __init__(self, step):
        self.step = step

    def on_step(self, step, loss, model, lr):
        if step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("kind", ["vae", "denoising", "sparse"])
def test_a_kind_interrupted_mid_epoch_resumes_to_the_uninterrupted_run(tiny_cfg, tmp_path, kind):
    # the kind's noise comes from the global generator, saved in the checkpoint; its loss terms too
    extra = (f"ae={kind}", "trainer.epochs=2", "data.limit=640", "data.eval_limit=128")  # 10 steps per epoch
    reference = train(tiny_cfg(*extra), run_dir=tmp_path / "ref", logger=NullLogger())
    assert reference["status"] == "completed", reference.get("error")
    stopped = train(tiny_cfg(*extra), run_dir=tmp_path / "run", logger=_SigintAt(step=13))
    assert stopped["status"] == "interrupted", stopped.get("error")
    resumed = train(tiny_cfg(*extra, f"resume={tmp_path / 'run'}"), logger=NullLogger())
    assert resumed["status"] == "completed", resumed.get("error")
    for ours, theirs in zip(resumed["history"], reference["history"], strict=True):
        assert ours["train_loss"] == theirs["train_loss"]
        assert ours.get("train_terms") == theirs.get("train_terms")
        assert ours["val"] == theirs["val"] and ours.get("ae") == theirs.get("ae")
    assert resumed["test"] == reference["test"]
    ref_state, state = _params(tmp_path / "ref"), _params(tmp_path / "run")
    for name, tensor in ref_state.items():
        assert torch.equal(tensor, state[name]), name


@pytest.mark.parametrize("extra, key", [(["model=conv"], "model=conv"), (["ae=vae"], "ae=vae")])
def test_layerwise_pretraining_refuses_conv_and_vae_before_writing_anything(tiny_cfg, tmp_path, extra, key):
    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError, match=key):
        train(tiny_cfg("pretrain=layerwise", *extra), run_dir=run_dir)
    assert not run_dir.exists()


# --- 7. ae=plain trains bit for bit as before the kinds ------------------------------------------


@pytest.mark.parametrize("case", sorted(REFERENCE["runs"]))
def test_plain_kind_trains_bit_for_bit_as_before(mnist_root, tmp_path, case):
    run = REFERENCE["runs"][case]
    # the convolution as it was computed then: the dense Function on unfolded patches
    kernel = ["model.conv_kernel=unfold"] if "model=conv" in run["extra"] else []
    cfg = compose([*REFERENCE["overrides"], f"data.root={mnist_root}", *run["extra"], *kernel, "ae=plain"])
    metrics = train(cfg, run_dir=tmp_path / "run")
    assert metrics["status"] == "completed", metrics.get("error")
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["model"]
    assert [e["train_loss"] for e in metrics["history"]] == run["train_loss"]
    assert metrics["test"] == run["test"]
    assert weights_sha256(state) == run["model_sha256"]


# --- 8. every kind trains on every family and impl ------------------------------------------------

RUN_KINDS = {
    "plain": ([], set(), set(), set()),
    "denoising": (["ae=denoising"], set(), {"corrupted_sq_err_per_image"}, set()),
    "sparse_kl": (
        ["ae=sparse"],
        {"penalty"},
        set(),
        {"sparse/mean_activation", "sparse/l1_per_image", "sparse/penalty"},
    ),
    "sparse_l1": (
        ["ae=sparse", "ae.penalty=l1"],
        {"penalty"},
        set(),
        {"sparse/mean_activation", "sparse/l1_per_image", "sparse/penalty"},
    ),
    "contractive": (["ae=contractive"], {"penalty"}, set(), {"contractive/penalty", "contractive/jacobian_norm"}),
    "vae": (["ae=vae"], {"kl"}, {"neg_elbo", "kl"}, {"vae/kl", "vae/active_units"}),
}
BASE_METRICS = {"sq_err_per_image", "mse", "bce"}


@pytest.mark.parametrize("impl", ["lecture", "torch"])
@pytest.mark.parametrize("family", ["mlp", "conv"])
@pytest.mark.parametrize("kind", list(RUN_KINDS))
def test_every_kind_trains_and_reports_its_terms_and_metrics(tiny_cfg, tmp_path, kind, family, impl):
    overrides, terms, eval_keys, scalars = RUN_KINDS[kind]
    cfg = tiny_cfg(f"model={family}", f"model.impl={impl}", "data.limit=256", "data.eval_limit=128", *overrides)
    metrics = train(cfg, run_dir=tmp_path / "run")
    assert metrics["status"] == "completed", metrics.get("error")
    on_disk = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert on_disk["hparams"]["ae"]["name"] == kind.split("_")[0]
    last = on_disk["history"][-1]
    if terms:
        assert set(last["train_terms"]) == {"recon", *terms}
        assert all(math.isfinite(v) for v in last["train_terms"].values())
        assert last["train_loss"] == pytest.approx(sum(last["train_terms"].values()), rel=1e-5)
        for term in terms:
            assert last["train_terms"][term] > 0, f"{term} is {last['train_terms'][term]}"
    else:
        assert "train_terms" not in last
    for split in ("val", "test"):
        assert set(on_disk[split]) == BASE_METRICS | eval_keys, f"{split}: {sorted(on_disk[split])}"
        assert all(math.isfinite(v) for v in on_disk[split].values())
    assert set(last["val"]) == BASE_METRICS | eval_keys
    if scalars:
        assert set(last["ae"]) == scalars
        assert all(math.isfinite(v) for v in last["ae"].values())
    else:
        assert "ae" not in last
    if kind == "vae":
        assert on_disk["test"]["neg_elbo"] > on_disk["test"]["kl"] > 0
    # the run reloads as the kind it trained as, and measures the same test metrics again
    run = load_run(tmp_path / "run", "best")
    assert run.model.kind.name == kind.split("_")[0] and run.model.code_heads == (2 if kind == "vae" else 1)
    d = run.config.data
    test_x = load_dataset(d.name, d.root, limit=1, eval_limit=d.eval_limit, split_seed=d.split_seed).test_x
    again = evaluate(run.model, test_x, run.config.trainer.eval_batch_size)
    assert again == pytest.approx(on_disk["test"], rel=1e-6)


class _Scalars(NullLogger):
    def __init__(self):
        self.logged = {}

    def log_scalars(self, step, numbers, model):
        self.logged[step] = dict(numbers)


def _loggers(capture, every, cuda_graphs=False):
    logging = SimpleNamespace(every_n_steps=every, scalars=True, grad_flow=False)
    trainer = SimpleNamespace(batch_size=64, compile=False, cuda_graphs=cuda_graphs)
    return Loggers([capture], logging, trainer)


@pytest.mark.parametrize("kind, terms", [("vae", {"kl"}), ("contractive", {"penalty"})])
def test_the_loss_terms_are_logged_apart_and_add_up_to_the_loss(tiny_cfg, tmp_path, kind, terms):
    capture = _Scalars()
    cfg = tiny_cfg(f"ae={kind}", "data.limit=640", "data.eval_limit=128")  # 10 steps
    metrics = train(cfg, run_dir=tmp_path / "run", logger=_loggers(capture, every=3))
    assert metrics["status"] == "completed", metrics.get("error")
    assert sorted(capture.logged) == [1, 3, 6, 9, 10]
    for step, numbers in capture.logged.items():
        parts = {"loss/recon", *(f"loss/{t}" for t in terms)}
        assert parts <= set(numbers), f"step {step}: {sorted(numbers)}"
        total = sum(numbers[k] for k in parts)
        assert total == pytest.approx(numbers["loss/train"], rel=1e-5), f"step {step}: {numbers}"


def test_logged_loss_terms_survive_a_step_that_rewrites_its_tensors_in_place():
    # With trainer.cuda_graphs=true the loss's terms are the captured graph's static tensors, which
    # every replay rewrites in place (aelab.training.step.cuda_graph_step): the logger must copy them.
    capture = _Scalars()
    loggers = _loggers(capture, every=3, cuda_graphs=True)
    model = build_model("mlp", depth=1, code_dim=2)
    loggers.on_train_start(model, SimpleNamespace(train_x=torch.zeros(640, 1, 28, 28)), {}, {})
    static_recon, static_kl = torch.zeros(()), torch.zeros(())
    for step, (recon, kl) in enumerate([(5.0, 1.0), (4.0, 2.0), (3.0, 0.5)], start=1):
        static_recon.fill_(recon)  # what graph.replay() does
        static_kl.fill_(kl)
        loggers.on_loss_terms({"recon": static_recon, "kl": static_kl})
        loggers.on_step(step, torch.tensor(recon + kl), model, 0.1)
    assert sorted(capture.logged) == [1, 3]
    assert capture.logged[1]["loss/recon"] == 5.0 and capture.logged[1]["loss/kl"] == 1.0
    logged = capture.logged[3]
    assert logged["loss/train"] == pytest.approx((6.0 + 3.5) / 2)
    assert logged["loss/recon"] == pytest.approx((4.0 + 3.0) / 2), f"loss/recon {logged['loss/recon']}, expected 3.5"
    assert logged["loss/kl"] == pytest.approx((2.0 + 0.5) / 2), f"loss/kl {logged['loss/kl']}, expected 1.25"


def test_gradient_flow_probe_draws_fixed_noise_and_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    model = build_model("mlp", ae={"name": "vae"}, **SMALL["mlp"])
    x = batch(16, dtype=torch.float32)
    loss_fn = build_loss("bce", "lecture")
    rng = torch.get_rng_state()
    first = layer_grad_norms(model, x, loss_fn)
    assert torch.equal(torch.get_rng_state(), rng), "layer_grad_norms drew from the global generator"
    torch.manual_seed(99)
    assert layer_grad_norms(model, x, loss_fn) == first, "the probe's noise is not fixed"
    assert all(v > 0 for v in first.values())


def test_a_config_from_before_the_kinds_is_the_same_plain_run():
    values = to_dict(to_config(compose(["ae=plain"])))
    old = {k: v for k, v in values.items() if k not in ("ae", "pretrain")}
    assert to_config(complete_saved(old)).ae.name == "plain" and to_config(complete_saved(old)).pretrain.name == "none"
    assert fingerprint(old) == fingerprint(values)
    assert fingerprint(to_dict(to_config(compose(["ae=denoising"])))) != fingerprint(values)
    assert fingerprint(to_dict(to_config(compose(["pretrain=layerwise"])))) != fingerprint(values)


# --- 9. refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, key",
    [
        (["ae=vae", "loss=mse"], "loss=mse"),
        (["ae=sparse", "ae.penalty=kl", "model.code_activation=identity"], "model.code_activation"),
        (["ae=denoising", "ae.noise=masking", "ae.noise_level=1.5"], "ae.noise_level"),
        (["ae=denoising", "ae.noise=masking", "ae.noise_level=1.0"], "ae.noise_level"),
        (["ae=denoising", "ae.noise=salt"], "ae.noise"),
        (["ae=denoising", "ae.noise=gaussian", "ae.noise_level=-0.1"], "ae.noise_level"),
        (["ae=sparse", "ae.target=0"], "ae.target"),
        (["ae=sparse", "ae.penalty=l2"], "ae.penalty"),
        (["ae=sparse", "ae.weight=-1"], "ae.weight"),
        (["ae=contractive", "ae.weight=-1"], "ae.weight"),
        (["ae=vae", "ae.beta=-1"], "ae.beta"),
        (["ae=vae", "model.code_activation=sigmoid"], "model.code_activation"),
        (["pretrain=layerwise", "pretrain.epochs_per_layer=0"], "pretrain.epochs_per_layer"),
    ],
)
def test_bad_ae_configs_are_refused_naming_the_key(overrides, key):
    with pytest.raises(ConfigError) as err:
        check(to_config(compose(overrides)))
    assert key in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_an_unknown_kind_is_refused_naming_it():
    # on the command line Hydra finds no conf/ae/foo.yaml (as for model=rnn: the CLI prints it in one line)
    with pytest.raises(Exception, match="ae/foo"):
        compose(["ae=foo"])
    # a config given as values (a saved one, the API) names the kind and the valid ones
    values = OmegaConf.to_container(compose(), resolve=True)
    values["ae"] = {"name": "foo"}
    with pytest.raises(ConfigError, match=r"^ae=foo is not valid; choose one of: .*vae"):
        to_config(values)
    with pytest.raises(ConfigError, match=r"^ae=foo is not valid"):
        build_model("mlp", ae={"name": "foo"}, depth=1)
