"""The trainer's fast paths give the default path's result: bf16 autocast, torch.compile, CUDA graphs."""

from __future__ import annotations

import pytest
import torch

from aelab.errors import ConfigError
from aelab.training.loop import train

FIT = ("data.limit=2000", "trainer.epochs=2", "model.width=64", "loss=bce")


def _val(metrics):
    assert metrics["status"] == "completed", metrics["error"]
    return metrics["val"]["sq_err_per_image"]


def test_bf16_autocast_matches_fp32_within_2_percent(tiny_cfg, tmp_path):
    fp32 = _val(train(tiny_cfg(*FIT), run_dir=tmp_path / "fp32"))
    bf16 = _val(train(tiny_cfg(*FIT, "trainer.precision=bf16"), run_dir=tmp_path / "bf16"))
    assert bf16 == pytest.approx(fp32, rel=0.02)
    assert bf16 != fp32  # it really ran in another precision


@pytest.mark.parametrize("kernel", ["primitive", pytest.param("unfold", marks=pytest.mark.slow)])
def test_bf16_autocast_conv_matches_fp32_within_2_percent(tiny_cfg, tmp_path, kernel):
    """The lecture conv under autocast: bf16 forward, the backward's products in bf16 against the
    fp32 input and master weights (the primitive kernel once failed here with a dtype mismatch)."""
    conv = ("model=conv", "depth=2", "model.channels=8", f"model.conv_kernel={kernel}", *FIT[:2], "loss=bce")
    fp32 = _val(train(tiny_cfg(*conv), run_dir=tmp_path / "fp32"))
    bf16 = _val(train(tiny_cfg(*conv, "trainer.precision=bf16"), run_dir=tmp_path / "bf16"))
    assert bf16 == pytest.approx(fp32, rel=0.02)
    assert bf16 != fp32


def test_cuda_graphs_without_a_gpu_is_a_clear_config_error(tiny_cfg, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the path is exercised by scripts/bench_train.py")
    with pytest.raises(ConfigError, match=r"trainer\.cuda_graphs=true needs a CUDA device"):
        train(tiny_cfg("trainer.cuda_graphs=true"), run_dir=tmp_path)
    assert not (tmp_path / "metrics.json").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")
@pytest.mark.parametrize(
    "optimizer", ["optimizer=adam", "optimizer=adam optimizer.fused=true", "optimizer=sgd optimizer.fused=true"]
)
def test_cuda_graphs_match_eager(tiny_cfg, tmp_path, optimizer):
    base = ("device=cuda", *FIT, *optimizer.split())
    eager = _val(train(tiny_cfg(*base), run_dir=tmp_path / "eager"))
    graphed = _val(train(tiny_cfg(*base, "trainer.cuda_graphs=true"), run_dir=tmp_path / "graph"))
    assert graphed == pytest.approx(eager, rel=0.02)


@pytest.mark.slow
def test_compile_matches_eager(tiny_cfg, tmp_path):
    eager = _val(train(tiny_cfg(*FIT), run_dir=tmp_path / "eager"))
    compiled = _val(train(tiny_cfg(*FIT, "trainer.compile=true"), run_dir=tmp_path / "compiled"))
    assert compiled == pytest.approx(eager, rel=0.02)
