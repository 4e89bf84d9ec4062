"""The code space of chosen runs in a report: each run's test codes in 2-D, coloured by class
(:mod:`aelab.codespace`; an unlabelled dataset in one colour), as ``codes_<label>.png``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aelab.codespace import N_POINTS, save_code_space
from aelab.data import class_names
from aelab.reports.render import Image, Para, Section
from aelab.reports.sweep.collect import Job
from aelab.reports.sweep.recon import data_roots, load_test_split
from aelab.runs import load_run

PREFIX = "codes_"


def code_spaces(jobs: dict[str, Job], out_dir: str | Path, cwd: str | None = None) -> dict[str, Path | str]:
    """``{label: PNG}`` of every ``label: job``'s code space (``codes_<label>.png`` in ``out_dir``);
    a run that cannot be drawn gets the reason instead. The images come from the run's ``data.root``
    (relative to ``cwd`` when relative) or else ``$AELAB_DATA_DIR`` (:func:`.recon.data_roots`)."""
    out: dict[str, Path | str] = {}
    for label, job in jobs.items():
        try:
            run = load_run(job.dir)  # type: ignore[arg-type]
            data = run.config.data
            x, y = load_test_split(data, data_roots(data, cwd), N_POINTS)
            path = Path(out_dir) / f"{PREFIX}{label}.png"
            out[label] = save_code_space(run.model, x, y, class_names(data), path, f"Code space: {label}")
        except Exception as err:  # one run that cannot be drawn must not cost the report
            out[label] = f"{type(err).__name__}: {err}"
    return out


def code_section(chosen: dict[str, Job], figures: dict[str, Path | str], describe: dict[str, str]) -> Section:
    """The report's section: one picture per chosen run, under ``describe[label]`` (a line naming it)."""
    blocks: list[Any] = [
        Para(
            f"The codes of the first {N_POINTS} test images (or all, if fewer), projected onto their two "
            "principal directions (PCA of the codes: a linear view, so distances in the picture are distances "
            "in the code), one colour per class. The autoencoder never saw the classes: a class that forms "
            "its own cloud is one it found by itself. An unlabelled dataset is drawn in one colour."
        )
    ]
    for label in chosen:
        blocks.append(Para(describe[label]))
        figure = figures.get(label)
        blocks.append(
            Image(figure, f"code space of {label}") if isinstance(figure, Path) else Para(f"(not drawn: {figure})")
        )
    return Section("Code space", blocks)


__all__ = ["PREFIX", "code_section", "code_spaces"]
