"""The Results tables (aelab.reports.results, aelab-results / scripts/results.py --table): collecting a
run, rendering (byte for byte against docs/RESULTS.md), the quick runs; the kinds and pretraining
tables and the document that holds all three; two writers of one table; the command line."""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from aelab.config import check, merge_overrides, to_config
from aelab.errors import ConfigError
from aelab.metrics import evaluate
from aelab.reports.results import (
    AE_METHODS,
    KINDS,
    NETWORKS,
    PRETRAINING,
    PUBLISHED,
    TABLES,
    RunSettings,
    Settings,
    checks,
    code_encoder,
    kind_overrides,
    method_overrides,
    parse_runs,
    pretrain_overrides,
    render_document,
    render_table,
    run_table,
    select_rows,
    split_document,
    train_method,
)
from aelab.runs import load_run
from aelab.training.loop import train
from conftest import REPO, compose

TINY_SETTINGS = Settings(
    quick=True,
    test_images=256,
    probe_train=500,
    probe_test=200,
    queries=200,
    database=1000,
    transfer_labels=(100,),
    transfer_epochs=1,
    transfer_min_steps=20,
    transfer_test=200,
    grid_images=4,
)


def _row_cells(markdown: str, label_start: str) -> list[str]:
    """The cells of the table row whose first cell starts with ``label_start``."""
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith(label_start):
            return cells
    raise AssertionError(f"no row {label_start!r} in:\n{markdown}")


def test_method_overrides_compose_to_valid_configs():
    for quick in (False, True):
        for name in AE_METHODS:
            cfg = to_config(compose(method_overrides(name, quick, "cpu")))
            check(cfg)
            assert cfg.model.code_dim == 30 and cfg.logging.loggers == []
            assert (cfg.data.limit is not None) == quick
    linear = to_config(compose(method_overrides("linear", False)))
    assert (linear.activation, linear.depth, linear.model.family) == ("identity", 1, "mlp")
    assert linear.model.output_activation == "identity"
    assert list(compose(method_overrides("hinton2006", False)).model.hidden) == [1000, 500, 250]
    assert compose(method_overrides("conv", False)).model.family == "conv"
    # A later value of a key replaces an earlier one (Hydra rejects a key given twice).
    assert merge_overrides(["a=1", "b=2"], ["a=3", "+c=4"]) == ["b=2", "a=3", "+c=4"]
    assert compose(method_overrides("hinton2006", True, extra=["trainer.epochs=3"])).trainer.epochs == 3


def test_parse_runs_and_select_rows_reject_bad_items(tmp_path):
    with pytest.raises(ConfigError, match="NAME=RUN_DIR"):
        parse_runs(["hinton2006"])
    with pytest.raises(ConfigError, match=r"no checkpoints/best\.pt"):
        parse_runs([f"conv={tmp_path}"])
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "best.pt").write_bytes(b"")
    assert parse_runs([f"conv={tmp_path}"]) == {"conv": tmp_path}
    main, kinds = TABLES["main"], TABLES["kinds"]
    with pytest.raises(ConfigError, match="computed here, not trained"):
        select_rows(main, None, {"pca": tmp_path})
    with pytest.raises(ConfigError, match=r"the kinds table has no row 'pca'; its rows: mlp_plain, "):
        select_rows(kinds, ["pca"])
    # --runs adds its row to those selected; the table's order, not the command line's
    assert [r.name for r in select_rows(main, ["pixels", "pca"], {"conv": tmp_path})] == ["pca", "conv", "pixels"]
    assert [r.name for r in select_rows(main, None)] == ["pca", "linear", "hinton2006", "conv", "pixels"]
    assert [r.method for r in select_rows(TABLES["pretraining"], ["relu"])] == ["pretraining_relu"]


def test_collect_a_tiny_run_and_render_the_table(tmp_path, mnist_root):
    """Train a tiny linear AE, collect it the way --runs does, check the row, grid and JSON."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is faster (and the CPU may be shared)
    try:
        run_dir = tmp_path / "tiny_linear"
        overrides = merge_overrides(
            method_overrides("linear", quick=True, device="cpu"),
            [
                "data.limit=512",
                "data.eval_limit=256",
                "trainer.epochs=1",
                "trainer.progress=false",
                f"data.root={mnist_root}",
            ],
        )
        cfg = compose(overrides)
        metrics = train(cfg, run_dir)
        assert metrics["status"] == "completed"
        # What run_table does without --runs: train_method reuses a completed run of the same config.
        again, again_dir = train_method("linear", run_dir, overrides)
        assert again_dir == run_dir
        assert again["wall_time_s"] == metrics["wall_time_s"] and again["history"] == metrics["history"]
        out = tmp_path / "report" / "RESULTS.md"
        settings = RunSettings(
            out=out,
            rows=(),
            runs=parse_runs([f"linear={run_dir}"]),
            measure=TINY_SETTINGS,
            device="cpu",
            data_root=mnist_root,
            command="pytest",
        )
        results = run_table(TABLES["main"], settings)
    finally:
        torch.set_num_threads(before)

    rows = {r["method"]: r for r in results["rows"]}
    assert list(rows) == ["linear", *(name for name, _, _ in PUBLISHED)]
    row = rows["linear"]
    assert row["error"] is None and row["source"] == "collected" and row["code_dim"] == 30
    # The best checkpoint on the first 256 test images: exactly what train() measured on them.
    assert row["test"]["sq_err_per_image"] == pytest.approx(metrics["test"]["sq_err_per_image"], rel=1e-5)
    model = load_run(run_dir).model
    assert row["test"]["sq_err_per_image"] == pytest.approx(
        evaluate(model, _test_images(mnist_root, 256))["sq_err_per_image"], rel=1e-5
    )
    assert 0.1 <= row["linear_probe_acc"] <= 1 and 0.1 <= row["p_at_10"] <= 1
    assert set(row["transfer"]) == {"100"} and all(0 <= v <= 1 for v in row["transfer"]["100"].values())
    assert (row["epochs"], row["epochs_planned"], row["status"], row["train_images"]) == (1, 1, "completed", 512)
    assert row["wall_time_s"] == metrics["wall_time_s"]
    assert (out.parent / "img" / "results_linear.png").stat().st_size > 0

    md = out.read_text()
    assert json.loads((out.parent / "results.json").read_text())["rows"] == json.loads(json.dumps(results["rows"]))
    assert row["label"] == "Linear AE 784-30-784 (linear output)"
    cells = _row_cells(md, row["label"])
    header = _row_cells(md, "Method")
    assert header[-3:] == ["Epochs", "Wall time", "Hardware"] and "Transfer 100 labels (frozen / scratch)" in header
    assert len(cells) == len(header)
    assert cells[1:3] == ["30", f"{row['test']['sq_err_per_image']:.2f}"]
    t = row["transfer"]["100"]
    assert cells[header.index("Transfer 100 labels (frozen / scratch)")] == f"{t['frozen']:.3f} / {t['scratch']:.3f}"
    assert row["epochs_preset"] == 15 and cells[header.index("Epochs")] == "1 (512 imgs; preset 15)"
    assert "img/results_linear.png" in md and "Quick smoke run" in md
    for _, label, err in PUBLISHED:
        assert _row_cells(md, label)[2] == f"{err:.2f}"


def _test_images(root, n):
    from aelab.data.load import load_dataset

    return load_dataset("mnist", root, limit=1, eval_limit=n).test_x


def test_render_partial_failed_and_unrecorded_rows():
    settings = {
        "quick": False,
        "test_images": None,
        "probe_train": None,
        "probe_test": None,
        "queries": None,
        "database": None,
        "k": 10,
        "transfer_labels": [100, 1000, None],
        "transfer_epochs": 20,
        "transfer_min_steps": 1000,
        "transfer_test": None,
        "grid_images": 16,
    }
    tr = {k: {"frozen": 0.7, "scratch": 0.76} for k in ("100", "1000", "all")}
    rows = [
        {
            "method": "pca",
            "label": "PCA-30",
            "code_dim": 30,
            "test": {"sq_err_per_image": 13.866},
            "linear_probe_acc": 0.8812,
            "p_at_10": 0.9,
            "transfer": tr,
            "epochs": "closed form",
            "wall_time_s": 3.2,
            "hardware": "AMD EPYC (2 cores)",
            "grid": "results_pca.png",
        },
        {
            "method": "linear",
            "label": "Linear AE 784-30-784 (linear output)",
            "code_dim": 30,
            "test": {"sq_err_per_image": 14.0},
            "linear_probe_acc": 0.88,
            "p_at_10": 0.9,
            "transfer": tr,
            "epochs": 15,
            "epochs_planned": 15,
            "status": "completed",
            "wall_time_s": 200.0,
            "hardware": "AMD EPYC (2 cores)",
            "grid": "results_linear.png",
        },
        {
            "method": "hinton2006",
            "label": "MLP AE",
            "code_dim": 30,
            "test": {"sq_err_per_image": 4.5},
            "epochs": 12,
            "epochs_planned": 20,
            "epochs_preset": 60,
            "status": "running",
            "wall_time_s": 5400.0,
            "hardware": "AMD EPYC (2 cores)",
            "transfer": {"100": tr["100"]},
        },
        {"method": "conv", "label": "Conv AE", "code_dim": 30, "error": "RuntimeError: boom"},
    ]
    results = {
        "title": "T",
        "mode": "full",
        "created": "now",
        "command": "x",
        "host": "h",
        "torch": "2",
        "settings": settings,
        "rows": rows,
        "total_time_s": 4000.0,
        "checks": checks(rows),
        "methods": ["pca", "linear", "hinton2006", "conv"],
    }
    md = render_table(TABLES["main"], results, Path("docs"))
    header = _row_cells(md, "Method")
    assert [h for h in header if h.startswith("Transfer")] == [
        "Transfer 100 labels (frozen / scratch)",
        "Transfer 1,000 labels (frozen / scratch)",
        "Transfer all labels (frozen / scratch)",
    ]
    pca = _row_cells(md, "PCA-30")
    assert pca[1:5] == ["30", "13.87", "0.881", "0.900"] and pca[5] == "0.700 / 0.760"
    assert pca[-3:] == ["closed form", "3 s", "AMD EPYC (2 cores)"]
    mlp = _row_cells(md, "MLP AE")
    assert mlp[-3:] == ["12 of 20 (running; preset 60)", "1.5 h", "AMD EPYC (2 cores)"] and mlp[6] == "—"
    assert "**failed**: RuntimeError: boom" in md
    assert "Linear AE / PCA error: 1.010 — within 2% of PCA." in md
    assert "PCA-30: 13.866 vs the published 13.87" in md
    assert "![PCA-30](img/results_pca.png)" in md and "Quick smoke run" not in md
    assert "## Results" in md and "## How it was measured" in md and "## Checks" in md
    assert "Not in this table: pixels" in md
    worse = checks([rows[0], {**rows[1], "test": {"sq_err_per_image": 12.0}}])
    assert worse["linear_vs_pca"]["within_2pct"] is False


@pytest.mark.slow
def test_quick_script_end_to_end(tmp_path, mnist_root):
    """``scripts/results.py --quick``: every row, PCA-30 at the published 13.87 (full test set)."""
    out = tmp_path / "RESULTS.md"
    env = {**os.environ, "AELAB_DATA_DIR": str(mnist_root), "AELAB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "scripts/results.py", "--quick", "--out", str(out), "--train-dir", str(tmp_path / "runs")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    md = out.read_text()
    pca = _row_cells(md, "PCA-30")
    assert abs(float(pca[2]) - 13.87) <= 0.01
    for label in ("Linear AE 784-30-784", "MLP AE 784-1000-500-250-30", "Conv AE", "Pixels"):
        cells = _row_cells(md, label)
        assert "failed" not in cells[0]
    for name in ("pca", *AE_METHODS):
        assert f"img/results_{name}.png" in md and (tmp_path / "img" / f"results_{name}.png").exists()
    for _, label, err in PUBLISHED:
        assert _row_cells(md, label)[2] == f"{err:.2f}"
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["mode"] == "quick"
    assert all(not math.isnan(r["test"]["sq_err_per_image"]) for r in results["rows"] if r.get("test"))
    assert re.search(r"PCA-30: 13\.8\d\d vs the published 13\.87", md)


# --- the kinds and pretraining tables ------------------------------------------------------------

TINY_TRAIN = ("data.limit=512", "data.eval_limit=256", "trainer.epochs=1", "trainer.progress=false")


def _tiny_settings(folder: Path, mnist_root: Path, **fields) -> RunSettings:
    """Quick-mode settings for tiny trainings into ``folder``/runs, RESULTS.md in ``folder``."""
    base = {
        "out": folder / "RESULTS.md",
        "quick": True,
        "measure": TINY_SETTINGS,
        "train_root": folder / "runs",
        "data_root": mnist_root,
        "device": "cpu",
        "extra_overrides": TINY_TRAIN,
    }
    return RunSettings(**{**base, **fields})


KIND_LABELS = {**{kind: kind for kind in KINDS}, "vae": "VAE"}  # how each kind's label starts


def test_kind_and_pretraining_overrides_compose_to_valid_configs():
    for quick in (False, True):
        for network, net in NETWORKS.items():
            for kind in KINDS:
                cfg = to_config(compose(kind_overrides(network, kind, quick, "cpu")))
                check(cfg)
                assert (cfg.ae.name, cfg.model.family, cfg.model.code_dim) == (kind, network, 30)
                assert cfg.trainer.epochs == (2 if quick else net.epochs) and cfg.logging.loggers == []
                # hinton2006's linear code units would override ae=sparse's logistic ones
                assert (cfg.model.code_activation == "sigmoid") == (kind == "sparse")
                assert cfg.loss.name == "bce"
        for name, row in PRETRAINING.items():
            cfg = to_config(compose(pretrain_overrides(name, quick, "cpu")))
            check(cfg)
            assert (cfg.activation, cfg.pretrain.name) == (row.activation, row.pretraining)
            assert list(cfg.model.hidden) == [1000, 500, 250] and cfg.model.code_activation == "identity"
            assert cfg.trainer.epochs == (2 if quick else 20)
            if row.pretraining == "layerwise":
                assert cfg.pretrain.epochs_per_layer == (1 if quick else 5)
    assert NETWORKS["mlp"].preset == "hinton2006" and NETWORKS["conv"].preset == "hinton2006_conv"


def test_code_encoder_is_model_encode():
    """The probe, P@k and transfer read ``model.encode``: a VAE's μ (30 of its encoder's 60 outputs)."""
    from aelab.build import build_model

    x = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for family, size in (("mlp", {"depth": 2, "width": 16}), ("conv", {"depth": 2, "channels": 2})):
        for ae in ({"name": "plain"}, {"name": "vae", "beta": 1.0}):
            model = build_model(family, ae=ae, code_dim=30, **size).eval()
            with torch.no_grad():
                code = code_encoder(model)(x)
                assert code.shape == (5, 30) and torch.equal(code, model.encode(x))
            if ae["name"] == "plain":
                assert code_encoder(model) is model.encoder  # the main table's encoder, as before
            else:
                assert model.encoder(x).shape == (5, 60)


@pytest.mark.slow  # ~37 s: both tables' whole path on tiny runs
def test_kinds_and_pretraining_tables_quick(tmp_path, mnist_root, monkeypatch):
    """Both tables in quick mode on tiny trainings, into a RESULTS.md that already holds a main
    table without its results.json: every row with the right columns, the scratch baseline once
    per network, the images, and no table dropping or changing another's sections."""
    import aelab.reports.results.table_kinds as kinds_module

    calls = []
    real_scratch = kinds_module.scratch_transfer

    def counted(encoder, code_dim, data, settings, label=""):
        calls.append(label)
        return real_scratch(encoder, code_dim, data, settings, label)

    monkeypatch.setattr(kinds_module, "scratch_transfer", counted)
    out = tmp_path / "RESULTS.md"
    docs_md = (REPO / "docs" / "RESULTS.md").read_text()
    main_text = re.split(r"\n## (?:Autoencoder kinds|Pretraining)", docs_md)[0].rstrip() + "\n"  # the main table only
    out.write_text(main_text)
    settings = _tiny_settings(tmp_path, mnist_root, command="pytest")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        kinds = run_table(TABLES["kinds"], settings)
        after_kinds = out.read_text()
        pre = run_table(TABLES["pretraining"], settings)
    finally:
        torch.set_num_threads(before)

    # --- the kinds table
    assert sorted(calls) == ["conv scratch", "mlp scratch"]  # once per network, not per kind
    rows = kinds["rows"]
    assert [(r["network"], r["kind"]) for r in rows] == [(n, k) for n in NETWORKS for k in KINDS]
    assert all(r["error"] is None for r in rows)
    for network in NETWORKS:
        scratch = kinds["scratch"][network]["accuracy"]
        assert kinds["scratch"][network]["from"] == f"{network}_plain"
        assert all(r["transfer"]["100"]["scratch"] == scratch["100"] for r in rows if r["network"] == network)
        assert (tmp_path / "img" / f"results_kinds_{network}.png").stat().st_size > 0
    for r in rows:
        assert (r["neg_elbo"] is not None) == (r["kind"] == "vae") and r["code_dim"] == 30
        assert 0 <= r["linear_probe_acc"] <= 1 and 0 <= r["p_at_10"] <= 1 and r["epochs_preset"] in (60, 30)
    md = out.read_text()
    assert md.startswith(main_text.rstrip() + "\n\n## Autoencoder kinds\n")  # the main table, as it was
    head = _kinds_header(md)
    assert head[:4] == ["Network", "Kind", "Test sq. err. / image", "Test −ELBO (nats)"]
    assert head[-3:] == ["Epochs", "Wall time", "Hardware"] and "Transfer 100 labels (frozen / scratch)" in head
    table = _table_rows(md, head)
    assert len(table) == len(NETWORKS) * len(KINDS)
    for cells, r in zip(table, rows):
        assert len(cells) == len(head) and cells[1].startswith(KIND_LABELS[r["kind"]])
        assert cells[2] == f"{r['test']['sq_err_per_image']:.2f}"
        elbo = cells[head.index("Test −ELBO (nats)")]
        assert elbo == (f"{r['neg_elbo']:.1f}" if r["kind"] == "vae" else "—")
        if r["kind"] == "vae":
            assert math.isfinite(float(elbo)) and float(elbo) > 0
        assert cells[head.index("Epochs")] == f"1 (512 imgs; preset {r['epochs_preset']})"
    assert "img/results_kinds_mlp.png" in md and "img/results_kinds_conv.png" in md
    assert "once per network" in md

    # --- the pretraining table
    prows = pre["rows"]
    assert [r["name"] for r in prows] == list(PRETRAINING) and all(r["error"] is None for r in prows)
    for r in prows:
        assert math.isfinite(r["grad_ratio"]) and r["grad_ratio"] > 0
        assert len(r["grad_norms_init"]) == 8 and (tmp_path / "img" / r["grid"]).stat().st_size > 0
        assert (r["pretrain_time_s"] is not None) == (r["pretraining"] == "layerwise")
    by = {r["name"]: r for r in prows}
    assert [s["layer"] for s in by["sigmoid_layerwise"]["pretrain_stages"]] == ["01_enc", "02_enc", "03_enc", "50_code"]
    md = out.read_text()
    assert md.startswith(after_kinds.rstrip() + "\n\n## Pretraining and the gradient")  # the others, as they were
    for r in prows:
        cells = _row_cells(md, r["label"])
        assert len(cells) == 8 and cells[1] == f"{r['test']['sq_err_per_image']:.2f}"
        assert math.isfinite(float(cells[2])) and len(cells[3].split(" · ")) == 8
        if r["pretraining"] == "layerwise":
            assert cells[4].startswith("4 layers × 1 epoch, ")
        else:
            assert cells[4] == "none"
        assert f"img/results_pretraining_{r['name']}.png" in md
    # Rendering again from the JSON files (and the main part of the file) gives the same document.
    assert render_document(tmp_path, md) == md
    assert set(split_document(md)) == {"main", "kinds", "pretraining"}


def _kinds_header(md: str) -> list[str]:
    return _row_cells(md, "Network")


def _table_rows(md: str, head: list[str]) -> list[list[str]]:
    """The body rows of the table whose header is ``head``."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if [c.strip() for c in line.strip("|").split("|")] == head)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


@pytest.mark.parametrize("table", list(TABLES))
def test_each_table_of_docs_results_md_renders_byte_for_byte_from_its_json(table):
    """Each table's part of the committed docs/RESULTS.md is exactly what its committed JSON file
    renders to: what a reader sees does not depend on how the harness is put together."""
    spec = TABLES[table]
    results = json.loads((REPO / "docs" / spec.file).read_text(encoding="utf-8"))
    part = split_document((REPO / "docs" / "RESULTS.md").read_text(encoding="utf-8"))[table]
    assert render_table(spec, results, REPO / "docs") == part
    assert part.count("\n| ") >= 3  # a header and rows: a part that is a table, not an empty string


def test_docs_results_md_is_its_json_files_rendered():
    """docs/RESULTS.md is what its JSON files render to (the main table's part kept where its
    results.json is missing): regenerating one table leaves the others as they are."""
    text = (REPO / "docs" / "RESULTS.md").read_text()
    assert render_document(REPO / "docs", text) == text
    assert render_document(REPO / "docs") == text  # from the JSON files alone
    assert "## Results" in split_document(text)["main"]


@pytest.mark.slow
@pytest.mark.parametrize("table", ["kinds", "pretraining"])
def test_quick_table_script_end_to_end(tmp_path, mnist_root, table):
    """``scripts/results.py --table kinds|pretraining --quick``: every row, none failed."""
    out = tmp_path / "RESULTS.md"
    env = {**os.environ, "AELAB_DATA_DIR": str(mnist_root), "AELAB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "scripts/results.py", "--table", table, "--quick", "--out", str(out)]
        + ["--train-dir", str(tmp_path / "runs")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / f"results_{table}.json").read_text())
    assert results["mode"] == "quick" and all(r["error"] is None for r in results["rows"])
    md = out.read_text()
    assert "failed" not in md and "Quick smoke run" in md
    assert len(results["rows"]) == (len(NETWORKS) * len(KINDS) if table == "kinds" else len(PRETRAINING))


def test_a_table_keeps_its_other_rows_stops_on_an_interruption_and_refuses_a_corrupt_file(
    tmp_path, mnist_root, monkeypatch
):
    """Measuring some rows of a table keeps the others (and a row that fails now keeps its earlier
    measurement); an interrupted training stops the whole table with the rows so far written; a
    table file that cannot be read is refused before anything is trained, and left as it was."""
    import aelab.reports.results.runner as runner_module
    import aelab.reports.results.table_pretraining as pretraining_module
    from aelab.errors import CorruptFileError
    from aelab.reports.results import TableInterrupted

    out = tmp_path / "RESULTS.md"
    path = tmp_path / "results_pretraining.json"
    spec = TABLES["pretraining"]

    def run(rows, command):
        return run_table(spec, _tiny_settings(tmp_path, mnist_root, rows=rows, command=command))

    def rows():
        return {r["name"]: r for r in json.loads(path.read_text())["rows"]}

    first = run(("sigmoid", "relu"), "first")
    assert [r["name"] for r in first["rows"]] == ["sigmoid", "relu"] and first["failed"] == []
    before = rows()

    second = run(("sigmoid_layerwise",), "second")
    assert [r["name"] for r in second["rows"]] == ["sigmoid", "sigmoid_layerwise", "relu"]
    after = rows()
    assert after["sigmoid"] == before["sigmoid"] and after["relu"] == before["relu"]  # kept as they were
    assert "Kept from" in out.read_text() and "(`first`): pretraining_sigmoid, pretraining_relu" in out.read_text()

    real_row = pretraining_module.run_row

    def broken(method, *args, **kwargs):
        if method == "pretraining_relu":
            raise RuntimeError("measurement broke")
        return real_row(method, *args, **kwargs)

    monkeypatch.setattr(pretraining_module, "run_row", broken)
    third = run(("relu",), "third")
    assert third["failed"] == ["pretraining_relu"] and rows()["relu"] == before["relu"]  # the good row stays
    monkeypatch.setattr(pretraining_module, "run_row", real_row)

    real_train = runner_module.train

    def interrupted(cfg, run_dir):
        if Path(run_dir).name == "relu":
            return {"status": "interrupted", "error": None}
        return real_train(cfg, run_dir)

    monkeypatch.setattr(runner_module, "train", interrupted)
    with pytest.raises(TableInterrupted, match=r"training pretraining_relu was interrupted"):
        run(("sigmoid", "relu"), "fourth")
    kept = rows()
    assert kept["sigmoid"]["measured"]["command"] == "fourth"  # written before relu began
    assert kept["relu"] == before["relu"] and kept["sigmoid_layerwise"] == after["sigmoid_layerwise"]

    path.write_text("{ not json")
    trained = []
    monkeypatch.setattr(runner_module, "train", lambda cfg, run_dir: trained.append(run_dir))
    with pytest.raises(CorruptFileError, match=r"results_pretraining\.json cannot be read"):
        run(("relu",), "fifth")
    assert trained == [] and path.read_text() == "{ not json"


# --- two writers of one table, the command line ---------------------------------------------------

# A writer of tests/test_results.py::test_two_writers_on_one_table_keep_both_rows: measures one
# made-up row per table (no data, no training) and pauses as the test says: writer A holding the
# folder's lock between reading the table and writing it, writer B just before taking the lock.
WRITER = r"""
import dataclasses, logging, sys, time
from pathlib import Path

import aelab.reports.results.runner as runner
import aelab.reports.results.store as store
from aelab.reports.results import TABLES, RunSettings, Settings
from aelab.reports.results.rows import make_row

role, sync, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
rows = [item.split(":") for item in sys.argv[4:]]
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")


def wait_for(path):
    deadline = time.monotonic() + 120
    while not path.exists():
        if time.monotonic() > deadline:
            sys.exit(f"writer {role}: no {path.name} after 120 s")
        time.sleep(0.01)


state = {}


class PausingLock(store.FolderLock):
    def __enter__(self):
        first, state["locked"] = not state.get("locked"), True
        if first and role == "B":
            wait_for(sync / f"b_go_{state['table']}")
        held = super().__enter__()
        state["pause"] = first and role == "A"
        return held


def pausing_read(path, real=store.read_table):
    table = real(path)
    if state.pop("pause", False):  # A, in its first commit: the table is read, not yet written
        (sync / f"a_inside_{state['table']}").touch()
        wait_for(sync / f"a_go_{state['table']}")
    return table


def made_up(ctx, spec, row):
    out = make_row(row.method, row.label, "computed", 30, test={"sq_err_per_image": 1.5})
    out.update(row.fields)
    return out


store.FolderLock = PausingLock
store.read_table = pausing_read
runner.measure_row = made_up
runner.EvalData = type("NoData", (), {"load": staticmethod(lambda root, device: None)})
previous = None
for table, name in rows:
    if role == "A" and previous:  # the next table only once B is done with this one (B waits on A's lock)
        wait_for(sync / f"b_done_{previous}")
    state.clear()
    state["table"] = table
    spec = dataclasses.replace(TABLES[table], start_group=None, end_group=None)
    runner.run_table(spec, RunSettings(out=out, rows=(name,), measure=Settings(), command=f"writer {role}"))
    (sync / f"{role.lower()}_done_{table}").touch()
    previous = table
"""


def _wait(condition, what: str, procs: dict, timeout: float = 120) -> None:
    """Wait for ``condition()``; fail at once if a writer died, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        dead = {role: p.returncode for role, p in procs.items() if p.poll() not in (None, 0)}
        assert not dead and time.monotonic() < deadline, f"waiting for {what}: writers ended {dead}"
        time.sleep(0.02)


def test_two_writers_on_one_table_keep_both_rows(tmp_path):
    """Two runs writing different rows of one table at once both keep their rows, in every table
    file and in RESULTS.md: writer B commits while writer A holds the folder's lock between its
    read and its write; B waits for it, then merges into what A wrote."""
    sync, out = tmp_path / "sync", tmp_path / "docs" / "RESULTS.md"
    sync.mkdir()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rows = {"A": ["main:pca", "kinds:mlp_plain", "pretraining:sigmoid", "datasets:digits8_pca"]}
    rows["B"] = ["main:pixels", "kinds:conv_vae", "pretraining:relu", "datasets:patches_pca"]
    logs = {role: tmp_path / f"{role}.log" for role in rows}
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    procs = {}
    for role, items in rows.items():
        with logs[role].open("w") as log:
            cmd = [sys.executable, str(script), role, str(sync), str(out), *items]
            procs[role] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        for table in TABLES:
            _wait((sync / f"a_inside_{table}").exists, f"A to hold the lock ({table})", procs)
            seen = logs["B"].read_text().count("waiting for")
            (sync / f"b_go_{table}").touch()
            # B waits for the lock A holds (or, were there no lock, writes at once: then A's write loses its row)
            _wait(
                lambda t=table, n=seen: (
                    logs["B"].read_text().count("waiting for") > n or (sync / f"b_done_{t}").exists()
                ),
                f"B to wait for the lock ({table})",
                procs,
            )
            (sync / f"a_go_{table}").touch()
            _wait(lambda t=table: all((sync / f"{r}_done_{t}").exists() for r in "ab"), f"{table} done", procs)
        for role, p in procs.items():
            assert p.wait(timeout=60) == 0, logs[role].read_text()[-3000:]
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
    md = out.read_text()
    for table, spec in TABLES.items():
        results = json.loads((out.parent / spec.file).read_text())
        ours = [r for r in results["rows"] if r["source"] != "published"]
        expected = [spec.row(item.split(":")[1]) for role in "AB" for item in rows[role] if item.startswith(table)]
        assert sorted(r["method"] for r in ours) == sorted(r.method for r in expected)
        assert {r["measured"]["command"] for r in ours} == {"writer A", "writer B"}
        part = split_document(md)[table]
        assert all(f"| {r.label} |" in part or f"| {r.label} " in part for r in expected), part
        assert "Kept from" in part  # the last writer's table names the other writer's row
    assert not (out.parent / ".results.lock").exists()  # no stray lock file in a tracked folder
    assert "waiting for" in logs["B"].read_text() and f"pid {procs['A'].pid}" in logs["B"].read_text()


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_quick_without_out_writes_under_outputs_and_leaves_docs_alone(tmp_path, mnist_root, monkeypatch, capsys):
    """``aelab-results --quick`` (no --out) writes outputs/results_quick/, never docs/: a checkout's
    docs/ is byte for byte what it was."""
    from aelab.cli.results import main

    work = tmp_path / "checkout"
    (work / "docs").mkdir(parents=True)
    for name in ("RESULTS.md", *(spec.file for spec in TABLES.values())):
        (work / "docs" / name).write_bytes((REPO / "docs" / name).read_bytes())
    docs_before, repo_docs_before = _tree(work / "docs"), _tree(REPO / "docs")
    monkeypatch.chdir(work)
    threads = torch.get_num_threads()
    try:
        rc = main(["--quick", "--rows", "pixels", "--data-root", str(mnist_root), "--device", "cpu"])
    finally:
        torch.set_num_threads(threads)
    assert rc == 0, capsys.readouterr().err[-2000:]
    assert _tree(work / "docs") == docs_before and _tree(REPO / "docs") == repo_docs_before
    quick = work / "outputs" / "results_quick"
    results = json.loads((quick / "results.json").read_text())
    assert results["mode"] == "quick" and [r["method"] for r in results["rows"] if r["source"] != "published"] == [
        "pixels"
    ]
    md = (quick / "RESULTS.md").read_text()
    assert "Quick smoke run" in md and "| Pixels (no code) | 784 |" in md
    assert "results: outputs/results_quick/RESULTS.md" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--table", "kinds", "--methods", "pca"], "Error: --methods: not an option of --table kinds"),
        (["--networks", "mlp"], "Error: --networks: not an option of --table main"),
        (["--table", "pretraining", "--rows", "tanh"], "Error: the pretraining table has no row 'tanh'; its rows: "),
        (["--runs", "hinton2006"], "Error: --runs takes NAME=RUN_DIR, got 'hinton2006'"),
        (["--hardware", "conv"], "Error: --hardware takes NAME=TEXT"),
    ],
)
def test_cli_refuses_bad_options_in_one_line_and_creates_nothing(tmp_path, monkeypatch, capsys, argv, message):
    from aelab.cli.results import main

    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and "\n" not in err
    assert list(tmp_path.iterdir()) == []


def test_cli_rows_options_select_the_rows():
    from aelab.cli.results import _parser, selected_rows

    def rows(*argv):
        return selected_rows(_parser().parse_args(argv))

    assert rows() is None and rows("--table", "kinds") is None
    assert rows("--methods", "pca", "conv") == ("pca", "conv")
    assert rows("--table", "kinds", "--networks", "conv") == tuple(f"conv_{k}" for k in KINDS)
    assert rows("--table", "kinds", "--kinds", "vae") == ("mlp_vae", "conv_vae")
    assert rows("--table", "pretraining", "--rows", "relu") == ("relu",)


def test_reports_and_cli_imports_point_one_way():
    """No import circle among src/aelab/reports and src/aelab/cli: every import points down."""
    src = REPO / "src"
    files = [*(src / "aelab" / "reports").rglob("*.py"), *(src / "aelab" / "cli").rglob("*.py")]
    modules = {}
    for path in files:
        parts = list(path.relative_to(src).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                    for a in node.names
                ]
            else:
                continue
            edges[name] |= {t for t in targets if t in modules and t != name}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        assert name not in path, f"import circle: {' -> '.join([*path[path.index(name) :], name])}"
        if name not in done:
            for target in sorted(edges[name]):
                visit(target, [*path, name])
            done.add(name)

    for name in sorted(modules):
        visit(name, [])
    assert "aelab.reports.results.cli" not in modules  # one command line: aelab.cli.results


def test_folder_lock_is_exclusive_says_who_holds_it_and_leaves_no_file(tmp_path):
    """A second holder (another open file, as another process has) waits, and after ``wait_s`` is
    refused in one line naming the holder's pid; letting go removes the lock file."""
    from aelab.errors import RunDirError
    from aelab.reports.results.lock import LOCK, FolderLock

    with FolderLock(tmp_path):
        assert (tmp_path / LOCK).read_text().strip() == str(os.getpid())
        start = time.monotonic()
        with pytest.raises(RunDirError, match=rf"{LOCK} is held by pid {os.getpid()} for over 0.3 s"):
            FolderLock(tmp_path, wait_s=0.3).__enter__()
        assert time.monotonic() - start >= 0.3
    assert list(tmp_path.iterdir()) == []
    with FolderLock(tmp_path):  # free again
        assert (tmp_path / LOCK).exists()
