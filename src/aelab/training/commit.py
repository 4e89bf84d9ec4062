"""The one way a run reaches its directory: a commit.

``checkpoints/last.pt`` is the run: every commit writes it first (the :class:`TrainState` and the
record, naming best.pt's hash), then ``best.pt`` if the best changed, then ``metrics.json`` from it.
A kill between two writes leaves last.pt whole, and the next resume rewrites the rest from it. A
failed or interrupted run keeps the record of its last commit, with the status and the error.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

from aelab import faults
from aelab.config.saved import fingerprint
from aelab.errors import AelabError, CorruptFileError
from aelab.files import recorded_hashes, sha256, sha256_file, write_json
from aelab.training.checkpoint import load_checkpoint, save_checkpoint, serialize
from aelab.training.rundir import RunDir
from aelab.training.state import TrainState

log = logging.getLogger("aelab.train")


def hash_of(path: Any) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def metrics_of(record: dict[str, Any], config: dict[str, Any], last_sha: str | None) -> dict[str, Any]:
    """metrics.json: the record, the config it ran with, its fingerprint and the checkpoints' hashes
    (best.pt's as last.pt records it)."""
    return {
        **record,
        "hparams": config,
        "config_fingerprint": fingerprint(config),
        "checkpoints": {"last.pt": last_sha, "best.pt": record.get("best_sha256")},
    }


class RunFiles:
    """A run's commits into its (locked) directory. ``config``: the run's own, as recorded;
    ``committed``: the record last.pt holds (None before the first commit)."""

    def __init__(self, run: RunDir, config: dict[str, Any], record: dict[str, Any], committed: bool) -> None:
        self.run, self.config, self.record = run, config, record
        self.started, self.wall_before = time.perf_counter(), float(record.get("wall_time_s") or 0.0)
        self.shas: dict[str, str | None] = {"last.pt": hash_of(run.last), "best.pt": hash_of(run.best)}
        self.committed = copy.deepcopy(record) if committed else None

    def wall(self) -> float:
        return self.wall_before + time.perf_counter() - self.started

    def metrics(self) -> dict[str, Any]:
        return metrics_of(self.record, self.config, self.shas["last.pt"])

    def commit(self, state: TrainState, status: str | None = None, improved: bool = False) -> None:
        """last.pt first (the truth, naming best.pt's hash), then best.pt if the best changed, then
        metrics.json. The fail points mark the windows between the writes."""
        best_bytes = serialize(state.best_checkpoint(self.config)) if improved else None
        if best_bytes is not None:
            self.record["best_sha256"] = sha256(best_bytes)
        if status is not None:
            self.record["status"] = status
        self.record["wall_time_s"] = self.wall()
        self.shas["last.pt"] = save_checkpoint(self.run.last, state.state_dict(self.config))
        self.committed = copy.deepcopy(self.record)
        faults.point("commit:after_last")
        if best_bytes is not None:
            self.shas["best.pt"] = save_checkpoint(self.run.best, best_bytes)
            faults.point("commit:after_best")
        write_json(self.run.metrics, self.metrics())
        faults.point("commit:after_metrics")

    def repair_best(self, state: TrainState) -> None:
        """A run killed between last.pt and best.pt: best.pt is an earlier epoch's (or missing), so it
        is rewritten from last.pt; a best.pt that matches no hash recorded for it is damaged."""
        if state.best_model is None or self.shas["best.pt"] == self.record.get("best_sha256"):
            return
        if self.run.best.exists() and self.shas["best.pt"] not in recorded_hashes(self.run.best):
            raise CorruptFileError(
                f"{self.run.best} is corrupt: its SHA-256 differs from the one recorded when it "
                f"was written ({self.run.best.name}.sha256)"
            )
        self.shas["best.pt"] = self.record["best_sha256"] = save_checkpoint(
            self.run.best, state.best_checkpoint(self.config)
        )

    def fail(self, status: str, error: str, failed_step: int | None = None, keep_state: bool = True) -> None:
        """Record a failed or interrupted run: the record of the last commit (the model in memory may
        hold NaN, or the disk refused the commit) with the status and error, in last.pt and
        metrics.json; ``keep_state=False`` (a full disk) writes metrics.json only. A run that failed
        before its first commit has only metrics.json."""
        if self.record.get("status") == status and self.record.get("error") == error:
            return  # committed already (an interrupt commits the step it stopped at)
        base = self.committed if self.committed is not None else self.record
        self.record = {**base, "status": status, "error": error, "failed_step": failed_step, "wall_time_s": self.wall()}
        try:
            if keep_state and self.committed is not None:
                saved = load_checkpoint(self.run.last)
                saved["record"] = self.record
                self.shas["last.pt"] = save_checkpoint(self.run.last, saved)
            write_json(self.run.metrics, self.metrics())
        except AelabError as err:  # e.g. the disk is still full: the last commit stands
            log.error("could not record the %s run: %s", status, err)


__all__ = ["RunFiles", "hash_of", "metrics_of"]
