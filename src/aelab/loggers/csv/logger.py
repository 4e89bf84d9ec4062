"""``CSVLogger`` (``logging.loggers=[tensorboard,csv]``): ``<run dir>/metrics.csv``, one row per
logging step and one per epoch, for a spreadsheet or pandas.

Columns: ``row`` (``step``, ``epoch`` or ``test``), ``step`` (the global optimizer step, the x-axis
of every TensorBoard chart too; the test row sits one step after the last), ``epoch``, then one
column per value: the per-step values :class:`~aelab.loggers.base.Loggers` measures for every
logger (``loss/train``, ``lr``, ``perf/samples_per_s``, ``grad_norm/<layer>``, ``delta_norm/<layer>``,
``weight_norm/<layer>``, ``saturation/<layer>``) and the per-epoch ones (``loss/train_epoch``,
``metric/val_*``, ``grad_norm_probe/<layer>``, and ``metric/test_*`` at the end). A cell is empty
where a row has no such value.

The file follows the run's checkpoint: the epoch rows are written from the record's history
whenever the file is opened (a row a kill kept from the file is rebuilt), the step rows are
appended as they come and a resume drops those after its checkpoint's step, and the test row is
written only by a run that completes. A file that cannot be read is rebuilt from the record, with
one warning naming it (its step rows are lost; the run is not).
"""

from __future__ import annotations

import csv
import io
import logging
import math
from pathlib import Path
from typing import IO, Any

from aelab.data.load import Splits
from aelab.files import open_log, write_text
from aelab.loggers.base import RunLogger
from aelab.models.base import Autoencoder

STEP = ("loss/train", "lr", "perf/samples_per_s")
PER_LAYER_STEP = ("grad_norm", "delta_norm", "weight_norm", "saturation")
EPOCH = ("loss/train_epoch", "metric/val_sq_err_per_image", "metric/val_mse", "metric/val_bce")
TEST = ("metric/test_sq_err_per_image", "metric/test_mse", "metric/test_bce")
ORDER = {"step": 0, "epoch": 1, "test": 2}  # rows of one step: the step's, then the epoch's, then the test's
log = logging.getLogger("aelab.train")


def epoch_values(entry: dict[str, Any]) -> dict[str, Any]:
    """An epoch's row values from its history entry in the run's record."""
    values: dict[str, Any] = {"loss/train_epoch": entry["train_loss"]}
    values.update({f"metric/val_{k}": v for k, v in entry["val"].items()})
    values.update({f"grad_norm_probe/{k}": v for k, v in (entry.get("grad_norms") or {}).items()})
    return values


class CSVLogger(RunLogger):
    def __init__(self, config: Any, run_dir: str | Path, start_step: int = 0, best_val: float = math.inf) -> None:
        self.path = Path(run_dir) / "metrics.csv"
        self.batch_size = int(config.trainer.batch_size)
        self.start_step, self.step, self.epoch = start_step, start_step, 0
        self.columns: list[str] = []
        self._file: IO[str] | None = None
        self._writer: csv.DictWriter[str] | None = None

    def on_train_start(self, model: Autoencoder, data: Splits, config: dict[str, Any], record: dict[str, Any]) -> None:
        layers = [name for name, _ in model.layers()]
        self.columns = [
            "row",
            "step",
            "epoch",
            *STEP,
            *[f"{q}/{n}" for q in PER_LAYER_STEP for n in layers],
            *EPOCH,
            *[f"grad_norm_probe/{n}" for n in layers],
            *TEST,
        ]
        steps_per_epoch = max(1, math.ceil(len(data.train_x) / self.batch_size))
        history = record.get("history") or []
        self.epoch = len(history)
        rows = self._kept_step_rows() + [
            {
                "row": "epoch",
                "step": h.get("step", h["epoch"] * steps_per_epoch),
                "epoch": h["epoch"],
                **epoch_values(h),
            }
            for h in history
        ]
        rows.sort(key=lambda r: (int(r["step"]), ORDER[r["row"]]))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, self.columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text(self.path, buffer.getvalue())
        self._file = open_log(self.path)
        self._writer = csv.DictWriter(self._file, self.columns, extrasaction="ignore", lineterminator="\n")

    def _kept_step_rows(self) -> list[dict[str, Any]]:
        """The file's step rows up to the checkpoint's step; a damaged file gives what can be read."""
        if not self.path.exists():
            return []
        try:
            reader = csv.DictReader(io.StringIO(self.path.read_bytes().decode("utf-8", errors="replace")))
            header = reader.fieldnames or []
            rows = list(reader) if "step" in header and ({"row", "kind"} & set(header)) else None
        except (OSError, csv.Error):
            rows = None
        if rows is None:
            log.warning("%s is not this run's CSV: rebuilt from the checkpoint; its step rows are lost", self.path)
            return []
        if not self.start_step:  # a run that starts (again) from step 0 keeps no row
            return []
        return [
            {**r, "row": "step"}
            for r in rows
            if (r.get("row") or r.get("kind")) == "step"
            and str(r.get("step") or "").isdigit()
            and int(r["step"]) <= self.start_step
        ]

    def _write(self, row: str, step: int, values: dict[str, Any]) -> None:
        if self._writer is not None and self._file is not None:
            self._writer.writerow({"row": row, "step": step, "epoch": self.epoch, **values})
            self._file.flush()

    def log_scalars(self, step: int, scalars: dict[str, float], model: Autoencoder) -> None:
        self.step = step
        self._write("step", step, scalars)

    def on_epoch_end(self, epoch: int, record: dict[str, Any], model: Autoencoder, data: Splits) -> None:
        self.epoch = epoch
        self._write("epoch", self.step, epoch_values(record))

    def on_train_end(self, metrics: dict[str, Any], model: Autoencoder, data: Splits) -> None:
        self._write("test", self.step + 1, {f"metric/test_{k}": v for k, v in (metrics.get("test") or {}).items()})

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None


LOGGER = CSVLogger

__all__ = ["LOGGER", "CSVLogger", "epoch_values"]
