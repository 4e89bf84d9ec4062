"""``ae=adversarial``: the discriminator's and the encoder's updates, the prior, a bit-identical resume
with the kind's own networks and optimizers in the checkpoint, and the refusals."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from aelab.ae.adversarial.kind import MIXTURE, sample_prior
from aelab.build import build_model
from aelab.config import check, compose, to_config
from aelab.errors import ConfigError
from aelab.runs import load_run
from aelab.training.loop import train

TINY = [
    "ae=adversarial",
    "data.limit=512",
    "data.eval_limit=256",
    "trainer.epochs=2",
    "trainer.batch_size=64",
    "depth=2",
    "model.width=32",
    "ae.d_hidden=16",
    "device=cpu",
    "logging=off",
    "trainer.progress=false",
]


def test_one_step_updates_the_discriminator_on_its_loss_and_the_encoder_alone_on_the_generator_loss():
    torch.manual_seed(0)
    model = build_model("mlp", ae={"name": "adversarial", "d_hidden": 8}, depth=2, width=16, code_dim=4).double()
    kind = model.kind
    opts = kind.optimizers(model)
    d = model.kind_modules["discriminator"]
    x = torch.rand(32, 1, 28, 28, dtype=torch.float64)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    torch.manual_seed(1)
    prior = sample_prior("gaussian", 32, 4, x.new_zeros(1))
    # the discriminator's loss, computed by hand on the same prior draw
    expected = F.binary_cross_entropy_with_logits(d(prior), torch.ones(32, 1, dtype=torch.float64))
    expected = expected + F.binary_cross_entropy_with_logits(
        d(model.encode(x)), torch.zeros(32, 1, dtype=torch.float64)
    )
    torch.manual_seed(1)
    terms = kind.after_step(model, x, opts)
    assert terms["discriminator"].item() == pytest.approx(expected.item(), rel=1e-12)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert {n.split(".")[0] for n in changed} == {"encoder", "kind_modules"}  # never the decoder
    assert all(p.grad is None for p in d.parameters())  # the generator phase leaves D's gradient behind
    assert set(model.network_parameters()).isdisjoint(set(d.parameters()))


def test_the_mixture_prior_lies_on_a_circle_in_the_first_two_units():
    z = sample_prior("mixture10", 20000, 5, torch.zeros(1), torch.Generator().manual_seed(0))
    radius = z[:, :2].norm(dim=1)
    assert abs(radius.mean().item() - MIXTURE[1]) < 0.1 and z[:, 2:].std().item() == pytest.approx(1.0, abs=0.05)
    angles = torch.atan2(z[:, 1], z[:, 0]).remainder(2 * math.pi) / (2 * math.pi / MIXTURE[0])
    assert ((angles - angles.round()).abs() < 0.4).float().mean() > 0.9  # within 2σ of the ten means


def test_an_interrupted_adversarial_run_resumes_bit_identically(mnist_root, tmp_path, monkeypatch):
    from aelab.loggers.base import NullLogger

    overrides = [*TINY, f"data.root={mnist_root}"]
    ref = train(compose(overrides), run_dir=tmp_path / "ref")
    assert ref["status"] == "completed"
    assert set(ref["history"][0]["train_terms"]) == {"recon", "discriminator", "generator"}

    class StopAtStep(NullLogger):
        def on_step(self, step, loss, model, lr):
            if step == 11:
                import os
                import signal

                os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr("aelab.training.loop.make_logger", lambda *a: StopAtStep())
    stopped = train(compose(overrides), run_dir=tmp_path / "run")
    assert stopped["status"] == "interrupted"
    monkeypatch.undo()
    resumed = train(compose([*overrides, f"resume={tmp_path / 'run'}"]))
    assert resumed["status"] == "completed" and resumed["test"] == ref["test"]
    assert [h["train_terms"] for h in resumed["history"]] == [h["train_terms"] for h in ref["history"]]
    run = load_run(tmp_path / "run", which="last")
    ref_run = load_run(tmp_path / "ref", which="last")
    for name, tensor in ref_run.model.state_dict().items():
        assert torch.equal(run.model.state_dict()[name], tensor), name  # the discriminator too


@pytest.mark.parametrize(
    "extra, key",
    [(["trainer.compile=true"], "trainer.compile"), (["ae.prior=mixture10", "model.code_dim=1"], "model.code_dim")],
)
def test_what_the_adversarial_kind_cannot_do_is_refused_in_one_line(extra, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        check(to_config(compose(["ae=adversarial", *extra])))
