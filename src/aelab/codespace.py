"""The code space as a picture: the codes of test images projected to 2-D, one colour per class.

An autoencoder is never told the classes, so whether the images of one class land near each other
in its code is something it found on its own. The projection is PCA (:func:`aelab.analysis.fit_pca`):
with the codes' mean μ and their top two principal directions W (2, d),

    p = W (z − μ)

a linear view, so a distance in the picture is a distance in the code (the part of it the two
directions hold, printed on the axes), and the same codes always give the same picture. (t-SNE
would pull the clusters apart more, at the price of distances that mean nothing and of a random
layout.) A VAE's code is its μ (:meth:`aelab.models.base.Autoencoder.encode`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from aelab.analysis.pca import fit_pca
from aelab.files import write_atomic

N_POINTS = 2000  # test images in the picture: enough for every class's cloud, few enough to see them


@torch.no_grad()
def encode_all(model: nn.Module, images: Tensor, batch_size: int = 1000) -> Tensor:
    """The codes of ``images`` as (N, d) float32 on the CPU, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        parts = [model.encode(x).flatten(1).float().cpu() for x in images.split(batch_size)]  # type: ignore[operator]
    finally:
        model.train(was_training)
    return torch.cat(parts)


def project(codes: Tensor) -> tuple[Tensor, list[float]]:
    """p = W (z − μ) for the codes' top two principal directions: (N, 2) points and the share of
    the codes' variance each direction holds. A one-dimensional code gives 0 as its second column."""
    k = min(2, codes.shape[1])
    pca = fit_pca(codes.double(), k)
    points = pca.encode(codes.double())
    total = float(codes.double().var(0).sum())
    shares = [float(v) / total if total > 0 else 0.0 for v in pca.variance]
    if k < 2:
        points = torch.cat([points, torch.zeros(len(points), 2 - k, dtype=points.dtype)], dim=1)
        shares += [0.0] * (2 - k)
    return points.float(), shares


def draw(points: Tensor, labels: Sequence[int], classes: Sequence[str], shares: list[float], title: str) -> Any:
    """A scatter of ``points`` (N, 2), one colour per class with its name in the legend (no
    classes: one colour)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    xs, ys = points[:, 0].tolist(), points[:, 1].tolist()
    found = sorted(set(labels)) if classes else []
    cmap = plt.get_cmap("tab10" if len(found) <= 10 else "tab20")
    for i, c in enumerate(found):
        mine = [k for k, label in enumerate(labels) if label == c]
        name = classes[c] if 0 <= c < len(classes) else str(c)
        color = cmap(i % cmap.N)
        ax.scatter([xs[k] for k in mine], [ys[k] for k in mine], s=5, alpha=0.6, color=color, label=name)
    if not found:
        ax.scatter(xs, ys, s=5, alpha=0.6)
    ax.set_xlabel(f"principal direction 1 ({100 * shares[0]:.0f}% of the code's variance)")
    ax.set_ylabel(f"principal direction 2 ({100 * shares[1]:.0f}%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if found:
        ax.legend(
            title="class", markerscale=3, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False
        )
    fig.tight_layout()
    return fig


def save_code_space(
    model: nn.Module, images: Tensor, labels: Tensor, classes: Sequence[str], path: str | Path, title: str = ""
) -> Path:
    """Draw the codes of (at most :data:`N_POINTS` of) ``images`` coloured by ``labels`` (indices
    into ``classes``) and write the PNG to ``path`` atomically."""
    import matplotlib.pyplot as plt

    n = min(N_POINTS, len(images))
    points, shares = project(encode_all(model, images[:n]))
    heading = title or "Code space: test images' codes, PCA to 2-D"
    fig = draw(points, labels[:n].tolist(), list(classes), shares, f"{heading} ({n} images)")
    path = Path(path)
    try:
        write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=110))
    finally:
        plt.close(fig)
    return path


__all__ = ["N_POINTS", "draw", "encode_all", "project", "save_code_space"]
