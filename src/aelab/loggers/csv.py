"""``CSVLogger`` (``logging.loggers=[tensorboard,csv]``): ``<run dir>/metrics.csv``, one row per
logging step and one per epoch, for a spreadsheet or pandas.

Columns: ``kind`` (``step``, ``epoch`` or ``test``), ``step`` (the global optimizer step, the
x-axis of every TensorBoard chart too), ``epoch``, then one column per value: the per-step values
:class:`~aelab.loggers.base.Loggers` measures for every logger (``loss/train``, ``lr``,
``perf/samples_per_s``, ``grad_norm/<layer>``, ``delta_norm/<layer>``, ``weight_norm/<layer>``,
``saturation/<layer>``) and the per-epoch ones (``loss/train_epoch``, ``metric/val_*``,
``grad_norm_probe/<layer>``, and ``metric/test_*`` at the end). A cell is empty where a row has no
such value. A resumed run first drops the rows after its checkpoint's step, as TensorBoard does,
so no step appears twice.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import IO, Any

from aelab.data import Splits
from aelab.files import open_log, write_text
from aelab.loggers.base import RunLogger
from aelab.models import Autoencoder

STEP = ("loss/train", "lr", "perf/samples_per_s")
PER_LAYER_STEP = ("grad_norm", "delta_norm", "weight_norm", "saturation")
EPOCH = ("loss/train_epoch", "metric/val_sq_err_per_image", "metric/val_mse", "metric/val_bce")
TEST = ("metric/test_sq_err_per_image", "metric/test_mse", "metric/test_bce")


class CSVLogger(RunLogger):
    def __init__(self, config: Any, run_dir: str | Path, start_step: int = 0, best_val: float = math.inf) -> None:
        self.path = Path(run_dir) / "metrics.csv"
        self.start_step, self.step, self.epoch = start_step, start_step, 0
        self.columns: list[str] = []
        self._file: IO[str] | None = None
        self._writer: csv.DictWriter[str] | None = None

    def on_train_start(self, model: Autoencoder, data: Splits, config: dict[str, Any], record: dict[str, Any]) -> None:
        layers = [name for name, _ in model.layers()]
        self.columns = [
            "kind",
            "step",
            "epoch",
            *STEP,
            *[f"{q}/{n}" for q in PER_LAYER_STEP for n in layers],
            *EPOCH,
            *[f"grad_norm_probe/{n}" for n in layers],
            *TEST,
        ]
        kept = self._rows_until(self.start_step) if self.path.exists() else []
        self.epoch = max((int(r["epoch"]) for r in kept if r.get("epoch")), default=0)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, self.columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
        write_text(self.path, buffer.getvalue())  # a resume drops what the lost attempt logged after its checkpoint
        self._file = open_log(self.path)
        self._writer = csv.DictWriter(self._file, self.columns, extrasaction="ignore", lineterminator="\n")

    def _rows_until(self, step: int) -> list[dict[str, str]]:
        with open(self.path, newline="", encoding="utf-8") as f:
            return [row for row in csv.DictReader(f) if row.get("step", "").isdigit() and int(row["step"]) <= step]

    def _write(self, kind: str, values: dict[str, Any]) -> None:
        if self._writer is not None and self._file is not None:
            self._writer.writerow({"kind": kind, "step": self.step, "epoch": self.epoch, **values})
            self._file.flush()

    def log_scalars(self, step: int, scalars: dict[str, float], model: Autoencoder) -> None:
        self.step = step
        self._write("step", scalars)

    def on_epoch_end(self, epoch: int, record: dict[str, Any], model: Autoencoder, data: Splits) -> None:
        self.epoch = epoch
        values: dict[str, Any] = {"loss/train_epoch": record["train_loss"]}
        values.update({f"metric/val_{k}": v for k, v in record["val"].items()})
        values.update({f"grad_norm_probe/{k}": v for k, v in (record.get("grad_norms") or {}).items()})
        self._write("epoch", values)

    def on_train_end(self, metrics: dict[str, Any], model: Autoencoder, data: Splits) -> None:
        self._write("test", {f"metric/test_{k}": v for k, v in (metrics.get("test") or {}).items()})

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None


__all__ = ["CSVLogger"]
