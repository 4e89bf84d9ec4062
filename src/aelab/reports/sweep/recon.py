"""The images of chosen runs: originals on top, the run's best reconstructions below, and the run's
first-layer filters (:mod:`aelab.features`). A sweep over datasets (``data=mnist,digits8``) shows
the best run of each dataset; any other sweep its best and worst run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from aelab.data import image_format
from aelab.data.load import load
from aelab.features import save_feature_grid
from aelab.images import save_reconstruction_grid
from aelab.reports.sweep.collect import Job, finite
from aelab.runs import load_run

N_IMAGES = 16


def chosen_runs(jobs: list[Job], swept: list[str]) -> dict[str, Job]:
    """``{label: job}``: ``best``/``worst`` (lowest / highest validation sq_err_per_image among the
    completed runs), or with ``data`` swept, ``best_<dataset>`` for each dataset (errors of two
    datasets do not compare)."""
    done = sorted((j for j in jobs if j.completed and finite(j.metric("val"))), key=lambda j: j.metric("val") or 0.0)
    if not done:
        return {}
    if "data" in swept:
        best: dict[str, Job] = {}
        for job in done:
            best.setdefault(f"best_{job.param('data')}", job)
        return best
    return {"best": done[0]} if len(done) == 1 else {"best": done[0], "worst": done[-1]}


def load_test_split(data: Any, roots: list[str], n: int) -> tuple[Any, Any]:
    """The first ``n`` test images and labels of the run's dataset (its ``data`` config) from the
    first root that has it (never downloads)."""
    errors = []
    for root in dict.fromkeys(r for r in roots if r):
        try:
            splits = load(data, root=root, download=False, limit=1, eval_limit=n)
            return splits.test_x, splits.test_y
        except Exception as err:  # a missing or damaged dataset: try the next root
            errors.append(f"{root}: {err}")
    raise FileNotFoundError("test images not found (" + "; ".join(errors or ["no data.root"]) + ")")


def data_roots(data: Any, cwd: str | None) -> list[str]:
    """Where a run's dataset may be: its ``data.root`` (relative to ``cwd``, where the sweep was
    launched, when relative), as given, or else ``$AELAB_DATA_DIR``."""
    root = data.root
    from_cwd = str(Path(cwd) / root) if cwd and root and not os.path.isabs(root) else ""
    return [from_cwd, root, os.environ.get("AELAB_DATA_DIR", "")]


def reconstruction_grids(
    jobs: dict[str, Job], out_dir: str | Path, cwd: str | None = None, n: int = N_IMAGES
) -> dict[str, Path | str]:
    """``{label: PNG path}`` for every ``label: job``, ``recon_<label>.png`` and ``features_<label>.png``
    (its key ``features_<label>``); a job that cannot be drawn gets the reason instead.

    The images come from the run's ``data.root`` (relative to ``cwd``, where the sweep was launched,
    when relative) or else ``$AELAB_DATA_DIR``."""
    out: dict[str, Path | str] = {}
    images: dict[str, Any] = {}  # per dataset and keys: a sweep over datasets draws each one's own
    for label, job in jobs.items():
        try:
            run = load_run(job.dir)  # type: ignore[arg-type]
            data = run.config.data
            key = repr({**vars(data), "root": None})
            if key not in images:
                images[key] = load_test_split(data, data_roots(data, cwd), n)[0]
            shown = image_format(data).value_range
            out[label] = save_reconstruction_grid(run.model, images[key], Path(out_dir) / f"recon_{label}.png", shown)
            out[f"features_{label}"] = save_feature_grid(run.model, Path(out_dir) / f"features_{label}.png")
        except Exception as err:
            out[label] = f"{type(err).__name__}: {err}"
    return out


__all__ = ["chosen_runs", "data_roots", "load_test_split", "reconstruction_grids"]
