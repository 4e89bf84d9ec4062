"""Record runs of the code before ae kinds existed (commit ab47b68): the ae=plain bit-for-bit reference."""
import hashlib, json, sys, tempfile
import torch
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from conftest import TINY, compose
from aelab.training import train
from aelab.training.checkpoint import load_checkpoint

CASES = {
    "mlp_lecture_sigmoid": ["model.width=32", "activation=sigmoid", "trainer.epochs=2", "loss=bce"],
    "mlp_torch_relu": ["model.width=32", "model.impl=torch", "trainer.epochs=2"],
    "conv_lecture_relu": ["model=conv", "model.channels=4", "trainer.epochs=1", "data.shift_augment=1"],
}
out = {"commit": "ab47b68", "overrides": TINY + ["trainer.threads=1"], "runs": {}}
for name, extra in CASES.items():
    cfg = compose([*TINY, "trainer.threads=1", f"data.root={__import__('os').environ['AELAB_DATA_DIR']}", *extra])
    with tempfile.TemporaryDirectory() as d:
        m = train(cfg, run_dir=d + "/run")
        state = load_checkpoint(d + "/run/checkpoints/last.pt")["model"]
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode()); h.update(state[k].contiguous().numpy().tobytes())
    out["runs"][name] = {
        "extra": extra,
        "model_sha256": h.hexdigest(),
        "train_loss": [e["train_loss"] for e in m["history"]],
        "test": m["test"],
    }
    print(name, out["runs"][name]["train_loss"], m["test"]["sq_err_per_image"])
json.dump(out, open(__import__("pathlib").Path(__file__).with_name("plain_reference.json"), "w"), indent=1)
