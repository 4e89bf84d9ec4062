"""The TensorBoard dashboard: what a run writes, read back with TensorBoard's own reader and
served by a real ``tensorboard`` process; logging never changes what a run trains."""

from __future__ import annotations

import collections
import json
import math
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch

from aelab.backprop import get_activation
from aelab.build import build_model
from aelab.config import to_config, to_dict
from aelab.gradflow import StepProbe
from aelab.loggers.base import Loggers, NullLogger
from aelab.loggers.hparams import hparam_dict
from aelab.loggers.tensorboard.figures import pick_by_class as pick_digits
from aelab.loggers.tensorboard.logger import TensorBoardLogger
from aelab.loggers.tensorboard.tags import tb_tag
from aelab.training.loop import train
from conftest import REPO, compose


def plain(cfg):
    return to_dict(to_config(cfg))


def model_from_config(config):
    return build_model(config["model"])


LOG_STEPS = [1, *range(2, 17, 2)]  # the first step, every 2 steps, each epoch's last (8, 16)

# 512 images / 64 = 8 steps per epoch, 2 epochs, logged every 2 steps.
RUN = [
    "data.limit=512",
    "data.eval_limit=256",
    "trainer.epochs=2",
    "trainer.batch_size=64",
    "model.width=32",
    "depth=3",
    "device=cpu",
    "trainer.progress=false",
    "logging.every_n_steps=2",
    "logging.n_images=8",
    "logging.n_projector=100",
]
SIZE_GUIDANCE = {k: 0 for k in ("scalars", "histograms", "images", "tensors", "compressedHistograms", "audio")}


def _cfg(mnist_root, *extra: str):
    run = [o for o in RUN if not (o.startswith("model.width") and "model=conv" in extra)]  # an mlp key
    return compose([*run, f"data.root={mnist_root}", *extra])


def _accumulator(tb_dir: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tb_dir), size_guidance=SIZE_GUIDANCE)
    acc.Reload()
    return acc


@pytest.fixture(scope="module")
def logged_run(mnist_root, tmp_path_factory):
    """One short run with every logging switch on: (sweep dir, run dir, metrics, layer names)."""
    sweep = tmp_path_factory.mktemp("sweep")
    cfg = _cfg(mnist_root)
    metrics = train(cfg, run_dir=sweep / "run0")
    assert metrics["status"] == "completed", metrics["error"]
    layers = [name for name, _ in model_from_config(metrics["hparams"]).layers()]
    return sweep, sweep / "run0", metrics, layers


def test_run_writes_every_dashboard(logged_run):
    _, run_dir, metrics, layers = logged_run
    tb = run_dir / "tb"
    assert [p.parent for p in tb.rglob("events.out.tfevents.*")] == [tb]  # no hparams sub-run folder
    acc = _accumulator(tb)
    tags = acc.Tags()
    scalars = set(tags["scalars"])

    # scalars: losses, metrics, lr, throughput, and the per-layer gradient flow
    for tag in (
        "1_loss/train",
        "1_loss/train_epoch",
        "1_loss/val",
        "lr",
        "perf/samples_per_s",
        "metric/val_sq_err_per_image",
        "metric/val_mse",
        "metric/val_bce",
        "metric/test_sq_err_per_image",
        "hparam/val_sq_err_per_image",
        "hparam/test_sq_err_per_image",
    ):
        assert tag in scalars, tag
    for prefix in (
        "2_grad_norm_log10/",
        "3_delta_norm_log10/",
        "5_weight_norm_log10/",
        "6_grad_norm_probe_log10/",
    ):
        assert sorted(t.removeprefix(prefix) for t in scalars if t.startswith(prefix)) == layers, prefix
    # the norms as their log10 only: a linear card squeezes all but the largest runs onto zero
    assert not any(t.startswith(("grad_norm", "delta_norm", "weight_norm")) for t in scalars)
    probe = acc.Scalars(f"6_grad_norm_probe_log10/{layers[0]}")
    assert [e.step for e in probe] == [8, 16]
    assert probe[0].value == pytest.approx(math.log10(metrics["history"][0]["grad_norms"][layers[0]]), rel=1e-5)
    # the sweep-level gradient flow, grouped by this run's activation and depth: init (step 0) and each epoch
    from aelab.gradflow import first_last_ratio

    for group in ("activation=relu", "depth=3"):
        ratio = acc.Scalars(f"sweep/ratio_log10/{group}")
        assert [e.step for e in ratio] == [0, 8, 16]
        assert ratio[0].value == pytest.approx(math.log10(first_last_ratio(metrics["grad_norms_init"])), rel=1e-5)
    hidden = [n for n in layers if n.endswith(("_enc", "_dec"))]  # relu layers; code/out are linear
    assert sorted(t.removeprefix("4_saturation/") for t in scalars if t.startswith("4_saturation/")) == hidden
    for tag in scalars:
        values = [e.value for e in acc.Scalars(tag)]
        assert values and all(math.isfinite(v) for v in values), tag
    # step 1 and every 2 steps of 16, loss/train averaged over those steps; per-epoch values at the
    # epoch's last step
    assert [e.step for e in acc.Scalars("1_loss/train")] == LOG_STEPS
    assert [e.step for e in acc.Scalars(f"2_grad_norm_log10/{layers[0]}")] == LOG_STEPS
    assert [e.step for e in acc.Scalars(f"3_delta_norm_log10/{layers[-1]}")] == LOG_STEPS
    assert [e.step for e in acc.Scalars("1_loss/val")] == [8, 16]
    last_val = acc.Scalars("metric/val_sq_err_per_image")[-1].value
    assert last_val == pytest.approx(2 * acc.Scalars("1_loss/val")[-1].value, rel=1e-6)  # mse: E = ½·sq_err
    assert acc.Scalars("1_loss/train_epoch")[0].value == pytest.approx(metrics["history"][0]["train_loss"], rel=1e-6)
    assert acc.Scalars("metric/test_sq_err_per_image")[-1].value == pytest.approx(
        metrics["test"]["sq_err_per_image"], rel=1e-6
    )
    assert all(0 <= e.value <= 1 for t in scalars if t.startswith("4_saturation/") for e in acc.Scalars(t))

    # histograms: weights, biases, gradients and activations of every layer
    for kind in ("weights", "biases", "grads", "activations"):  # one group: TIME SERIES opens on the scalars
        prefix = f"histograms/{kind}/"
        assert sorted(t.removeprefix(prefix) for t in tags["histograms"] if t.startswith(prefix)) == layers, kind
    assert [e.step for e in acc.Histograms(f"histograms/weights/{layers[0]}")] == [8, 16]

    # images: originals over reconstructions each epoch, the interpolation at the end
    recon = acc.Images("images/reconstructions")
    assert [e.step for e in recon] == [8, 16]
    assert recon[0].width == 8 * 28 + 9 * 2 and recon[0].height == 2 * 28 + 3 * 2
    interp = acc.Images("images/interpolation")
    assert len(interp) == 1 and interp[0].width == 12 * 28 + 13 * 2

    # custom scalars: the gradient-flow layout
    assert "custom_scalars__config__" in tags["tensors"]
    from tensorboard.plugins.custom_scalar import layout_pb2

    layout = layout_pb2.Layout.FromString(acc.Tensors("custom_scalars__config__")[0].tensor_proto.string_val[0])
    charts = {c.title: list(c.multiline.tag) for cat in layout.category for c in cat.chart}
    assert charts["log10 gradient norm ‖∂E/∂W‖ per layer"] == ["^2_grad_norm_log10/"]
    assert charts["train vs val loss"] == [r"^1_loss/train$", r"^1_loss/val$", r"^1_loss/train_epoch$"]
    assert charts["log10 ‖∂E/∂W⁽¹⁾‖ / ‖∂E/∂W⁽ᴸ⁾‖, activation=relu"] == [r"^sweep/ratio_log10/activation=relu$"]

    # hparams: experiment, session start (this run's values) and end, in the run's own dir
    from tensorboard.plugins.hparams import api_pb2, metadata

    content = acc.PluginTagToContent("hparams")
    assert set(content) == {metadata.EXPERIMENT_TAG, metadata.SESSION_START_INFO_TAG, metadata.SESSION_END_INFO_TAG}
    experiment = metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
    metrics_shown = {m.name.tag: m.display_name for m in experiment.metric_infos}
    assert metrics_shown["hparam/val_sq_err_per_image"] == "val sq_err"  # short: the labels do not overlap
    assert metrics_shown["hparam/test_sq_err_per_image"] == "test sq_err"
    # a single run (train() outside Hydra: no command line) shows its few defining columns
    assert [h.name for h in experiment.hparam_infos] == ["family", "ae", "activation", "depth"]
    assert not any(h.differs for h in experiment.hparam_infos)  # a single run varies nothing
    depth = experiment.hparam_infos[3]
    assert depth.type == api_pb2.DATA_TYPE_STRING and [v.string_value for v in depth.domain_discrete.values] == ["3"]
    start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
    assert start.hparams["activation"].string_value == "relu" and start.hparams["depth"].string_value == "3"
    assert set(start.hparams) == {"family", "ae", "activation", "depth"}
    end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
    assert end.status == 1  # STATUS_SUCCESS

    # projector: config plus the tensors, labels and sprite it points to
    config = (tb / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "codes:' in config
    (tensors,) = tb.glob("*/codes/tensors.tsv")
    rows = tensors.read_text().strip().splitlines()
    assert len(rows) == 100 and len(rows[0].split("\t")) == metrics["hparams"]["model"]["code_dim"]
    header, *labels = (tensors.parent / "metadata.tsv").read_text().splitlines()
    assert header == "class\tname"  # a header: "Color by" offers the class
    assert len(labels) == 100 and {row.split("\t")[0] for row in labels} == set("0123456789")
    assert all(row == f"{d}\t{d}" for row in labels for d in [row.split("\t")[0]])  # MNIST's names are its digits
    assert (tensors.parent / "sprite.png").exists()


def _number_end(tag: str, k: int) -> int:
    """Where the number starting before ``tag[k]`` ends, as TensorBoard reads one (digits, a
    fraction, an exponent)."""
    state = "natural"
    while k < len(tag):
        c = tag[k]
        if state in ("natural", "real") and c in "eE":
            state = "sign"
        elif state == "natural" and c == ".":
            state = "real"
        elif state == "sign" and (c.isdigit() or c in "+-"):
            state = "exponent"
        elif not c.isdigit():
            break
        k += 1
    return k


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # "1e": JavaScript's Number() gives NaN
        return math.nan


def _compare_tag_names(a: str, b: str) -> int:
    """TensorBoard's order of TIME SERIES cards (compareTagNames of tensorboard 2.21's frontend):
    numbers compare by value, digits and "/" come before any other character."""
    i = j = 0
    while True:
        if i == len(a) or j == len(b):
            return (i < len(a)) - (j < len(b))
        if a[i].isdigit() and b[j].isdigit():
            i0, j0, i, j = i, j, _number_end(a, i + 1), _number_end(b, j + 1)
            x, y = _number(a[i0:i]), _number(b[j0:j])
            if x != y and not math.isnan(x) and not math.isnan(y):  # JavaScript's NaN compares false
                return -1 if x < y else 1
            continue
        early_a, early_b = a[i] == "/" or a[i].isdigit(), b[j] == "/" or b[j].isdigit()
        if early_a != early_b:
            return -1 if early_a else 1
        if not early_a and a[i] != b[j]:
            return -1 if a[i] < b[j] else 1
        i, j = i + 1, j + 1


def test_time_series_opens_on_the_loss_then_the_gradient_ladder(logged_run):
    """TensorBoard's TIME SERIES groups cards by the text before the first "/" in the order of its
    sorted tags: the loss group comes first, the per-layer log10 gradient norms second, each layer's
    card in forward order."""
    import functools

    _, run_dir, _, layers = logged_run
    tags = _accumulator(run_dir / "tb").Tags()
    shown = sorted(
        [*tags["scalars"], *tags["histograms"], *tags["images"]], key=functools.cmp_to_key(_compare_tag_names)
    )
    groups = list(dict.fromkeys(t.split("/", 1)[0] for t in shown))
    assert groups[:6] == [
        "1_loss",
        "2_grad_norm_log10",
        "3_delta_norm_log10",
        "4_saturation",
        "5_weight_norm_log10",
        "6_grad_norm_probe_log10",
    ]
    assert [t.removeprefix("2_grad_norm_log10/") for t in shown if t.startswith("2_grad_norm_log10/")] == layers
    assert _compare_tag_names("a/10", "a/9") == 1 and _compare_tag_names("delta_norm/01", "1_loss/train") == 1


def _weights(run_dir: Path, which: str) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / f"{which}.pt", weights_only=True)["model"]


CONV = ("model=conv", "model.channels=4", "depth=2", "model.impl=torch", "activation=sigmoid", "loss=bce")


@pytest.mark.parametrize("extra", [(), CONV], ids=["mlp-relu-lecture", "conv-sigmoid-torch"])
def test_logging_does_not_change_training(logged_run, mnist_root, tmp_path, extra):
    """Every hook armed (logged every 2 steps) vs logging=off: bit-identical weights."""
    if extra:
        logged_dir = tmp_path / "on"
        logged = train(_cfg(mnist_root, *extra), run_dir=logged_dir)
        assert logged["status"] == "completed", logged["error"]
        tags = _accumulator(logged_dir / "tb").Tags()["scalars"]
        assert "3_delta_norm_log10/01_enc" in tags and "4_saturation/01_enc" in tags  # the conv layer's hooks ran
    else:
        _, logged_dir, logged, _ = logged_run
    plain_run = train(_cfg(mnist_root, "logging=off", *extra), run_dir=tmp_path / "off")
    assert plain_run["status"] == "completed"
    assert not (tmp_path / "off" / "tb").exists()
    for which in ("best", "last"):
        on, off = _weights(logged_dir, which), _weights(tmp_path / "off", which)
        assert on.keys() == off.keys()
        for key in on:
            assert torch.equal(on[key], off[key]), f"{which}.pt {key} differs with logging on"
    assert logged["test"] == plain_run["test"]


def test_switches_turn_dashboards_off(mnist_root, tmp_path):
    cfg = _cfg(
        mnist_root,
        "trainer.epochs=1",
        "logging.grad_flow=false",
        "logging.histograms=false",
        "logging.images=false",
        "logging.hparams=false",
        "logging.projector=false",
    )
    assert train(cfg, run_dir=tmp_path)["status"] == "completed"
    acc = _accumulator(tmp_path / "tb")
    scalars = set(acc.Tags()["scalars"])
    assert "1_loss/train" in scalars and "metric/test_sq_err_per_image" in scalars
    assert not any(t.startswith(("2_", "3_", "4_", "5_", "6_", "sweep/", "hparam/")) for t in scalars)
    assert not acc.Tags()["histograms"] and not acc.Tags()["images"]
    with pytest.raises(KeyError):  # no tag of the hparams plugin at all
        acc.PluginTagToContent("hparams")
    assert not (tmp_path / "tb" / "projector_config.pbtxt").exists()


class _SigintAfter(NullLogger):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step(self, step, loss, model, lr):
        if step == self.step:
            import os
            import signal

            os.kill(os.getpid(), signal.SIGINT)


def test_resumed_run_continues_its_dashboard(mnist_root, tmp_path, monkeypatch):
    def interrupted_logger(config, run_dir, start_step=0, best_val=math.inf):
        tb = TensorBoardLogger(config, run_dir, start_step, best_val)
        return Loggers([tb, _SigintAfter(11)], config.logging, config.trainer, start_step)

    monkeypatch.setattr("aelab.training.loop.make_logger", interrupted_logger)
    stopped = train(_cfg(mnist_root), run_dir=tmp_path)
    assert stopped["status"] == "interrupted"
    monkeypatch.undo()
    resumed = train(_cfg(mnist_root, f"resume={tmp_path}"))
    assert resumed["status"] == "completed", resumed["error"]
    assert len(list((tmp_path / "tb").glob("events.out.tfevents.*"))) == 2
    acc = _accumulator(tmp_path / "tb")
    assert [e.step for e in acc.Scalars("1_loss/train")] == LOG_STEPS  # no step twice
    assert [e.step for e in acc.Scalars("1_loss/val")] == [8, 16]
    assert [e.step for e in acc.Scalars("2_grad_norm_log10/01_enc")] == LOG_STEPS
    from tensorboard.plugins.hparams import metadata

    end = acc.PluginTagToContent("hparams")[metadata.SESSION_END_INFO_TAG]
    assert metadata.parse_session_end_info_plugin_data(end).status == 1  # success, once resumed


def test_delta_norm_is_the_backpropagated_error():
    """‖δ‖ from the probe's hooks equals ‖g ⊙ φ'(z)‖ computed directly with autograd, and the hooks
    leave the gradients untouched."""
    torch.manual_seed(0)
    model = model_from_config(plain(compose([*RUN, "activation=sigmoid"])))
    probe = StepProbe(model.layers())
    x = torch.rand(16, 1, 28, 28)

    def gradients() -> list[torch.Tensor]:
        model.zero_grad(set_to_none=True)
        out = model(x)
        (0.5 * (out.recon - x).pow(2).sum() / len(x)).backward()
        return [p.grad.clone() for p in model.parameters()]

    unobserved = gradients()
    outputs = {}

    def keep(name):
        def hook(module, inputs, output):
            output.retain_grad()
            outputs[name] = output

        return hook

    handles = [layer.register_forward_hook(keep(name)) for name, layer in model.layers()]
    probe.arm()
    observed = gradients()
    probe.disarm()
    for h in handles:
        h.remove()
    deltas, saturated = probe.take()
    assert all(torch.equal(a, b) for a, b in zip(observed, unobserved))
    for name, layer in model.layers():
        a = outputs[name]
        dphi = layer.act.dphi_from_output
        delta = a.grad if dphi is None else a.grad * dphi(a.detach())
        assert deltas[name].item() == pytest.approx(delta.norm().item(), rel=1e-5), name
    assert set(saturated) == {n for n, layer in model.layers() if layer.act.name == "sigmoid"}


def test_saturation_definitions():
    relu, sigmoid, tanh, identity = (get_activation(n) for n in ("relu", "sigmoid", "tanh", "identity"))
    a = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])  # unit 0 dead for both examples
    assert relu.saturated_fraction(a).item() == pytest.approx(1 / 3)
    conv = torch.zeros(2, 4, 3, 3)
    conv[1, 1:, 0, 0] = 1.0  # channels 1..3 fire somewhere, channel 0 never
    assert relu.saturated_fraction(conv).item() == pytest.approx(1 / 4)
    s = torch.tensor([[0.01, 0.5, 0.99, 0.03]])
    assert sigmoid.saturated_fraction(s).item() == pytest.approx(2 / 4)
    t = torch.tensor([[0.96, -0.99, 0.5, 0.9]])
    assert tanh.saturated_fraction(t).item() == pytest.approx(2 / 4)
    assert identity.saturated_fraction(t) is None


def test_hparam_row_and_fixed_digits():
    conv = plain(compose(["model=conv", "data.limit=100"]))
    row = hparam_dict(conv)
    assert row["family"] == "conv" and row["channels"] == 32 and row["width"] is None
    assert row["data_limit"] == "100" and row["activation"] == "relu"
    full = hparam_dict(conv, fill=True)
    assert set(full) == set(row) and full["width"] == 0
    assert pick_digits(torch.tensor([1, 1, 0, 2, 0, 1]), 5) == [2, 0, 3, 4, 1]


SYNCING = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__")


def _host_reads_per_step(monkeypatch, logger, steps: int) -> collections.Counter:
    """Train ``steps`` SGD steps by hand, calling ``logger`` like train() does; count the calls
    that read a tensor back to the host (a device sync on a GPU), per step."""
    from aelab.data.load import Splits as MNISTSplits

    torch.manual_seed(0)
    model = build_model("mlp", depth=3, width=32, activation="sigmoid")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = MNISTSplits(
        *(
            torch.rand(n, 1, 28, 28) if i % 2 == 0 else torch.randint(0, 10, (n,))
            for i, n in enumerate((64, 64, 32, 32, 32, 32))
        )
    )
    logger.on_train_start(model, data, plain(compose([])), {})
    counts: collections.Counter = collections.Counter()
    current = [0]
    for name in SYNCING:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, **kwargs):
            counts[current[0]] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    try:
        for step in range(1, steps + 1):
            current[0] = step
            x = data.train_x[(step * 16) % 64 :][:16]
            loss = 0.5 * (model(x).recon - x).pow(2).sum() / len(x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            logger.on_step(step, loss.detach(), model, 0.1)
    finally:
        monkeypatch.undo()
    logger.close()
    return counts


def test_no_host_sync_between_logging_steps(monkeypatch, tmp_path):
    """The loggers read tensors back to the host only on logging steps (here 1, 5 and 10; the data's
    64 images are 4 steps of an epoch, so 4 and 8 too), even with the δ/saturation hooks in the
    forward and backward of the step before."""
    config = to_config(compose(["logging.every_n_steps=5", "trainer.batch_size=16"]))
    loggers = Loggers([TensorBoardLogger(config, tmp_path)], config.logging, config.trainer)
    logged = _host_reads_per_step(monkeypatch, loggers, 10)
    baseline = _host_reads_per_step(monkeypatch, NullLogger(), 10)
    log_steps = [1, 4, 5, 8, 10]
    for step in range(1, 11):
        if step not in log_steps:
            assert logged[step] == baseline[step], f"host read at step {step}"
        else:
            assert logged[step] > baseline[step]
    acc = _accumulator(tmp_path / "tb")
    assert [e.step for e in acc.Scalars("3_delta_norm_log10/01_enc")] == log_steps
    assert [e.step for e in acc.Scalars("4_saturation/01_enc")] == log_steps


def test_fast_paths_skip_the_step_hooks():
    """A CUDA graph or torch.compile step runs without Python hooks: no δ/saturation hooks armed."""
    for fast in ("trainer.compile=true", "trainer.cuda_graphs=true"):
        config = to_config(compose([fast, "logging.every_n_steps=1"]))
        assert not Loggers([], config.logging, config.trainer).observe
    config = to_config(compose([]))
    assert Loggers([], config.logging, config.trainer).observe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_tensorboard_serves_the_run(logged_run):
    sweep, _, _, layers = logged_run
    port = _free_port()
    exe = Path(sys.executable).parent / "tensorboard"
    proc = subprocess.Popen(
        [str(exe), "--logdir", str(sweep), "--port", str(port), "--host", "127.0.0.1", "--reload_interval", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, tags, runs = time.monotonic() + 60, {}, []
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"tensorboard exited: {proc.stderr.read()[-2000:]}"
            try:
                runs = _get_json(f"{base}/data/runs")
                tags = _get_json(f"{base}/data/plugin/scalars/tags")
                if "run0/tb" in tags and tb_tag(f"grad_norm/{layers[0]}") in tags["run0/tb"]:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        assert "run0/tb" in runs, runs
        run_tags = set(tags.get("run0/tb", {}))
        assert {tb_tag(f"grad_norm/{n}") for n in layers} <= run_tags and tb_tag("loss/train") in run_tags
        assert "run0/tb" in _get_json(f"{base}/data/plugin/projector/runs")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_export_gradflow_png(logged_run, tmp_path):
    sweep, _, _, _ = logged_run
    out = tmp_path / "gradflow.png"
    script = REPO / "scripts" / "export_gradflow.py"
    result = subprocess.run(
        [sys.executable, str(script), str(sweep), "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_csv_logger_writes_a_row_per_logging_step_and_per_epoch(mnist_root, tmp_path, monkeypatch):
    """logging.loggers=[tensorboard,csv]: metrics.csv beside tb/, the same numbers as TensorBoard's,
    and a resumed run drops the rows after its checkpoint (no step twice)."""
    import csv

    def stopped_at_11(config, run_dir, start_step=0, best_val=math.inf):
        from aelab.loggers import LOGGERS

        loggers = [LOGGERS[n](config, run_dir, start_step, best_val) for n in config.logging.loggers]
        return Loggers([*loggers, _SigintAfter(11)], config.logging, config.trainer, start_step)

    monkeypatch.setattr("aelab.training.loop.make_logger", stopped_at_11)
    cfg = _cfg(mnist_root, "logging.loggers=[tensorboard,csv]", "logging.histograms=false", "logging.projector=false")
    assert train(cfg, run_dir=tmp_path)["status"] == "interrupted"
    monkeypatch.undo()
    metrics = train(_cfg(mnist_root, f"resume={tmp_path}"))
    assert metrics["status"] == "completed"
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    steps = [int(r["step"]) for r in rows if r["row"] == "step"]
    assert steps == LOG_STEPS  # 1, 2, 4, ..., 16: each once, across the interruption
    epochs = [r for r in rows if r["row"] == "epoch"]
    assert [(int(r["step"]), int(r["epoch"])) for r in epochs] == [(8, 1), (16, 2)]
    assert [float(r["metric/val_sq_err_per_image"]) for r in epochs] == pytest.approx(
        [h["val"]["sq_err_per_image"] for h in metrics["history"]]
    )
    (test,) = [r for r in rows if r["row"] == "test"]
    assert float(test["metric/test_sq_err_per_image"]) == pytest.approx(metrics["test"]["sq_err_per_image"])
    acc = _accumulator(tmp_path / "tb")  # the same per-step numbers TensorBoard got
    layer = "01_enc"
    csv_grad = [math.log10(float(r[f"grad_norm/{layer}"])) for r in rows if r["row"] == "step"]
    assert csv_grad == pytest.approx([e.value for e in acc.Scalars(tb_tag(f"grad_norm/{layer}"))], rel=1e-5)
    assert all(r["delta_norm/01_enc"] for r in rows if r["row"] == "step")


def test_a_short_run_draws_every_chart_at_the_default_logging_period(mnist_root, tmp_path):
    """2 epochs of 16 steps with logging.every_n_steps=50 (the default) never reach step 50; the first
    step and each epoch's last step are logged anyway, so loss/train and every layer's norms are there."""
    cfg = compose(
        [
            *[o for o in RUN if not o.startswith(("logging.every_n_steps", "data.limit"))],
            "data.limit=1024",
            f"data.root={mnist_root}",
            "logging.histograms=false",
            "logging.projector=false",
        ]
    )
    metrics = train(cfg, run_dir=tmp_path)
    assert metrics["status"] == "completed"
    acc = _accumulator(tmp_path / "tb")
    layers = [name for name, _ in model_from_config(metrics["hparams"]).layers()]
    assert [e.step for e in acc.Scalars("1_loss/train")] == [1, 16, 32]
    for name in layers:
        assert [e.step for e in acc.Scalars(f"2_grad_norm_log10/{name}")] == [1, 16, 32]
