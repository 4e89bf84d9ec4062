"""``MLflowLogger`` (``logging.loggers=[mlflow]``, ``logging=mlflow``): the run in an MLflow tracking
store (``logging.mlflow.tracking_uri``; a SQLite file under ``outputs/`` by default).

What it records, in one MLflow run per aelab run:

* params: the run's HPARAMS row (:func:`aelab.loggers.hparams.session_values`: the columns every
  tracking logger shows, and a sweep's swept keys), once;
* metrics, with ``step=`` the global optimizer step as every logger's x-axis: the per-step values
  :class:`~aelab.loggers.base.Loggers` measures (``loss/train``, ``lr``, ``perf/samples_per_s``,
  ``grad_norm/<layer>``, ``delta_norm/<layer>``, ``weight_norm/<layer>``, ``saturation/<layer>``),
  per epoch ``loss/train_epoch``, ``metric/val_*``, ``grad_norm_probe/<layer>`` (also at step 0: the
  initial weights), the loss's parts and the kind's scalars, and ``metric/test_*`` one step after
  the last;
* artifacts: the image grids of :data:`IMAGES` per epoch, ``<name>/step_<step>.png``.

A sweep is one experiment named by its sweep dir, each job one MLflow run named by its job dir.

Resume: the logger writes ``mlflow.json`` in the run dir (the store, experiment and run ids) when it
opens an MLflow run, and a resume of the run continues that MLflow run. MLflow keeps every value
logged and has no call that deletes one, so what a killed attempt logged after the committed step
stays; a resume therefore reads the run's metric history once and skips every value at a
(metric, step) the run already holds. On CPU a resume repeats those steps bit for bit, so the value
kept is the one the resumed attempt computes; each step's value appears once either way.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from torch import Tensor
from torchvision.utils import save_image

from aelab.config.convert import lookup
from aelab.config.sweep import current_axes
from aelab.data.load import Splits
from aelab.errors import CorruptFileError
from aelab.files import read_json, write_json
from aelab.images import reconstruction_grid
from aelab.loggers.base import RunLogger
from aelab.loggers.csv.logger import epoch_values
from aelab.loggers.hparams import session_values, task_overrides
from aelab.loggers.mlflow.config import MLflowConfig
from aelab.loggers.tensorboard.figures import pick_by_class
from aelab.models.base import Autoencoder

RUN_FILE = "mlflow.json"  # in the run dir: which MLflow run this run logs to
BATCH = 1000  # metrics per log_batch call (MLflow's limit)
PARAM_BATCH = 100
SINGLE_RUNS = "aelab"  # the experiment of runs outside a sweep, unless logging.mlflow.experiment names one
# MLflow's UI opens an experiment of this kind on its model-training pages (runs table, metric charts)
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}
STATUS = {"completed": "FINISHED", "failed": "FAILED"}  # an interrupted (or unknown) run ends as KILLED


def _reconstructions(model: Autoencoder, images: Tensor) -> Tensor:
    return reconstruction_grid(model, images)


# The image grids logged per epoch: name → (model, fixed test images) → a (3, H, W) grid in [0, 1].
# A further grid (the features of the first layer, say) is one more entry here.
IMAGES: dict[str, Callable[[Autoencoder, Tensor], Tensor]] = {"reconstructions": _reconstructions}


def absolute_uri(uri: str) -> str:
    """A local store's URI with its path made absolute (a relative one is from the working
    directory), so that a resume, ``mlflow ui`` and the record name one store; others unchanged."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return "sqlite:///" + str(Path(uri[len("sqlite:///") :]).absolute())
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path) if parsed.scheme else uri).absolute().as_uri()
    return uri


def param_text(value: Any) -> str:
    """A param as MLflow shows it: the table's numbers are floats (TensorBoard's HPARAMS wants them
    so), shown here without a ``.0`` when whole (``epochs`` 10, not 10.0)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def experiment_name(configured: str | None) -> str:
    """``logging.mlflow.experiment``, else the sweep's dir (relative to the working directory when
    inside it), else :data:`SINGLE_RUNS`."""
    if configured:
        return configured
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return SINGLE_RUNS
    sweep = Path(str(HydraConfig.get().sweep.dir)).absolute()
    try:
        return str(sweep.relative_to(Path.cwd()))
    except ValueError:
        return str(sweep)


class MLflowLogger(RunLogger):
    def __init__(self, config: Any, run_dir: str | Path, start_step: int = 0, best_val: float = math.inf) -> None:
        self.cfg, self.keys = config.logging, config.logging.mlflow
        self.run_dir = Path(run_dir)
        self.start_step, self.step = start_step, start_step
        import mlflow  # here, not at the top: listing the loggers or their view commands never imports it

        self.uri = absolute_uri(self.keys.tracking_uri)
        if self.uri.startswith("sqlite:///"):  # SQLite creates the file, not its folder
            Path(self.uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        self.client = mlflow.MlflowClient(tracking_uri=self.uri)
        self.run_id = ""
        self._seen: dict[str, set[int]] = {}  # the (metric, step) pairs a continued run already holds
        self._fixed: Tensor | None = None
        self._completed = False

    # --- which MLflow run ------------------------------------------------------------------------
    def _open_run(self) -> None:
        """Continue the MLflow run ``mlflow.json`` names, if it is in this store; else start one."""
        kept = self._recorded_run()
        if kept is not None:
            self.run_id = kept
            self.client.update_run(kept, status="RUNNING")
            self._seen = self._history()
            return
        experiment_id = self._experiment(experiment_name(self.keys.experiment))
        run = self.client.create_run(
            experiment_id, run_name=self.run_dir.name, tags={"aelab.run_dir": str(self.run_dir.absolute())}
        )
        self.run_id = run.info.run_id
        write_json(
            self.run_dir / RUN_FILE, {"tracking_uri": self.uri, "experiment_id": experiment_id, "run_id": self.run_id}
        )

    def _recorded_run(self) -> str | None:
        from mlflow.exceptions import MlflowException

        path = self.run_dir / RUN_FILE
        if not path.exists():
            return None
        try:
            kept = read_json(path)
        except CorruptFileError:
            return None  # a damaged record: the run is logged to a new MLflow run
        if not isinstance(kept, dict) or kept.get("tracking_uri") != self.uri:
            return None
        try:
            return str(self.client.get_run(str(kept.get("run_id"))).info.run_id)
        except MlflowException:
            return None  # gone from the store (deleted): a new MLflow run

    def _experiment(self, name: str) -> str:
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        location = None
        if self.uri.startswith(("sqlite:", "file:")):  # a local store: artifacts beside it, not in ./mlruns
            slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("_") or SINGLE_RUNS
            location = (Path(self.keys.artifact_root).absolute() / slug).as_uri()
        try:
            return str(self.client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_TAGS))
        except MlflowException:  # another job of the sweep created it meanwhile
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return str(found.experiment_id)

    def _history(self) -> dict[str, set[int]]:
        """``{metric: steps}`` of the values the run holds."""
        return {
            key: {m.step for m in self.client.get_metric_history(self.run_id, key)}
            for key in self.client.get_run(self.run_id).data.metrics
        }

    # --- writing -----------------------------------------------------------------------------------
    def _log(self, values: dict[str, float], step: int) -> None:
        """One value per (metric, step): a step the run already holds (a resumed attempt) is skipped."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [
            Metric(key, float(value), now, step)
            for key, value in values.items()
            if value is not None and step not in self._seen.get(key, ())
        ]
        for i in range(0, len(metrics), BATCH):
            self.client.log_batch(self.run_id, metrics=metrics[i : i + BATCH])

    def _log_params(self, config: dict[str, Any]) -> None:
        from mlflow.entities import Param

        held = self.client.get_run(self.run_id).data.params
        row = session_values(config, current_axes(), task_overrides())
        params = [Param(k, param_text(v)) for k, v in row.items() if k not in held]
        for i in range(0, len(params), PARAM_BATCH):
            self.client.log_batch(self.run_id, params=params[i : i + PARAM_BATCH])

    def _images(self, model: Autoencoder, step: int) -> None:
        if self._fixed is None:
            return
        was_training = model.training
        try:
            with tempfile.TemporaryDirectory() as tmp:
                for name, grid in IMAGES.items():
                    path = Path(tmp) / f"step_{step:07d}.png"
                    save_image(grid(model, self._fixed), path)
                    self.client.log_artifact(self.run_id, str(path), artifact_path=name)
        finally:
            model.train(was_training)

    # --- hooks the training loop calls -------------------------------------------------------------
    def on_train_start(self, model: Autoencoder, data: Splits, config: dict[str, Any], record: dict[str, Any]) -> None:
        self._open_run()
        if self.cfg.hparams:
            self._log_params(config)
        if self.cfg.grad_flow and record.get("grad_norms_init") and not self.start_step:
            self._log({f"grad_norm_probe/{k}": v for k, v in record["grad_norms_init"].items()}, 0)
        if self.cfg.images and self.cfg.n_images > 0:
            self._fixed = data.test_x[pick_by_class(data.test_y, int(self.cfg.n_images))]

    def log_scalars(self, step: int, scalars: dict[str, float], model: Autoencoder) -> None:
        self.step = step
        self._log(scalars, step)

    def on_epoch_end(self, epoch: int, record: dict[str, Any], model: Autoencoder, data: Splits) -> None:
        values = epoch_values(record) if self.cfg.scalars else {}
        if not self.cfg.grad_flow:
            values = {k: v for k, v in values.items() if not k.startswith("grad_norm_probe/")}
        elif not self.cfg.scalars:
            values = {f"grad_norm_probe/{k}": v for k, v in (record.get("grad_norms") or {}).items()}
        if self.cfg.scalars:
            values.update({f"loss/{k}_epoch": v for k, v in (record.get("train_terms") or {}).items()})
            values.update(record.get("ae") or {})  # the kind's scalars, e.g. vae/active_units
        self._log(values, self.step)
        if self.cfg.images:
            self._images(model, self.step)

    def on_train_end(self, metrics: dict[str, Any], model: Autoencoder, data: Splits) -> None:
        # one step after the last, as every logger puts the test
        self._log({f"metric/test_{k}": v for k, v in (metrics.get("test") or {}).items()}, self.step + 1)
        self._completed = True

    def close(self) -> None:
        """End the MLflow run as the aelab run ended (its metrics.json, written before this)."""
        if not self.run_id:
            return
        status = "FINISHED" if self._completed else "KILLED"
        if not self._completed:
            try:
                status = STATUS.get(str(read_json(self.run_dir / "metrics.json").get("status")), "KILLED")
            except (CorruptFileError, OSError, AttributeError):
                pass
        self.client.set_terminated(self.run_id, status=status)

    @staticmethod
    def view(config: dict[str, Any], folder: Path) -> str:
        """The command that shows the runs: MLflow's UI on the store (every experiment in it)."""
        uri = lookup(config, "logging.mlflow.tracking_uri") or MLflowConfig().tracking_uri
        return f"mlflow ui --backend-store-uri {absolute_uri(str(uri))}"


LOGGER = MLflowLogger

__all__ = ["IMAGES", "LOGGER", "RUN_FILE", "MLflowLogger", "absolute_uri", "experiment_name", "param_text"]
