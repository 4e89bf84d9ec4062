"""Training: ``train(cfg)`` and what it is made of — the loop (:mod:`.loop`), the step
(:mod:`.step`), optimizers and schedules (:mod:`.optim`), losses (:mod:`.losses`), checkpoints
(:mod:`.checkpoint`), the run directory (:mod:`.rundir`) and Ctrl-C handling (:mod:`.interrupt`)."""

from aelab.training.loop import read_metrics, train

__all__ = ["read_metrics", "train"]
