"""Single runs compared in one report (``aelab-report RUN_A RUN_B``) and the code space a run's
evaluation and reports draw (``codes.png``)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch

from aelab.cli.report import main as report
from aelab.codespace import project
from aelab.training.loop import train

RUN = ("data.limit=512", "data.eval_limit=256", "trainer.epochs=1", "depth=2", "model.width=32")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, mnist_root) -> tuple[Path, Path]:
    """Two tiny runs that differ in their activation and their seed."""
    from conftest import compose

    root = tmp_path_factory.mktemp("runs")
    for name, extra in (("relu_run", ["activation=relu"]), ("sigmoid_run", ["activation=sigmoid", "seed=3"])):
        config = compose([*RUN, "device=cpu", "trainer.progress=false", f"data.root={mnist_root}", *extra])
        assert train(config, run_dir=root / name)["status"] == "completed"
    return root / "relu_run", root / "sigmoid_run"


def test_two_runs_in_one_report_name_both_and_what_differs(two_runs, tmp_path, capsys):
    a, b = two_runs
    out = tmp_path / "cmp"
    assert report([str(a), str(b), "--out", str(out)]) == 0
    assert "2 runs: 2 completed" in capsys.readouterr().out
    md = (out / "report.md").read_text()
    assert md.startswith("# Runs compared: relu_run, sigmoid_run")
    assert "| key | relu_run | sigmoid_run |" in md
    assert "| `activation` | relu | sigmoid |" in md and "| `seed` | 0 | 3 |" in md
    assert "`model.activation`" not in md  # follows the top-level key
    assert "`data.limit`" not in md  # the same in both
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [(r["activation"], r["seed"], r["status"]) for r in rows] == [
        ("relu", "0", "completed"),
        ("sigmoid", "3", "completed"),
    ]
    for row, run in zip(rows, two_runs):
        metrics = json.loads((run / "metrics.json").read_text())
        assert float(row["test_sq_err_per_image"]) == pytest.approx(metrics["test"]["sq_err_per_image"])
        assert f"| {run.name} | completed | {metrics['val']['sq_err_per_image']:.2f} |" in md
    for png in (
        "learning_curves",
        "gradflow",
        "recon_relu_run",
        "recon_sigmoid_run",
        "features_relu_run",
        "features_sigmoid_run",
        "codes_relu_run",
        "codes_sigmoid_run",
    ):
        assert (out / "report_files" / f"{png}.png").read_bytes()[:4] == b"\x89PNG", png
        assert f"report_files/{png}.png" in md
    assert "data:image/png;base64," in (out / "report.html").read_text()


def test_a_directory_without_a_run_is_one_error_line_and_writes_nothing(two_runs, tmp_path, capsys):
    a, _ = two_runs
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "cmp"
    assert report([str(a), str(empty), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"Error: {empty}: no run here (no checkpoints/last.pt or metrics.json); aelab-report compares run "
        "directories, or reports one sweep directory alone"
    )
    assert not out.exists()
    assert report([str(a), str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"Error: {tmp_path / 'missing'}: no such directory"
    assert report([str(a), str(a), "--out", str(a)]) == 2  # never over a run's own files
    assert "holds a run or a sweep" in capsys.readouterr().err
    assert not (a / "report.md").exists()


def test_evaluate_writes_the_code_space(two_runs, tmp_path, capsys):
    from aelab.cli.evaluate import main as evaluate

    a, _ = two_runs
    assert evaluate([str(a), "--device", "cpu", "--out", str(tmp_path)]) == 0
    assert f"code space: {tmp_path / 'codes.png'}" in capsys.readouterr().out
    png = (tmp_path / "codes.png").read_bytes()
    assert png[:4] == b"\x89PNG" and int.from_bytes(png[16:20], "big") > 400  # a figure, not an empty file


def test_the_projection_keeps_the_two_widest_directions_and_their_share():
    """Codes spread 3 : 2 : 1 (std) along three axes: PCA keeps the first two, with 9/14 and 4/14
    of the variance, and the picture's coordinates are the codes' own along them."""
    torch.manual_seed(0)
    base = torch.randn(4000, 3)
    base = (base - base.mean(0)) / base.std(0)
    codes = base * torch.tensor([3.0, 2.0, 1.0])
    points, shares = project(codes)
    assert shares == pytest.approx([9 / 14, 4 / 14], abs=0.02)
    for k in range(2):
        corr = torch.corrcoef(torch.stack([points[:, k], codes[:, k]]))[0, 1]
        assert abs(float(corr)) > 0.99
    one, one_shares = project(codes[:, :1])
    assert one.shape == (4000, 2) and one[:, 1].abs().max() == 0 and one_shares == pytest.approx([1.0, 0.0])
    assert math.isclose(sum(shares), 13 / 14, abs_tol=0.02)


def test_runs_of_the_same_name_get_their_parent_folders_and_distinct_file_names(tmp_path):
    from aelab.reports.sweep.compare import file_keys, run_labels

    paths = [tmp_path / "lr=0.1" / "run", tmp_path / "lr 1" / "run", tmp_path / "other"]
    labels = run_labels(paths)
    assert labels == ["lr=0.1/run", "lr 1/run", "other"]
    assert file_keys(labels) == ["lr=0.1_run", "lr_1_run", "other"]
    assert file_keys(["a/b", "a_b"]) == ["0_a_b", "1_a_b"]  # would meet: their place in front


def test_the_code_space_has_one_colour_per_class_and_one_for_an_unlabelled_set():
    from aelab.codespace import draw

    points = torch.randn(30, 2)
    labels = [i % 3 for i in range(30)]
    fig = draw(points, labels, ("zero", "one", "two"), [0.5, 0.2], "labelled")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["zero", "one", "two"]
    assert [len(c.get_offsets()) for c in ax.collections] == [10, 10, 10]
    fig = draw(points, [0] * 30, (), [0.5, 0.2], "unlabelled")
    ax = fig.axes[0]
    assert ax.get_legend() is None and [len(c.get_offsets()) for c in ax.collections] == [30]


def test_an_unlabelled_run_has_its_projector_codes_and_code_space_without_classes(tmp_path, capsys):
    """data=patches has no classes: the projector gets the codes without metadata (nothing to colour
    by), and the comparison report and aelab-evaluate draw its code space in one colour."""
    from aelab.cli.evaluate import main as evaluate
    from conftest import compose

    overrides = ["data=patches", "data.patch_size=8", "data.limit=256", "data.eval_limit=64", "depth=2"]
    overrides += ["model.width=16", "model.code_dim=4", "trainer.epochs=1", "device=cpu", "trainer.progress=false"]
    overrides += ["logging.loggers=[tensorboard]", "logging.histograms=false", "logging.n_projector=8"]
    run = tmp_path / "patch_run"
    assert train(compose(overrides), run_dir=run)["status"] == "completed"
    (codes,) = (run / "tb").glob("*/codes/tensors.tsv")
    assert len(codes.read_text().splitlines()) == 8 and not (codes.parent / "metadata.tsv").exists()
    assert "metadata_path" not in (run / "tb" / "projector_config.pbtxt").read_text()
    assert report([str(run), "--out", str(tmp_path / "cmp")]) == 0
    md = (tmp_path / "cmp" / "report.md").read_text()
    assert "![code space of patch_run](report_files/codes_patch_run.png)" in md and "not drawn" not in md
    assert evaluate([str(run), "--device", "cpu", "--out", str(tmp_path / "eval")]) == 0
    assert (tmp_path / "eval" / "codes.png").read_bytes()[:4] == b"\x89PNG"
