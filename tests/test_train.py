"""train(cfg) end to end on real MNIST: metrics, checkpoints, resume, interrupts, failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import torch

from aelab.build import build_model
from aelab.errors import ConfigError
from aelab.loggers.base import NullLogger
from aelab.metrics import evaluate
from aelab.training.loop import train
from aelab.training.optim import build_optimizer
from conftest import REPO, compose


def model_from_config(config):
    return build_model(config["model"])


METRIC_KEYS = {
    "status",
    "epochs_completed",
    "best_epoch",
    "val",
    "test",
    "hparams",
    "wall_time_s",
    "samples_per_s",
    "error",
}


@pytest.mark.parametrize("family", ["mlp", "conv"])
@pytest.mark.parametrize("impl", ["lecture", "torch"])
def test_one_epoch_trains_and_writes_a_complete_run(tiny_cfg, tmp_path, family, impl):
    cfg = tiny_cfg(f"model={family}", f"model.impl={impl}", "data.limit=2000", "loss=bce")
    metrics = train(cfg, run_dir=tmp_path)
    assert metrics["status"] == "completed", metrics["error"]
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert set(on_disk) >= METRIC_KEYS and on_disk["status"] == "completed"
    assert on_disk["epochs_completed"] == 1 and on_disk["best_epoch"] == 1
    assert set(on_disk["test"]) == {"sq_err_per_image", "mse", "bce"}
    assert on_disk["hparams"]["model"]["impl"] == impl and on_disk["samples_per_s"] > 0
    # the checkpoint reloads (weights_only, plain torch.load) into the architecture the config describes
    ckpt = torch.load(tmp_path / "checkpoints" / "best.pt", weights_only=True)
    model = model_from_config(ckpt["config"])
    model.load_state_dict(ckpt["model"])
    # ... and it reconstructs better than the same net untrained (same seed = same init)
    from aelab.data.load import load_dataset

    val = load_dataset("mnist", cfg.data.root, limit=1, eval_limit=256).val_x
    torch.manual_seed(cfg.seed)
    untrained = evaluate(model_from_config(ckpt["config"]), val)["sq_err_per_image"]
    trained = evaluate(model, val)["sq_err_per_image"]
    assert trained == pytest.approx(on_disk["val"]["sq_err_per_image"], rel=1e-5)
    assert trained < 0.8 * untrained


class _SigintAt(NullLogger):
    """Sends SIGINT to this process after a given step, as Ctrl-C would."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step(self, step, loss, model, lr):
        if step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


def _params(run_dir, which="last"):
    return torch.load(run_dir / "checkpoints" / f"{which}.pt", weights_only=True)["model"]


@pytest.mark.parametrize(
    "setting",
    [
        "optimizer.fused=false",
        "optimizer.fused=true",  # torch.optim's fused AdamW and its state
        "data.unshifted_last_epochs=2",  # interrupted and resumed in an epoch without the shifts
    ],
)
def test_interrupt_then_resume_equals_uninterrupted_run(tiny_cfg, tmp_path, monkeypatch, setting):
    extra = ("trainer.epochs=3", "data.limit=640", "data.shift_augment=2", setting)
    reference = train(tiny_cfg(*extra), run_dir=tmp_path / "ref")
    assert reference["status"] == "completed"

    monkeypatch.setattr("aelab.training.loop.make_logger", lambda *args: _SigintAt(step=13))
    stopped = train(tiny_cfg(*extra), run_dir=tmp_path / "run")
    assert stopped["status"] == "interrupted" and "SIGINT at epoch 2, step 13" in stopped["error"]
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "interrupted"
    assert torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)["global_step"] == 13

    monkeypatch.setattr("aelab.training.loop.make_logger", lambda *args: NullLogger())
    resumed = train(tiny_cfg(*extra, f"resume={tmp_path / 'run'}"))
    assert resumed["status"] == "completed"
    assert resumed["test"] == reference["test"]  # bit-identical on CPU
    assert [h["val"] for h in resumed["history"]] == [h["val"] for h in reference["history"]]
    for name, tensor in _params(tmp_path / "ref").items():
        assert torch.equal(tensor, _params(tmp_path / "run")[name]), name


def test_unshifted_last_epochs_train_on_the_images_as_they_are(tiny_cfg, tmp_path, monkeypatch):
    """data.unshifted_last_epochs=2 of 3: epoch 1 is that of the all-shifted run, number for number;
    the last two shift no image and so end elsewhere, on the same batch orders (the shifts are still
    drawn). 5 of 3: none is shifted."""
    from aelab.training import epoch as loop

    shifted: list[int] = []
    orders: list[torch.Tensor] = []
    real_shift, real_order = loop.shift_images, loop.epoch_permutation
    monkeypatch.setattr(loop, "shift_images", lambda x, m, offsets: shifted.append(len(x)) or real_shift(x, m, offsets))
    monkeypatch.setattr(loop, "epoch_permutation", lambda n, gen: orders.append(real_order(n, gen)) or orders[-1])
    extra = ("trainer.epochs=3", "data.limit=640", "data.shift_augment=1")
    every = train(tiny_cfg(*extra), run_dir=tmp_path / "every")
    n_train = every["trained_samples"] // 3
    assert sum(shifted) == 3 * n_train and len(orders) == 3
    every_orders = orders[:]
    shifted.clear()
    orders.clear()
    last = train(tiny_cfg(*extra, "data.unshifted_last_epochs=2"), run_dir=tmp_path / "last")
    assert sum(shifted) == n_train  # epoch 1 only
    assert all(torch.equal(a, b) for a, b in zip(orders, every_orders, strict=True))
    assert last["history"][:1] == every["history"][:1]
    assert all(last["history"][k]["val"] != every["history"][k]["val"] for k in (1, 2))
    shifted.clear()
    train(tiny_cfg(*extra, "data.unshifted_last_epochs=5"), run_dir=tmp_path / "none")  # more than the run has
    assert shifted == []


def test_resume_refuses_a_different_architecture(tiny_cfg, tmp_path, monkeypatch):
    monkeypatch.setattr("aelab.training.loop.make_logger", lambda *args: _SigintAt(step=3))
    assert train(tiny_cfg(), run_dir=tmp_path)["status"] == "interrupted"
    before = (tmp_path / "metrics.json").read_text()
    with pytest.raises(ConfigError, match=r"different architecture or settings: model\.width: checkpoint 32 vs now 64"):
        train(tiny_cfg("model.width=64", f"resume={tmp_path}"))
    assert (tmp_path / "metrics.json").read_text() == before  # the run is left as it was


def test_nan_loss_fails_the_run_at_its_step(tiny_cfg, tmp_path):
    metrics = train(
        tiny_cfg("optimizer=sgd", "optimizer.lr=1e30", "optimizer.beta=1.0", "logging.every_n_steps=1"),
        run_dir=tmp_path,
    )
    assert metrics["status"] == "failed"
    assert "non-finite loss (NaN/Inf) at step" in metrics["error"]
    assert metrics["failed_step"] == 1  # step 0 is fine, its update blows the weights up
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "failed"


def test_missing_data_offline_is_refused_in_one_line_before_anything_is_written(tiny_cfg, tmp_path):
    from aelab.errors import DataError

    with pytest.raises(DataError) as err:
        train(tiny_cfg(f"data.root={tmp_path / 'nowhere'}"), run_dir=tmp_path / "run")
    message = str(err.value)
    assert message.startswith(f"MNIST handwritten digits is not in {tmp_path / 'nowhere' / 'MNIST' / 'raw'}")
    assert "train-images-idx3-ubyte" in message and "AELAB_DATA_DIR" in message
    assert "AELAB_OFFLINE=1 forbids downloading it" in message and "\n" not in message
    assert not (tmp_path / "run").exists()


def test_lecture_sgd_update_with_inertia_matches_the_formula():
    """ΔW(t+1) = β(−α(∇E + λW)) + (1 − β)ΔW(t), three steps by hand."""
    alpha, beta, lam = 0.1, 0.3, 0.01
    from aelab.config import to_config

    cfg = to_config(
        compose(["optimizer=sgd", f"optimizer.lr={alpha}", f"optimizer.beta={beta}", f"optimizer.weight_decay={lam}"])
    ).optimizer
    w = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    opt = build_optimizer(cfg, [w])
    grads = [torch.tensor(g, dtype=torch.float64) for g in ([0.3, 0.1, -0.2], [1.0, 0.0, 0.5], [-0.4, 0.2, 0.1])]
    w_hand, dw = w.detach().clone(), torch.zeros(3, dtype=torch.float64)
    for g in grads:
        dw = beta * (-alpha * (g + lam * w_hand)) + (1 - beta) * dw
        w_hand = w_hand + dw
        w.grad = g.clone()
        opt.step()
        torch.testing.assert_close(w.detach(), w_hand, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize(
    "overrides",
    [
        ["optimizer=sgd", "optimizer.beta=0.3", "optimizer.weight_decay=0.01"],  # the lecture's inertia
        ["optimizer=sgd", "optimizer.beta=1"],  # plain SGD
        ["optimizer=adam", "optimizer.weight_decay=0.01"],
    ],
)
def test_fused_optimizer_is_the_same_update(overrides):
    """optimizer.fused=true builds torch's fused kernel (the lecture SGD's zero ΔW(0) included) and
    takes the same steps as the per-parameter loop, to float64 rounding."""
    from aelab.config import to_config

    start = (torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(3, 4), torch.ones(3, dtype=torch.float64))
    steps = []
    for fused in (False, True):
        cfg = to_config(compose([*overrides, "optimizer.lr=0.05", f"optimizer.fused={fused}"])).optimizer
        params = [torch.nn.Parameter(t.clone()) for t in start]
        opt = build_optimizer(cfg, params)
        assert opt.defaults.get("fused") is (True if fused else None)
        gen = torch.Generator().manual_seed(0)
        for _ in range(4):
            for p in params:
                p.grad = torch.randn(p.shape, generator=gen, dtype=torch.float64)
            opt.step()
        steps.append([p.detach() for p in params])
    for unfused, fused_, before in zip(*steps, start):
        torch.testing.assert_close(fused_, unfused, rtol=1e-12, atol=1e-12)
        assert (fused_ - before).abs().min() > 1e-4  # every entry moved: the comparison means something


@pytest.mark.parametrize("capturable", [False, True])  # True: the CUDA-graph path's tensor LR
@pytest.mark.parametrize(
    "rule, batch, factor", [("none", 1024, 1.0), ("linear", 1024, 8.0), ("sqrt", 512, 2.0), ("sqrt", 32, 0.5)]
)
def test_lr_scaling_sets_the_optimizer_lr_and_the_schedule_peak(rule, batch, factor, capturable):
    from aelab.config import to_config
    from aelab.training.optim import build_scheduler, scaled_lr

    cfg = to_config(
        compose(
            [
                "optimizer.lr=1e-3",
                "optimizer.schedule=onecycle",
                f"optimizer.lr_scaling={rule}",
                "optimizer.base_batch_size=128",
            ]
        )
    ).optimizer
    assert scaled_lr(cfg, batch) == pytest.approx(1e-3 * factor)
    w = torch.zeros(3, requires_grad=True)
    opt = build_optimizer(cfg, [w], capturable=capturable, batch_size=batch)
    sched = build_scheduler(cfg, opt, total_steps=10, batch_size=batch)
    lrs = []
    for _ in range(9):
        opt.step()
        sched.step()
        lrs.append(float(opt.param_groups[0]["lr"]))
    assert max(lrs) == pytest.approx(1e-3 * factor, rel=0.02)  # one-cycle peaks at the scaled LR


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_onecycle_anneal_strategy_shapes_warm_up_and_decay(strategy):
    """optimizer.anneal_strategy=linear: the one-cycle LR rises and falls on straight lines; cos
    (the default) on half cosines."""
    from aelab.config import to_config
    from aelab.training.optim import build_scheduler

    overrides = ["optimizer.lr=1e-2", "optimizer.schedule=onecycle", "optimizer.warmup_fraction=0.2"]
    cfg = to_config(compose([*overrides, f"optimizer.anneal_strategy={strategy}"])).optimizer
    w = torch.zeros(3, requires_grad=True)
    opt = build_optimizer(cfg, [w])
    sched = build_scheduler(cfg, opt, total_steps=100)  # the peak at step 0.2·100 − 1 = 19
    lrs = []
    for _ in range(100):
        lrs.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        sched.step()
    decay = torch.tensor(lrs[25:95], dtype=torch.float64)  # well after the peak
    bends = (decay[2:] - 2 * decay[1:-1] + decay[:-2]).abs().max().item()
    if strategy == "linear":
        assert bends < 1e-9
    else:
        assert bends > 1e-7
    assert max(lrs) == pytest.approx(1e-2, rel=1e-3) and lrs.index(max(lrs)) == 19


def test_an_unknown_anneal_strategy_is_refused_in_one_line():
    from aelab.config import check_keys, to_config

    with pytest.raises(
        ConfigError, match=r"^optimizer\.anneal_strategy=step is not valid; choose one of: cos, linear$"
    ):
        check_keys(to_config(compose(["optimizer.anneal_strategy=step"])))


def test_train_uses_the_scaled_lr(tiny_cfg, tmp_path):
    cfg = tiny_cfg(
        "optimizer.lr=1e-3",
        "optimizer.lr_scaling=linear",
        "optimizer.base_batch_size=16",
        "trainer.batch_size=64",
        "trainer.epochs=1",
    )
    metrics = train(cfg, run_dir=tmp_path, logger=NullLogger())
    assert metrics["history"][0]["lr"] == pytest.approx(4e-3)  # schedule none: lr·64/16 throughout


def test_weight_decay_is_the_gradient_of_the_l2_penalty():
    from aelab.backprop import l2_penalty

    w = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    l2_penalty([w], lam=0.05).backward()
    torch.testing.assert_close(w.grad, 0.05 * w.detach())


def test_cli_trains_prints_summary_and_final_line(mnist_root, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "scripts/train.py",
            "data.limit=256",
            "data.eval_limit=128",
            "trainer.epochs=1",
            "model.width=16",
            "device=cpu",
            f"data.root={mnist_root}",
            "logging=off",
            f"hydra.run.dir={tmp_path}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "model: mlp impl=lecture activation=relu layers=784-16-16-16-30-16-16-16-784" in out
    assert f"run dir: {tmp_path}" in out
    assert "test sq_err_per_image=" in out and f"outputs in {tmp_path}" in out
    assert (tmp_path / "train.log").exists() and (tmp_path / ".hydra" / "config.yaml").exists()


def test_cli_resume_alone_continues_the_run_with_its_own_config(tiny_cfg, tmp_path, monkeypatch):
    run = tmp_path / "a"
    monkeypatch.setattr("aelab.training.loop.make_logger", lambda *args: _SigintAt(step=5))
    stopped = train(tiny_cfg("data.limit=256", "trainer.epochs=2", "model.width=16", "loss=bce"), run_dir=run)
    assert stopped["status"] == "interrupted"
    cmd = [sys.executable, "scripts/train.py"]
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    refused = subprocess.run(
        [*cmd, f"resume={run}", "model.width=64"], cwd=REPO, capture_output=True, text=True, timeout=180
    )
    assert refused.returncode == 2
    assert "model.width: checkpoint 16 vs now 64" in refused.stderr
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before  # nothing touched
    # resume=<dir> alone: width 16, bce and the data settings come from the run, not the defaults
    again = subprocess.run([*cmd, f"resume={run}"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr
    assert set(tmp_path.rglob("*")) >= set(before) and [p for p in tmp_path.iterdir()] == [run]  # no extra dir
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["hparams"]["model"]["width"] == 16
    assert metrics["hparams"]["loss"]["name"] == "bce" and metrics["epochs_completed"] == 2
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert (
        f"test sq_err_per_image={metrics['test']['sq_err_per_image']:.3f} | outputs in {run}"
        in (run / "train.log").read_text()
    )
