"""The images TensorBoard shows of a model: a fixed, varied set of test images above their
reconstructions, and the decodings along the line between two test images' codes."""

from __future__ import annotations

import torch
from torch import Tensor

from aelab.models.base import Autoencoder

INTERPOLATION_STEPS = 10


def pick_by_class(labels: Tensor, n: int) -> list[int]:
    """Indices of ``n`` images cycling through the classes 0, 1, …, 0, 1, … (first occurrences
    first): a fixed, varied set. Unlabelled data (one class) gives the first ``n``."""
    labels = labels.cpu()
    n_classes = int(labels.max()) + 1 if len(labels) else 0
    per_class = [(labels == d).nonzero().flatten().tolist() for d in range(n_classes)]
    picked: list[int] = []
    for k in range(max((len(p) for p in per_class), default=0)):
        picked += [p[k] for p in per_class if k < len(p)]
        if len(picked) >= n:
            break
    return picked[:n]


def interpolation_ends(labels: Tensor, n_classes: int) -> list[int]:
    """Two test images to interpolate between: the first of two classes that lie far apart in the
    class list (3 and 8 of ten), or the first two images when the dataset has fewer than two classes."""
    labels = labels.cpu()
    if n_classes < 2:
        return [0, min(1, len(labels) - 1)]
    wanted = (round(0.3 * (n_classes - 1)), round(0.9 * (n_classes - 1)))
    return [int((labels == c).nonzero()[0]) if (labels == c).any() else i for i, c in enumerate(wanted)]


@torch.no_grad()
def class_rows(labels: list[int], classes: tuple[str, ...]) -> list[list[str]] | None:
    """The projector's metadata: each point's class index and name, two columns its "Color by"
    offers; ``None`` for an unlabelled dataset (no classes: every point the same, nothing to colour by)."""
    if not classes:
        return None
    return [[str(c), classes[c] if 0 <= c < len(classes) else str(c)] for c in labels]


def interpolation_row(model: Autoencoder, ends: Tensor, value_range: tuple[float, float] | None = (0.0, 1.0)) -> Tensor:
    """One row: image A, decodings of (1 − t)·code(A) + t·code(B) for 10 t from 0 to 1, image B
    (real values on one scale: :func:`aelab.images.shown`)."""
    from torchvision.utils import make_grid

    from aelab.images import enlarged, shown

    codes = model.encode(ends)
    t = torch.linspace(0, 1, INTERPOLATION_STEPS, device=codes.device, dtype=codes.dtype)
    t = t.reshape(-1, *([1] * (codes.dim() - 1)))
    path = (1 - t) * codes[:1] + t * codes[1:2]
    decoded = model.decode(path).float()
    row = torch.cat([ends[:1].float(), decoded, ends[1:2].float()]).cpu()
    scale = torch.full_like(row, float(ends.float().abs().max()))  # one scale for the whole row
    return make_grid(enlarged(shown(row, value_range, like=scale)), nrow=len(row), padding=2, pad_value=1.0)


__all__ = ["INTERPOLATION_STEPS", "class_rows", "interpolation_ends", "interpolation_row", "pick_by_class"]
