"""The tags TensorBoard shows for the values the loggers measure, in the order of the lesson.

TensorBoard's TIME SERIES groups cards by the text before a tag's first ``/`` and sorts the groups
by their tags (digits before letters, numbers by value), so the group names carry the reading
order: the loss first, then the gradient ladder (‖∂E/∂W‖ per layer), then what explains it::

    1_loss/                     train, train_epoch, val, and a kind's terms (recon, penalty, kl)
    2_grad_norm_log10/<layer>   log10 ‖∂E/∂W^(l)‖ on every logging step
    3_delta_norm_log10/<layer>  log10 ‖δ^(l)‖, δ = g ⊙ φ'(z)
    4_saturation/<layer>        the saturated or dead-unit fraction
    5_weight_norm_log10/<layer> log10 ‖W^(l)‖
    6_grad_norm_probe_log10/    log10 ‖∂E/∂W^(l)‖ on the fixed probe batch, per epoch

then ``hparam/``, ``images/``, ``lr``, ``metric/``, ``perf/``, ``sweep/`` and a kind's own tags.
The norms span orders of magnitude across layers and runs (sigmoid at depth 8: 10⁻⁹ at the first
layer), so TensorBoard gets only their log10: a linear card squeezes all but the largest runs onto
zero. metrics.csv and MLflow keep the measured names and the plain values (``grad_norm/<layer>``);
this module is the one place that turns one into the other, for the logger and for whatever reads
the event files back.
"""

from __future__ import annotations

import math

LOSS_GROUP = "1_loss"
LOG10_GROUPS = {  # measured name → the TensorBoard group of its log10
    "grad_norm": "2_grad_norm_log10",
    "delta_norm": "3_delta_norm_log10",
    "weight_norm": "5_weight_norm_log10",
    "grad_norm_probe": "6_grad_norm_probe_log10",
}
PLAIN_GROUPS = {"loss": LOSS_GROUP, "saturation": "4_saturation"}  # measured name → its TensorBoard group


def tb_scalar(name: str, value: float) -> tuple[str, float] | None:
    """The TensorBoard tag and value of a measured ``name`` (``loss/train``, ``grad_norm/01_enc``):
    a norm as its log10 (None for a norm that is 0 or not finite: no point on a log scale)."""
    group, sep, rest = name.partition("/")
    if sep and group in LOG10_GROUPS:
        return (f"{LOG10_GROUPS[group]}/{rest}", math.log10(value)) if math.isfinite(value) and value > 0 else None
    if sep and group in PLAIN_GROUPS:
        return f"{PLAIN_GROUPS[group]}/{rest}", value
    return name, value


def tb_tag(name: str) -> str:
    """The TensorBoard tag of a measured ``name`` (``grad_norm/01_enc`` → ``2_grad_norm_log10/01_enc``)."""
    group, sep, rest = name.partition("/")
    renamed = LOG10_GROUPS.get(group) or PLAIN_GROUPS.get(group) if sep else None
    return f"{renamed}/{rest}" if renamed else name


def is_log10(tag: str) -> bool:
    """Whether TensorBoard's ``tag`` holds the log10 of the measured value."""
    return tag.partition("/")[0] in LOG10_GROUPS.values()


__all__ = ["LOG10_GROUPS", "LOSS_GROUP", "PLAIN_GROUPS", "is_log10", "tb_scalar", "tb_tag"]
