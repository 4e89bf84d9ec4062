"""The README's Python example runs as written, and the API refuses what the CLI refuses."""

from __future__ import annotations

import re

import pytest

import aelab
from conftest import REPO


def test_the_readme_example_runs(mnist_root, tmp_path, monkeypatch, capsys):
    readme = (REPO / "README.md").read_text()
    section = readme.split("### From Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)  # outputs/runs/notebook lands here
    monkeypatch.setenv("AELAB_DATA_DIR", str(mnist_root))
    exec(compile(code, "README.md", "exec"), {})
    metrics = aelab.load_run(tmp_path / "outputs" / "runs" / "notebook").metrics
    assert metrics["status"] == "completed" and metrics["epochs_completed"] == 1
    printed = capsys.readouterr().out.split()
    assert float(printed[0]) == pytest.approx(metrics["test"]["sq_err_per_image"]) and printed[1] == "2"


def test_the_api_raises_what_the_cli_refuses(tmp_path):
    with pytest.raises(aelab.AelabError, match="depth=0 is out of range"):
        aelab.train(aelab.compose(["depth=0"]), run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert sorted(aelab.__all__) == [
        "AelabError",
        "Config",
        "Run",
        "Splits",
        "build_model",
        "compose",
        "fit_pca",
        "layer_grad_norms",
        "load_dataset",
        "load_run",
        "precision_at_k",
        "train",
    ]
    assert sorted(aelab.__all__) == sorted(aelab._API)  # every lazy name is exported, and only those
