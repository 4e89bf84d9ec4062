"""Record short runs of the code from before the ae kinds (commit ab47b68), the reference that
tests/test_ae.py holds ``ae=plain`` to bit for bit. Run with the venv of that commit:

    AELAB_DATA_DIR=... OMP_NUM_THREADS=1 python tests/data/make_plain_reference.py

One value is of a later commit: ``mlp_lecture_sigmoid``'s second ``train_loss``, the loss as the
hand-written cross-entropy (ada26b6) sums it. Its gradient, and so the weights and the test error,
are bit for bit those of ab47b68's ``F.binary_cross_entropy_with_logits``; the logged sum rounds
differently (487.6672058 against 487.6672363).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from aelab.training.checkpoint import load_checkpoint  # noqa: E402
from aelab.training.loop import train  # noqa: E402
from conftest import TINY, compose  # noqa: E402

CASES = {
    "mlp_lecture_sigmoid": ["model.width=32", "activation=sigmoid", "trainer.epochs=2", "loss=bce"],
    "mlp_torch_relu": ["model.width=32", "model.impl=torch", "trainer.epochs=2"],
    "conv_lecture_relu": ["model=conv", "model.channels=4", "trainer.epochs=1", "data.shift_augment=1"],
}


def weights_sha256(state: dict) -> str:
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].contiguous().numpy().tobytes())
    return digest.hexdigest()


def main() -> None:
    out = {"commit": "ab47b68", "overrides": [*TINY, "trainer.threads=1"], "runs": {}}
    for name, extra in CASES.items():
        cfg = compose([*TINY, "trainer.threads=1", f"data.root={os.environ['AELAB_DATA_DIR']}", *extra])
        with tempfile.TemporaryDirectory() as tmp:
            metrics = train(cfg, run_dir=f"{tmp}/run")
            state = load_checkpoint(f"{tmp}/run/checkpoints/last.pt")["model"]
        out["runs"][name] = {
            "extra": extra,
            "model_sha256": weights_sha256(state),
            "train_loss": [e["train_loss"] for e in metrics["history"]],
            "test": metrics["test"],
        }
    (HERE / "plain_reference.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
