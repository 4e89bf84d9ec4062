"""``TensorBoardLogger``: one ``SummaryWriter`` per run in ``<run dir>/tb/``.

What it records (each group behind its own ``logging.*`` switch; the x-axis is always the global
optimizer step, so per-step and per-epoch curves share one axis):

Per-step values (``loss/train``, ``lr``, ``perf/samples_per_s``, the per-layer gradient flow) are
measured once for every logger by :class:`aelab.loggers.base.Loggers` and written here as they come.

``scalars``
    ``loss/train`` (mean since the last logging step), ``loss/train_epoch``,
    ``loss/val`` (the validation value of the training loss: ``0.5·sq_err_per_image`` for mse,
    ``784·bce`` for bce), ``metric/val_{sq_err_per_image,mse,bce}`` per epoch,
    ``metric/test_*`` at the end, ``lr``, ``perf/samples_per_s``.
``grad_flow``
    per weight layer (``model.layers()`` names, ``01_enc`` … ``LL_out``), on every logging step:
    ``grad_norm/<layer>`` = ‖∂E/∂W^(l)‖ (the layer's ``weight.grad`` of that step),
    ``delta_norm/<layer>`` = ‖δ^(l)‖ with δ = g ⊙ φ'(z), g = ∂E/∂a the gradient at the layer's
    output (Frobenius norm over the mini-batch), ``weight_norm/<layer>`` = ‖W^(l)‖, and for
    layers with a nonlinearity ``saturation/<layer>`` (see :func:`saturation`); per epoch
    ``grad_norm_probe/<layer>``, the same gradient norm on the fixed validation probe batch.
    A custom-scalars layout puts every layer of a run on one chart per quantity. (With
    ``trainer.compile`` or ``trainer.cuda_graphs`` the hook-based δ and saturation are skipped.)
``histograms``
    every ``histograms_every_n_epochs`` epochs, per layer, all under ``histograms/`` (one group,
    after the scalars in TIME SERIES): ``weights/``, ``biases/``, ``grads/`` (the gradients of the
    last logging step) and ``activations/`` (a fixed validation batch).
``images``
    ``images/reconstructions`` (a fixed set of ``n_images`` test digits above their
    reconstructions) per epoch, ``images/interpolation`` at the end.
the autoencoder kind (``ae``)
    ``loss/recon``, ``loss/penalty``, ``loss/kl`` (the loss's parts, per logging step and as
    ``…_epoch``), the kind's evaluation metrics as ``metric/val_*`` / ``metric/test_*``, and per epoch
    what :meth:`aelab.ae.Kind.measure` shows: denoising: clean / corrupted / reconstructed images;
    sparse: mean activation per code unit (histogram); contractive: the penalty and ‖∂code/∂x‖_F;
    vae: KL per latent dimension (histogram), active units, samples decoded from the prior.
``hparams``
    the run's hyperparameters and final metrics, written into this run's own log dir.
``projector``
    the codes of ``n_projector`` test images with labels and thumbnails, at the end.

The logger reads the model and never changes it or draws random numbers, so a run trains
bit-identically with logging on or off.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summaries

from aelab.config import lookup, override_key
from aelab.config.sweep import current_axes
from aelab.data import Splits
from aelab.gradflow import first_last_ratio
from aelab.images import reconstruction_grid
from aelab.loggers.base import RunLogger
from aelab.metrics import EVAL_SEED
from aelab.models import Autoencoder

N_PIXELS = 28 * 28
LOG10_NORMS = ("grad_norm", "delta_norm", "weight_norm")  # also written as <name>_log10/<layer>
ACTIVATION_BATCH = 256  # validation images whose activations go into the histograms
INTERPOLATION_STEPS = 10
INTERPOLATION_DIGITS = (3, 8)  # decode along the line between the codes of these two test digits

# The HPARAMS table: column → (where in the config, type). One fixed set for every run, so the
# table of a mixed sweep has every column; a run leaves blank what does not apply to it.
HPARAMS: dict[str, tuple[str, type]] = {
    "family": ("model.family", str),
    "impl": ("model.impl", str),
    "activation": ("model.activation", str),
    "depth": ("model.depth", int),
    "width": ("model.width", int),  # mlp
    "hidden": ("model.hidden", str),  # mlp with explicit sizes, e.g. "1000-500-250"
    "channels": ("model.channels", int),  # conv
    "kernel_size": ("model.kernel_size", int),  # conv
    "fc_hidden": ("model.fc_hidden", int),  # conv
    "code_dim": ("model.code_dim", int),
    "code_activation": ("model.code_activation", str),
    "init": ("model.init", str),
    "loss": ("loss.name", str),
    "optimizer": ("optimizer.name", str),
    "lr": ("optimizer.lr", float),  # as configured; lr_scaling may scale it to batch_size
    "lr_scaling": ("optimizer.lr_scaling", str),
    "schedule": ("optimizer.schedule", str),
    "anneal": ("optimizer.anneal_strategy", str),  # onecycle's shape
    "weight_decay": ("optimizer.weight_decay", float),
    "beta": ("optimizer.beta", float),  # sgd momentum mixing
    "fused": ("optimizer.fused", bool),  # the fused optimizer kernel: the same update up to rounding, faster
    "batch_size": ("trainer.batch_size", int),
    "epochs": ("trainer.epochs", int),
    "precision": ("trainer.precision", str),
    "dataset": ("data.name", str),
    "ae": ("ae.name", str),  # the autoencoder kind, and its keys (blank for the other kinds)
    "ae_noise": ("ae.noise", str),
    "ae_noise_level": ("ae.noise_level", float),
    "ae_penalty": ("ae.penalty", str),
    "ae_target": ("ae.target", float),
    "ae_weight": ("ae.weight", float),
    "ae_beta": ("ae.beta", float),
    "pretrain": ("pretrain.name", str),
    "data_limit": ("data.limit", str),  # "all" or the number of training images
    "shift_augment": ("data.shift_augment", int),
    "unshifted_last": ("data.unshifted_last_epochs", int),  # the last epochs without the shifts
    "seed": ("seed", int),
}
FAMILY_ONLY = {"width": "mlp", "hidden": "mlp", "channels": "conv", "kernel_size": "conv", "fc_hidden": "conv"}
KIND_ONLY = {
    "ae_noise": ("denoising",),
    "ae_noise_level": ("denoising",),
    "ae_penalty": ("sparse",),
    "ae_target": ("sparse",),
    "ae_weight": ("sparse", "contractive"),
    "ae_beta": ("vae",),
}
# a swept key as the HPARAMS column that shows it (the config groups by their chosen name)
COLUMN_OF = {
    **{path: column for column, (path, _) in HPARAMS.items()},
    "activation": "activation",
    "depth": "depth",
    "model": "family",
    "optimizer": "optimizer",
    "loss": "loss",
    "data": "dataset",
    "ae": "ae",
    "pretrain": "pretrain",
}
HPARAM_METRICS = (
    "hparam/val_sq_err_per_image",  # the best validation value (the checkpoint that is tested)
    "hparam/test_sq_err_per_image",
    "hparam/test_bce",
    "hparam/samples_per_s",
)


def hparam_dict(config: dict[str, Any], fill: bool = False) -> dict[str, Any]:
    """The run's HPARAMS row from the plain config dict; ``fill`` gives every column a typed
    placeholder (for the experiment's column list) instead of None for what does not apply."""
    family = config["model"]["family"]
    row: dict[str, Any] = {}
    for column, (path, kind) in HPARAMS.items():
        value: Any = config
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if column == "hidden" and value is not None:
            value = "-".join(str(v) for v in value)
        elif column == "data_limit":
            value = "all" if value is None else str(value)
        elif value is not None:
            value = kind(value)
        if FAMILY_ONLY.get(column, family) != family:
            value = None
        if value is None and fill:
            value = kind()
        row[column] = value
    return row


def experiment_summary(config: dict[str, Any], axes: dict[str, list[str]] | None) -> Any:
    """The HPARAMS experiment (its columns and metrics), the same for every run of a sweep, since
    TensorBoard takes it from one of them: the swept keys are marked as differing (TensorBoard
    lists those first and shows them), with the swept values as a discrete domain (a discrete axis
    in the parallel coordinates, a checklist in the filter); columns of a model family the sweep
    does not train are left out."""
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
    from torch.utils.tensorboard.summary import Summary

    axes = axes or {}
    families = set(axes.get("model") or [config["model"]["family"]])
    kinds_run = set(axes.get("ae") or [(config.get("ae") or {}).get("name", "plain")])
    kinds = {
        "int": api_pb2.DATA_TYPE_FLOAT64,
        "float": api_pb2.DATA_TYPE_FLOAT64,
        "str": api_pb2.DATA_TYPE_STRING,
        "bool": api_pb2.DATA_TYPE_BOOL,
    }
    columns = {
        c: kind
        for c, (_, kind) in HPARAMS.items()
        if FAMILY_ONLY.get(c) in (None, *families) and (c not in KIND_ONLY or kinds_run & set(KIND_ONLY[c]))
    }
    swept = {COLUMN_OF.get(key, key): values for key, values in axes.items()}
    columns.update({c: str for c in swept if c not in columns})
    infos = []
    for column, kind in columns.items():
        info = api_pb2.HParamInfo(name=column, type=kinds[kind.__name__], differs=column in swept)
        values = swept.get(column) or []
        if values:
            number = kind in (int, float) and all(_is_number(v) for v in values)
            info.type = api_pb2.DATA_TYPE_FLOAT64 if number else api_pb2.DATA_TYPE_STRING
            info.domain_discrete.extend([float(v) if number else str(v) for v in values])
        infos.append(info)
    experiment = api_pb2.Experiment(
        hparam_infos=infos,
        metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag)) for tag in HPARAM_METRICS],
    )
    content = plugin_data_pb2.HParamsPluginData(experiment=experiment, version=metadata.PLUGIN_DATA_VERSION)
    meta = metadata.create_summary_metadata(content)
    return Summary(value=[Summary.Value(tag=metadata.EXPERIMENT_TAG, metadata=meta)])


def session_values(config: dict[str, Any], axes: dict[str, list[str]] | None, overrides: dict[str, str]) -> dict:
    """This run's HPARAMS row: its values of the columns, and of the swept keys outside them."""
    row = {k: v for k, v in hparam_dict(config).items() if v is not None}
    for key in axes or {}:
        column = COLUMN_OF.get(key, key)
        if column not in row:
            value = lookup(config, key)
            row[column] = str(value if value is not None else overrides.get(key, ""))
    return row


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def pick_digits(labels: Tensor, n: int) -> list[int]:
    """Indices of ``n`` images cycling through the classes 0, 1, …, 9, 0, 1, … (first
    occurrences first): a fixed, varied set of digits."""
    labels = labels.cpu()
    per_class = [(labels == d).nonzero().flatten().tolist() for d in range(10)]
    picked: list[int] = []
    for k in range(max((len(p) for p in per_class), default=0)):
        picked += [p[k] for p in per_class if k < len(p)]
        if len(picked) >= n:
            break
    return picked[:n]


class TensorBoardLogger(RunLogger):
    def __init__(self, config: Any, run_dir: str | Path, start_step: int = 0, best_val: float = math.inf) -> None:
        self.cfg = config.logging
        self.loss_name = config.loss.name
        self.log_dir = Path(run_dir) / "tb"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.step, self._best_val = start_step, best_val
        # On resume, TensorBoard drops what the first attempt logged after the checkpoint (the
        # steps this attempt repeats), so no curve doubles back.
        self.writer = SummaryWriter(log_dir=str(self.log_dir), purge_step=start_step + 1 if start_step else None)
        self.on = {
            k: bool(getattr(self.cfg, k))
            for k in ("scalars", "grad_flow", "histograms", "images", "hparams", "projector")
        }
        self.layers: list[tuple[str, Any]] = []
        self.start_step = start_step
        self.axes: dict[str, list[str]] | None = None
        self.groups: list[str] = []
        self._grads: dict[str, Tensor] = {}  # the last logging step's gradients, for histograms
        self._fixed: Tensor | None = None

    # --- hooks the training loop calls -----------------------------------------------------------
    def on_train_start(self, model: Autoencoder, data: Splits, config: dict[str, Any], record: dict[str, Any]) -> None:
        self.layers = model.layers()
        self.axes = current_axes()
        self.groups = self._groups(config)
        if self.on["grad_flow"] and record.get("grad_norms_init") and not self.start_step:
            self._log_flow(record["grad_norms_init"], 0)  # step 0: the initial weights
        if self.on["images"] and self.cfg.n_images > 0:
            self._fixed = data.test_x[pick_digits(data.test_y, int(self.cfg.n_images))]
        if self.on["scalars"] or self.on["grad_flow"]:
            self.writer.add_custom_scalars(self._layout())
        if self.on["hparams"]:
            self._write_hparams_start(config)

    def _groups(self, config: dict[str, Any]) -> list[str]:
        """``key=value`` of this run for each swept key (a single run: its activation and depth):
        the sweep-level charts it appears in, one line among the runs that share that value."""
        keys = list(self.axes) if self.axes else ["activation", "depth"]
        overrides = _task_overrides()
        groups = []
        for key in keys:
            value = lookup(config, key)
            value = overrides.get(key) if value is None or isinstance(value, dict) else value
            groups.append(f"{key}={value}")
        return groups

    def _log_flow(self, norms: dict[str, float], step: int) -> None:
        """The sweep-level gradient flow (log10): the first/output layer ratio and the first layer's
        norm on the probe batch, under each of this run's ``key=value`` groups."""
        values = list(norms.values())
        ratio = first_last_ratio(norms)
        for group in self.groups:
            if ratio is not None and ratio > 0:
                self.writer.add_scalar(f"sweep/ratio_log10/{group}", math.log10(ratio), step)
            if values and values[0] > 0:
                self.writer.add_scalar(f"sweep/first_layer_log10/{group}", math.log10(values[0]), step)

    def log_scalars(self, step: int, scalars: dict[str, float], model: Autoencoder) -> None:
        self.step = step
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, step)
            prefix, _, layer = tag.partition("/")
            if prefix in LOG10_NORMS and value > 0:  # the same on a log scale (TensorBoard opens on linear)
                self.writer.add_scalar(f"{prefix}_log10/{layer}", math.log10(value), step)
        if self.on["histograms"]:
            self._grads = {
                name: layer.weight.grad.detach().clone() for name, layer in self.layers if layer.weight.grad is not None
            }

    def on_epoch_end(self, epoch: int, record: dict[str, Any], model: Autoencoder, data: Splits) -> None:
        step, val, w = self.step, record["val"], self.writer
        if self.on["scalars"]:
            w.add_scalar("loss/train_epoch", record["train_loss"], step)
            w.add_scalar("loss/val", self._val_loss(val), step)
            for key, value in val.items():  # sq_err_per_image, mse, bce, and the kind's own
                w.add_scalar(f"metric/val_{key}", value, step)
            for key, value in (record.get("train_terms") or {}).items():
                w.add_scalar(f"loss/{key}_epoch", value, step)
            for tag, value in (record.get("ae") or {}).items():  # e.g. vae/active_units
                w.add_scalar(tag, value, step)
        if self.on["grad_flow"] and record.get("grad_norms"):
            for name, norm in record["grad_norms"].items():
                w.add_scalar(f"grad_norm_probe/{name}", norm, step)
                if norm > 0:
                    w.add_scalar(f"grad_norm_probe_log10/{name}", math.log10(norm), step)
            self._log_flow(record["grad_norms"], step)
        self._best_val = min(self._best_val, val["sq_err_per_image"])
        if self.on["hparams"]:  # best so far, so an interrupted run still shows its value
            w.add_scalar("hparam/val_sq_err_per_image", self._best_val, step)
        was_training = model.training
        try:
            if self.on["histograms"] and epoch % int(self.cfg.histograms_every_n_epochs) == 0:
                self._histograms(model, data, step)
            if self._fixed is not None:
                w.add_image("images/reconstructions", reconstruction_grid(model, self._fixed), step)
            self._kind_figures(model, data, step)
        finally:
            model.train(was_training)
        w.flush()

    def on_train_end(self, metrics: dict[str, Any], model: Autoencoder, data: Splits) -> None:
        step, w, test = self.step, self.writer, metrics["test"]
        if self.on["scalars"]:
            for key, value in test.items():
                w.add_scalar(f"metric/test_{key}", value, step)
        if self.on["hparams"]:
            if metrics.get("val"):
                w.add_scalar("hparam/val_sq_err_per_image", metrics["val"]["sq_err_per_image"], step)
            w.add_scalar("hparam/test_sq_err_per_image", test["sq_err_per_image"], step)
            w.add_scalar("hparam/test_bce", test["bce"], step)
            if metrics.get("samples_per_s"):
                w.add_scalar("hparam/samples_per_s", metrics["samples_per_s"], step)
            self._write_hparams_end()
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                if self.on["images"]:
                    self._interpolation(model, data, step)
                if self.on["projector"] and self.cfg.n_projector > 0:
                    n = min(int(self.cfg.n_projector), len(data.test_x))
                    x = data.test_x[:n]
                    codes = torch.cat([model.encode(c).flatten(1).float() for c in x.split(1000)])
                    w.add_embedding(
                        codes.cpu(),
                        metadata=data.test_y[:n].tolist(),
                        label_img=x.float().cpu(),
                        global_step=step,
                        tag="codes",
                    )
        finally:
            model.train(was_training)
        w.flush()

    def close(self) -> None:
        # A failed or interrupted run writes no session end: TensorBoard keeps the first one it
        # reads, so a later successful resume could not correct it. HPARAMS lists it as unknown.
        self.writer.close()

    # --- per epoch / end -------------------------------------------------------------------------
    def _kind_figures(self, model: Autoencoder, data: Splits, step: int) -> None:
        """The kind's histograms and images (:meth:`aelab.ae.Kind.measure`), from a fixed seed."""
        want_images, want_hists = self.on["images"], self.on["histograms"]
        if model.kind is None or not (want_images or want_hists):
            return
        x = data.val_x[:ACTIVATION_BATCH]
        model.eval()
        stats = model.kind.measure(model, x, torch.Generator(device=x.device).manual_seed(EVAL_SEED))
        for tag, values in stats.histograms.items() if want_hists else ():
            self.writer.add_histogram(tag, values.float(), step)
        for tag, image in stats.images.items() if want_images else ():
            self.writer.add_image(tag, image, step)

    def _val_loss(self, val: dict[str, float]) -> float:
        """The validation value of the training loss (per image, summed over pixels)."""
        return 0.5 * val["sq_err_per_image"] if self.loss_name == "mse" else val["bce"] * N_PIXELS

    @torch.no_grad()
    def _histograms(self, model: Autoencoder, data: Splits, step: int) -> None:
        w = self.writer
        for name, layer in self.layers:
            w.add_histogram(f"histograms/weights/{name}", layer.weight.detach().float().cpu(), step)
            if getattr(layer, "bias", None) is not None:
                w.add_histogram(f"histograms/biases/{name}", layer.bias.detach().float().cpu(), step)
            if name in self._grads:
                w.add_histogram(f"histograms/grads/{name}", self._grads[name].float().cpu(), step)
        outputs: dict[str, Tensor] = {}
        handles = [
            layer.register_forward_hook(lambda m, i, o, n=name: outputs.__setitem__(n, o.detach()))
            for name, layer in self.layers
        ]
        model.eval()
        try:
            model(data.val_x[:ACTIVATION_BATCH])
        finally:
            for handle in handles:
                handle.remove()
        for name, _ in self.layers:
            if name in outputs:
                w.add_histogram(f"histograms/activations/{name}", outputs[name].float().cpu(), step)

    def _interpolation(self, model: Autoencoder, data: Splits, step: int) -> None:
        """One row: test digit A, decodings of (1 − t)·code(A) + t·code(B) for 10 t from 0 to 1,
        test digit B."""
        from torchvision.utils import make_grid

        labels = data.test_y.cpu()
        idx = [
            int((labels == d).nonzero()[0]) if (labels == d).any() else i for i, d in enumerate(INTERPOLATION_DIGITS)
        ]
        ends = data.test_x[idx]
        codes = model.encode(ends)
        t = torch.linspace(0, 1, INTERPOLATION_STEPS, device=codes.device, dtype=codes.dtype)
        t = t.reshape(-1, *([1] * (codes.dim() - 1)))
        path = (1 - t) * codes[:1] + t * codes[1:2]
        decoded = model.decode(path).float().clamp(0, 1)
        row = torch.cat([ends[:1].float(), decoded, ends[1:2].float()]).cpu()
        self.writer.add_image("images/interpolation", make_grid(row, nrow=len(row), padding=2, pad_value=1.0), step)

    # --- layout and hparams ----------------------------------------------------------------------
    def _layout(self) -> dict[str, dict[str, list]]:
        layout: dict[str, dict[str, list]] = {}
        if self.on["grad_flow"]:
            # one chart per swept value, one line per run: the sweep's gradient flow, readable with
            # dozens of runs; the same in every run of the sweep (TensorBoard merges equal charts)
            axes = self.axes or {g.split("=", 1)[0]: [g.split("=", 1)[1]] for g in self.groups}
            sweep = {}
            for key, values in axes.items():
                for value in values or sorted({g.split("=", 1)[1] for g in self.groups if g.startswith(key + "=")}):
                    group = f"{key}={value}"
                    ratio = rf"^sweep/ratio_log10/{re.escape(group)}$"
                    sweep[f"log10 ‖∂E/∂W⁽¹⁾‖ / ‖∂E/∂W⁽ᴸ⁾‖, {group}"] = ["Multiline", [ratio]]
                    sweep[f"log10 ‖∂E/∂W⁽¹⁾‖ (first layer), {group}"] = [
                        "Multiline",
                        [rf"^sweep/first_layer_log10/{re.escape(group)}$"],
                    ]
            layout["gradient flow across runs (probe batch, log10; step 0 = initial weights)"] = sweep
            layout["gradient flow per layer (log10)"] = {
                "log10 gradient norm ‖∂E/∂W‖ per layer": ["Multiline", [r"^grad_norm_log10/"]],
                "log10 error signal ‖δ‖ per layer": ["Multiline", [r"^delta_norm_log10/"]],
                "log10 weight norm ‖W‖ per layer": ["Multiline", [r"^weight_norm_log10/"]],
                "log10 gradient norm on the probe batch, per epoch": ["Multiline", [r"^grad_norm_probe_log10/"]],
                "saturated or dead units per layer": ["Multiline", [r"^saturation/"]],
            }
        if self.on["scalars"]:
            layout["loss"] = {
                "train vs val loss": ["Multiline", [r"^loss/train$", r"^loss/val$", r"^loss/train_epoch$"]],
                "validation metrics": ["Multiline", [r"^metric/val_sq_err_per_image$"]],
                # the kind's terms (sparse, contractive: penalty; vae: kl) beside the reconstruction
                "loss parts: reconstruction and the kind's terms": [
                    "Multiline",
                    [r"^loss/recon(_epoch)?$", r"^loss/penalty(_epoch)?$", r"^loss/kl(_epoch)?$"],
                ],
            }
        return layout

    def _write_hparams_start(self, config: dict[str, Any]) -> None:
        metrics = {tag: math.nan for tag in HPARAM_METRICS}
        exp = experiment_summary(config, self.axes)  # the columns (the same in every run of a sweep)
        _, ssi, _ = hparams_summaries(session_values(config, self.axes, _task_overrides()), metrics)  # this run
        writer = self.writer._get_file_writer()  # hparams go into this run's own event file
        writer.add_summary(exp)
        writer.add_summary(ssi)
        self.writer.flush()

    def _write_hparams_end(self) -> None:
        _, _, sei = hparams_summaries({}, {})  # a SessionEndInfo with STATUS_SUCCESS
        self.writer._get_file_writer().add_summary(sei)
        self.writer.flush()


def _task_overrides() -> dict[str, str]:
    """``{key: value}`` of the overrides this job was started with (empty outside Hydra)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    return {override_key(o): o.split("=", 1)[1] for o in HydraConfig.get().overrides.task if "=" in o}


__all__ = ["TensorBoardLogger", "experiment_summary", "hparam_dict", "pick_digits", "session_values"]
