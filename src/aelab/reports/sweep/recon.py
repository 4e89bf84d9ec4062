"""Reconstruction grids of chosen runs: originals on top, the run's best reconstructions below."""

from __future__ import annotations

import os
from pathlib import Path

from aelab.data.load import load_dataset
from aelab.images import save_reconstruction_grid
from aelab.reports.sweep.collect import Job
from aelab.runs import load_run

N_IMAGES = 16


def _test_images(name: str, roots: list[str], n: int):
    """The first ``n`` test images of dataset ``name`` from the first root that has it (never downloads)."""
    errors = []
    for root in dict.fromkeys(r for r in roots if r):
        try:
            return load_dataset(name, root, download=False, limit=1, eval_limit=n).test_x
        except Exception as err:  # a missing or damaged dataset: try the next root
            errors.append(f"{root}: {err}")
    raise FileNotFoundError("test images not found (" + "; ".join(errors or ["no data.root"]) + ")")


def reconstruction_grids(
    jobs: dict[str, Job], out_dir: str | Path, cwd: str | None = None, n: int = N_IMAGES
) -> dict[str, Path | str]:
    """``{label: PNG path}`` for every ``label: job``; a job that cannot be drawn gets the reason instead.

    The images come from the run's ``data.root`` (relative to ``cwd``, where the sweep was launched,
    when relative) or else ``$AELAB_DATA_DIR``."""
    out: dict[str, Path | str] = {}
    images = None
    for label, job in jobs.items():
        try:
            run = load_run(job.dir)  # type: ignore[arg-type]
            if images is None:
                root = run.config.data.root
                from_cwd = str(Path(cwd) / root) if cwd and root and not os.path.isabs(root) else ""
                images = _test_images(run.config.data.name, [from_cwd, root, os.environ.get("AELAB_DATA_DIR", "")], n)
            out[label] = save_reconstruction_grid(run.model, images, Path(out_dir) / f"recon_{label}.png")
        except Exception as err:
            out[label] = f"{type(err).__name__}: {err}"
    return out


__all__ = ["reconstruction_grids"]
