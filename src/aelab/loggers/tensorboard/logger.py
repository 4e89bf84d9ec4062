"""``TensorBoardLogger``: one ``SummaryWriter`` per run in ``<run dir>/tb/``.

What it records (each group behind its own ``logging.*`` switch; the x-axis is always the global
optimizer step, so per-step and per-epoch curves share one axis). The tags are the measured names
as :mod:`.tags` shows them, numbered in the lesson's order (the loss, then the gradient ladder) and
the norms as their log10.

Per-step values (``loss/train``, ``lr``, ``perf/samples_per_s``, the per-layer gradient flow) are
measured once for every logger by :class:`aelab.loggers.base.Loggers` and written here as they come.

``scalars``
    ``1_loss/train`` (mean since the last logging step), ``1_loss/train_epoch``,
    ``1_loss/val`` (the validation value of the training loss: ``0.5·sq_err_per_image`` for mse,
    ``bce`` times the values per image for bce), ``metric/val_{sq_err_per_image,mse,bce}`` per epoch,
    ``metric/test_*`` at the end (one step after the last), ``lr``, ``perf/samples_per_s``.
``grad_flow``
    per weight layer (``model.layers()`` names, ``01_enc`` … ``50_code`` … ``99_out``), on every
    logging step: ``2_grad_norm_log10/<layer>`` = log10 ‖∂E/∂W^(l)‖ (the layer's ``weight.grad`` of
    that step), ``3_delta_norm_log10/<layer>`` = log10 ‖δ^(l)‖ with δ = g ⊙ φ'(z), g = ∂E/∂a the
    gradient at the layer's output (Frobenius norm over the mini-batch), ``5_weight_norm_log10/<layer>``
    = log10 ‖W^(l)‖, and for layers with a nonlinearity ``4_saturation/<layer>`` (see
    :meth:`aelab.backprop.Activation.saturated_fraction`); per epoch ``6_grad_norm_probe_log10/<layer>``,
    the same gradient norm on the fixed validation probe batch. A custom-scalars layout puts every
    layer of a run on one chart per quantity. (With ``trainer.compile`` or ``trainer.cuda_graphs``
    the hook-based δ and saturation are skipped.)
``histograms``
    every ``histograms_every_n_epochs`` epochs, per layer, all under ``histograms/`` (one group,
    after the scalars in TIME SERIES): ``weights/``, ``biases/``, ``grads/`` (the gradients of the
    last logging step) and ``activations/`` (a fixed validation batch).
``images``
    ``images/reconstructions`` (a fixed set of ``n_images`` test images, cycling through the
    classes, above their reconstructions) per epoch, ``images/interpolation`` at the end; and
    ``features/<layer>``, the first weight layer's filters as an image grid, per epoch
    (:mod:`aelab.features`: each unit's input weights as an image of the data's shape, colour
    where the data is colour; a convolution's kernels as small tiles).
the autoencoder kind (``ae``)
    ``loss/recon``, ``loss/penalty``, ``loss/kl`` (the loss's parts, per logging step and as
    ``…_epoch``), the kind's evaluation metrics as ``metric/val_*`` / ``metric/test_*``, and per epoch
    what :meth:`aelab.ae.Kind.measure` shows: denoising: clean / corrupted / reconstructed images;
    sparse: mean activation per code unit (histogram); contractive: the penalty and ‖∂code/∂x‖_F;
    vae: KL per latent dimension (histogram), active units, samples decoded from the prior.
``hparams``
    the columns that tell the runs apart (:mod:`.hparams`) and the final metrics, written into
    this run's own log dir.
``projector``
    the codes of ``n_projector`` test images with thumbnails and their class (index and name: the
    projector's "Color by" offers both; an unlabelled dataset's codes without), at the end.

The logger reads the model and never changes it or draws random numbers, so a run trains
bit-identically with logging on or off. It writes an epoch's values before the epoch is committed
and flushes them; a resume purges every event after the committed step (``purge_step``), so a kill
at any line leaves each value once. The test's values sit one step after the last training step,
where a resume of a run killed before its final commit purges them too.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summaries

from aelab.config.convert import lookup
from aelab.config.sweep import current_axes
from aelab.data import class_names, image_format
from aelab.data.load import Splits
from aelab.features import feature_grid
from aelab.gradflow import first_last_ratio
from aelab.images import reconstruction_grid, shown
from aelab.loggers.base import RunLogger
from aelab.loggers.hparams import task_overrides
from aelab.loggers.tensorboard.figures import class_rows, interpolation_ends, interpolation_row, pick_by_class
from aelab.loggers.tensorboard.hparams import HPARAM_METRICS, experiment_summary, session_row, shown_columns
from aelab.loggers.tensorboard.layout import layout
from aelab.loggers.tensorboard.tags import tb_scalar
from aelab.metrics import EVAL_SEED
from aelab.models.base import Autoencoder

ACTIVATION_BATCH = 256  # validation images whose activations go into the histograms


class TensorBoardLogger(RunLogger):
    def __init__(self, config: Any, run_dir: str | Path, start_step: int = 0, best_val: float = math.inf) -> None:
        self.cfg = config.logging
        self.loss_name = config.loss.name
        images = image_format(config.data)
        self.n_values, self.value_range = images.n_values, images.value_range
        self.classes = class_names(config.data)
        self.log_dir = Path(run_dir) / "tb"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.step, self._best_val = start_step, best_val
        # On resume, TensorBoard drops what the first attempt logged after the checkpoint (the
        # steps this attempt repeats), so no curve doubles back. It applies that purge to the files
        # before this one in name order, whose first field is the second the file was made in.
        _after_the_newest_file(self.log_dir)
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
            self._fixed = data.test_x[pick_by_class(data.test_y, int(self.cfg.n_images))]
        if self.on["scalars"] or self.on["grad_flow"]:
            axes = self.axes or {g.split("=", 1)[0]: [g.split("=", 1)[1]] for g in self.groups}
            self.writer.add_custom_scalars(layout(self.on["grad_flow"], self.on["scalars"], axes))
        if self.on["hparams"]:
            self._write_hparams_start(config)

    def _groups(self, config: dict[str, Any]) -> list[str]:
        """``key=value`` of this run for each swept key (a single run: its activation and depth):
        the sweep-level charts it appears in, one line among the runs that share that value."""
        keys = list(self.axes) if self.axes else ["activation", "depth"]
        overrides = task_overrides()
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
        for name, value in scalars.items():
            self._scalar(name, value, step)
        if self.on["histograms"]:
            self._grads = {
                name: layer.weight.grad.detach().clone() for name, layer in self.layers if layer.weight.grad is not None
            }

    def on_epoch_end(self, epoch: int, record: dict[str, Any], model: Autoencoder, data: Splits) -> None:
        step, val, w = self.step, record["val"], self.writer
        if self.on["scalars"]:
            self._scalar("loss/train_epoch", record["train_loss"], step)
            self._scalar("loss/val", self._val_loss(val), step)
            for key, value in val.items():  # sq_err_per_image, mse, bce, and the kind's own
                w.add_scalar(f"metric/val_{key}", value, step)
            for key, value in (record.get("train_terms") or {}).items():
                self._scalar(f"loss/{key}_epoch", value, step)
            for tag, value in (record.get("ae") or {}).items():  # e.g. vae/active_units
                w.add_scalar(tag, value, step)
        if self.on["grad_flow"] and record.get("grad_norms"):
            for name, norm in record["grad_norms"].items():
                self._scalar(f"grad_norm_probe/{name}", norm, step)
            self._log_flow(record["grad_norms"], step)
        self._best_val = min(self._best_val, val["sq_err_per_image"])
        if self.on["hparams"]:  # best so far, so an interrupted run still shows its value
            w.add_scalar("hparam/val_sq_err_per_image", self._best_val, step)
        was_training = model.training
        try:
            if self.on["histograms"] and epoch % int(self.cfg.histograms_every_n_epochs) == 0:
                self._histograms(model, data, step)
            if self._fixed is not None:
                w.add_image("images/reconstructions", reconstruction_grid(model, self._fixed, self.value_range), step)
            if self.on["images"]:
                layer, grid = feature_grid(model)
                w.add_image(f"features/{layer}", grid, step)
            self._kind_figures(model, data, step)
        finally:
            model.train(was_training)
        w.flush()

    def on_train_end(self, metrics: dict[str, Any], model: Autoencoder, data: Splits) -> None:
        # one step after the last: a resume of a run killed before its final commit purges them
        step, w, test = self.step + 1, self.writer, metrics["test"]
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
                    rows = class_rows(data.test_y[:n].tolist(), self.classes)
                    w.add_embedding(
                        codes.cpu(),
                        metadata=rows,
                        metadata_header=["class", "name"] if rows else None,
                        label_img=shown(x, self.value_range).cpu(),
                        global_step=step,
                        tag="codes",
                    )
        finally:
            model.train(was_training)
        w.flush()

    @staticmethod
    def view(config: dict[str, Any], folder: Path) -> str:
        """TensorBoard on the run's ``tb/``, or on a sweep dir (it finds every job's ``tb/`` below)."""
        return f"tensorboard --logdir {folder / 'tb' if (folder / 'tb').is_dir() else folder}"

    def close(self) -> None:
        # A failed or interrupted run writes no session end: TensorBoard keeps the first one it
        # reads, so a later successful resume could not correct it. HPARAMS lists it as unknown.
        self.writer.close()

    # --- per epoch / end -------------------------------------------------------------------------
    def _scalar(self, name: str, value: float, step: int) -> None:
        """A measured value under its TensorBoard tag (:func:`.tags.tb_scalar`: a norm as its log10)."""
        shown = tb_scalar(name, value)
        if shown is not None:
            self.writer.add_scalar(shown[0], shown[1], step)

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
        return 0.5 * val["sq_err_per_image"] if self.loss_name == "mse" else val["bce"] * self.n_values

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
        """Decodings along the line between the codes of two test images (:func:`interpolation_row`)."""
        ends = data.test_x[interpolation_ends(data.test_y, len(self.classes))]
        self.writer.add_image("images/interpolation", interpolation_row(model, ends, self.value_range), step)

    # --- hparams ----------------------------------------------------------------------------------
    def _write_hparams_start(self, config: dict[str, Any]) -> None:
        metrics = {tag: math.nan for tag in HPARAM_METRICS}
        overrides = task_overrides()
        shown = shown_columns(config, self.axes, overrides)
        exp = experiment_summary(shown)  # the columns (the same in every run of a sweep)
        _, ssi, _ = hparams_summaries(session_row(config, shown, self.axes, overrides), metrics)  # this run
        writer = self.writer._get_file_writer()  # hparams go into this run's own event file
        writer.add_summary(exp)
        writer.add_summary(ssi)
        self.writer.flush()

    def _write_hparams_end(self) -> None:
        _, _, sei = hparams_summaries({}, {})  # a SessionEndInfo with STATUS_SUCCESS
        self.writer._get_file_writer().add_summary(sei)
        self.writer.flush()


def _after_the_newest_file(log_dir: Path) -> None:
    """Wait (under a second, only when an earlier attempt's file was made in this very second) until a
    new event file's name sorts after every file in ``log_dir``."""
    stamps = [p.name.split(".")[3] for p in log_dir.glob("events.out.tfevents.*")]
    newest = max((int(s) for s in stamps if s.isdigit()), default=0)
    while int(time.time()) <= newest:
        time.sleep(0.05)


LOGGER = TensorBoardLogger

__all__ = ["LOGGER", "TensorBoardLogger"]
