"""Sweeps end to end through the real CLI: launchers, the report, failures, missing jobs, skip_done.

Every sweep here trains seconds-long models (256 images, 1 epoch, width 16) in a subprocess,
exactly as `python scripts/train.py -m ...` does.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import REPO

TINY = [
    "data.limit=256",
    "data.eval_limit=128",
    "trainer.epochs=1",
    "trainer.batch_size=64",
    "model.width=16",
    "logging=off",
    "trainer.progress=false",
    "device=cpu",
]


def _env() -> dict[str, str]:
    return {**os.environ, "AELAB_OFFLINE": "1", "MPLBACKEND": "Agg"}


def run_sweep(sweep_dir: Path, mnist_root: Path, *overrides: str, timeout: int = 240) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "scripts/train.py",
        "-m",
        *TINY,
        f"data.root={mnist_root}",
        f"hydra.sweep.dir={sweep_dir}",
        *overrides,
    ]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=_env())
    assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


def run_report(sweep_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/report.py", str(sweep_dir), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )


JOB_DIRS = [
    "00_activation=relu,depth=1",
    "01_activation=relu,depth=2",
    "02_activation=sigmoid,depth=1",
    "03_activation=sigmoid,depth=2",
]  # the grid sweep's job dirs, named by what they sweep


def results(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory, mnist_root) -> Path:
    """A real 2 x 2 sweep (activation x depth) on the joblib launcher, two jobs at a time."""
    sweep_dir = tmp_path_factory.mktemp("grid") / "sweep"
    run_sweep(sweep_dir, mnist_root, "hydra/launcher=joblib", "activation=relu,sigmoid", "depth=1,2")
    return sweep_dir


# --- configs ----------------------------------------------------------------------------------


def _hydra_cfg(*overrides: str):
    from aelab.config import compose

    return compose(list(overrides), return_hydra_config=True)


@pytest.mark.filterwarnings("ignore:(?s).*validated against ConfigStore schema")  # same-named on purpose
@pytest.mark.parametrize(
    "launcher, target",
    [
        ("joblib", "hydra_plugins.aelab_launchers.ProcessLauncher"),
        ("submitit_local", "hydra_plugins.aelab_launchers.SubmititLocalLauncher"),
        ("submitit_slurm", "hydra_plugins.aelab_launchers.SubmititSlurmLauncher"),
    ],
)
def test_launcher_configs_compose(launcher, target):
    cfg = _hydra_cfg(f"hydra/launcher={launcher}")
    assert cfg.hydra.launcher._target_ == target
    if launcher == "joblib":
        assert cfg.hydra.launcher.n_jobs == 2
    if launcher == "submitit_slurm":
        for key in ("partition", "gpus_per_node", "timeout_min", "mem_gb", "cpus_per_task"):
            assert key in cfg.hydra.launcher


def test_optuna_search_and_sweep_presets_compose():
    cfg = _hydra_cfg("hparams_search=optuna")
    assert "OptunaSweeper" in cfg.hydra.sweeper._target_ and cfg.hydra.sweeper.direction == "minimize"
    assert "optimizer.lr" in cfg.hydra.sweeper.params and cfg.hydra.sweeper.n_trials == 20
    full = _hydra_cfg("experiment=sweep_activation_depth").hydra.sweeper.params
    assert (full.activation, full.depth, full.seed) == ("relu,sigmoid,softplus,tanh", "1,2,4,8", "0,1,2")
    quick = _hydra_cfg("experiment=sweep_activation_depth_quick")
    assert "seed" not in quick.hydra.sweeper.params and quick.trainer.epochs == 3
    assert (quick.data.limit, quick.data.eval_limit, quick.model.width) == (5000, 2000, 128)
    assert quick.hydra.callbacks.report._target_ == "aelab.reports.sweep.callback.ReportCallback"


# --- sweeps -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def logged_sweep(tmp_path_factory, mnist_root) -> Path:
    """The same 2 x 2 grid with TensorBoard on (no histograms or projector: scalars, layout, hparams)."""
    sweep_dir = tmp_path_factory.mktemp("logged") / "sweep"
    run_sweep(
        sweep_dir,
        mnist_root,
        "hydra/launcher=joblib",
        "activation=relu,sigmoid",
        "depth=1,2",
        "logging=default",
        "logging.histograms=false",
        "logging.projector=false",
        "logging.images=false",
        "hydra.callbacks.report.recon=false",
    )
    return sweep_dir


def _events(tb_dir: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_a_sweep_in_tensorboard_is_named_ordered_and_grouped(logged_sweep):
    """TensorBoard's runs are the job dirs (named by their overrides); HPARAMS lists the swept keys
    first with their values as discrete domains; the sweep-level gradient-flow charts draw one line per
    run of each swept value."""
    from tensorboard.plugins.custom_scalar import layout_pb2
    from tensorboard.plugins.hparams import api_pb2, metadata

    runs = {p.parent.parent.name: _events(p.parent) for p in sorted(logged_sweep.glob("*/tb/events.out.tfevents.*"))}
    assert list(runs) == JOB_DIRS
    experiments = [
        metadata.parse_experiment_plugin_data(acc.PluginTagToContent("hparams")[metadata.EXPERIMENT_TAG])
        for acc in runs.values()
    ]
    assert all(e == experiments[0] for e in experiments)  # TensorBoard takes any one of them
    # TensorBoard's own order: differing columns first, then by name
    infos = sorted(experiments[0].hparam_infos, key=lambda h: (not h.differs, h.name))
    assert [(h.name, h.differs) for h in infos[:3]] == [("activation", True), ("depth", True), ("ae", False)]
    assert not {"ae_noise", "ae_beta", "ae_weight"} & {h.name for h in infos}  # kinds the sweep does not train
    assert [v.string_value for v in infos[0].domain_discrete.values] == ["relu", "sigmoid"]
    assert infos[1].type == api_pb2.DATA_TYPE_FLOAT64 and [v.number_value for v in infos[1].domain_discrete.values] == [
        1,
        2,
    ]
    assert "channels" not in {h.name for h in infos}
    layout = layout_pb2.Layout.FromString(
        runs[JOB_DIRS[0]].Tensors("custom_scalars__config__")[0].tensor_proto.string_val[0]
    )
    (sweep_charts,) = [c for c in layout.category if c.title.startswith("gradient flow across runs")]
    charts = {c.title: c.multiline.tag[0] for c in sweep_charts.chart}
    assert len(charts) == 8  # ratio and first-layer norm, for activation=relu|sigmoid and depth=1|2
    for group in ("activation=relu", "activation=sigmoid", "depth=1", "depth=2"):
        tag = charts[f"log10 ‖∂E/∂W⁽¹⁾‖ / ‖∂E/∂W⁽ᴸ⁾‖, {group}"].strip("^$").replace("\\", "")
        lines = [name for name, acc in runs.items() if tag in acc.Tags()["scalars"]]
        assert len(lines) == 2 and all(group.split("=")[1] in name for name in lines)  # one line per run


def test_job_dirs_are_named_by_what_they_sweep(grid_sweep):
    assert sorted(p.name for p in grid_sweep.iterdir() if p.is_dir() and p.name[0].isdigit()) == JOB_DIRS
    assert [r["dir"].rsplit("/", 1)[-1] for r in results(grid_sweep)] == JOB_DIRS


def test_joblib_grid_sweep_ends_with_the_report(grid_sweep):
    rows = results(grid_sweep)
    assert [(r["job"], r["activation"], r["depth"], r["status"]) for r in rows] == [
        ("0", "relu", "1", "completed"),
        ("1", "relu", "2", "completed"),
        ("2", "sigmoid", "1", "completed"),
        ("3", "sigmoid", "2", "completed"),
    ]
    assert all("activation=" in r["overrides"] and "depth=" in r["overrides"] for r in rows)
    assert all(float(r["test_sq_err_per_image"]) > 0 and r["grad_norms_init"] for r in rows)
    assert float(rows[3]["grad_ratio_init"]) > 0  # first/last layer gradient ratio, sigmoid depth 2
    md = (grid_sweep / "report.md").read_text()
    for text in (
        "## Best configuration",
        "## Gradient flow",
        "| `sigmoid` | after epoch 1 |",
        "tensorboard --logdir",
        "hydra/launcher=joblib",
        "activation=relu,sigmoid depth=1,2",
        "None: all 4 jobs completed.",
    ):
        assert text in md
    page = (grid_sweep / "report.html").read_text()
    assert "data:image/png;base64," in page and 'src="report_files' not in page  # self-contained
    for name in ("heatmap", "learning_curves", "gradflow", "recon_best", "recon_worst"):
        png = grid_sweep / "report_files" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


@pytest.mark.parametrize(
    "swept, rows, col",
    [
        (["activation", "depth"], ("activation",), "depth"),
        (["depth", "activation"], ("activation",), "depth"),
        (["ae", "activation"], ("ae",), "activation"),
        (["ae", "activation", "depth"], ("ae", "activation"), "depth"),
        (["optimizer.lr"], ("optimizer.lr",), "depth"),
        ([], ("activation",), "depth"),
    ],
)
def test_the_report_lays_a_sweep_out_on_its_swept_keys(swept, rows, col):
    from aelab.reports.sweep.collect import grid_of

    grid = grid_of(swept)
    assert (grid.row_keys, grid.col_key) == (rows, col)


def test_a_sweep_over_autoencoder_kinds_is_reported_on_an_ae_axis(tmp_path, mnist_root):
    """ae is a swept key like activation: job dirs, results.csv, the report's heatmap rows, its
    gradient-flow table and TensorBoard's HPARAMS all name the kind (not its config dict)."""
    from tensorboard.plugins.hparams import metadata

    sweep_dir = tmp_path / "sweep"
    run_sweep(
        sweep_dir,
        mnist_root,
        "ae=plain,vae",
        "activation=relu,sigmoid",
        "loss=bce",
        "logging=default",
        "logging.histograms=false",
        "logging.projector=false",
        "hydra.callbacks.report.recon=false",
    )
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and p.name[0].isdigit()) == [
        "00_activation=relu,ae=plain",  # Hydra's override_dirname sorts the keys
        "01_activation=sigmoid,ae=plain",
        "02_activation=relu,ae=vae",
        "03_activation=sigmoid,ae=vae",
    ]
    rows = results(sweep_dir)
    assert [(r["ae"], r["activation"]) for r in rows] == [
        ("plain", "relu"),
        ("plain", "sigmoid"),
        ("vae", "relu"),
        ("vae", "sigmoid"),
    ]
    md = (sweep_dir / "report.md").read_text()
    for text in (
        "## Test error: ae × activation",
        "| ae | measured | activation=relu | activation=sigmoid |",
        "| `vae` | after epoch 1 |",
    ):
        assert text in md, text
    assert "{'name'" not in md
    vae = _events(sweep_dir / "02_activation=relu,ae=vae" / "tb")
    experiment = metadata.parse_experiment_plugin_data(vae.PluginTagToContent("hparams")[metadata.EXPERIMENT_TAG])
    infos = {h.name: h for h in experiment.hparam_infos}
    assert infos["ae"].differs and [v.string_value for v in infos["ae"].domain_discrete.values] == ["plain", "vae"]
    assert "ae_beta" in infos and "ae_noise" not in infos and "ae_penalty" not in infos
    tags = set(vae.Tags()["scalars"])
    assert {"loss/recon", "loss/kl", "loss/kl_epoch", "metric/val_neg_elbo", "metric/test_neg_elbo"} <= tags
    assert {"vae/active_units", "vae/kl"} <= tags
    assert "vae/samples_from_prior" in vae.Tags()["images"]


BLOW_UP = ("optimizer=sgd", "optimizer.beta=1.0", "logging.every_n_steps=1")  # with lr=1e30: NaN at step 1


def test_failed_and_refused_jobs_are_reported_with_their_error(tmp_path, mnist_root):
    sweep_dir = tmp_path / "fail"
    run_sweep(sweep_dir, mnist_root, *BLOW_UP, "optimizer.lr=0.01,1e30", "depth=0,2")
    rows = {(r["optimizer.lr"], r["depth"]): r for r in results(sweep_dir)}
    assert rows[("0.01", "2")]["status"] == "completed" and rows[("0.01", "2")]["error"] == ""
    assert rows[("1e+30", "2")]["status"] == "failed"
    assert "non-finite loss (NaN/Inf) at step 1" in rows[("1e+30", "2")]["error"]
    for lr in ("0.01", "1e+30"):  # refused before training: one line, in the job's own dir
        assert rows[(lr, "0")]["status"] == "failed"
        assert rows[(lr, "0")]["error"] == "refused: depth=0 is out of range: depth must be >= 1 and <= 1000"
    md = (sweep_dir / "report.md").read_text()
    failed = md.split("## Failed and missing jobs", 1)[1].split("## Reproduce", 1)[0]
    assert "| failed |" in failed and "non-finite loss (NaN/Inf) at step 1" in failed
    assert "non-finite loss" in (sweep_dir / "report.html").read_text()
    assert (sweep_dir / "report_files" / "heatmap.png").exists()


@pytest.mark.slow  # 10-15 s of subprocesses; keeps the default suite under 10 min on 2 cores
def test_report_script_lists_a_deleted_job_as_missing(grid_sweep, tmp_path):
    sweep_dir = tmp_path / "partial"
    shutil.copytree(grid_sweep, sweep_dir)
    shutil.rmtree(sweep_dir / JOB_DIRS[2])
    for name in ("results.csv", "report.md", "report.html"):
        (sweep_dir / name).unlink()
    result = run_report(sweep_dir, "--no-recon")
    assert result.returncode == 0, result.stderr
    assert "1 missing" in result.stdout
    rows = results(sweep_dir)
    assert len(rows) == 4
    assert (rows[2]["status"], rows[2]["activation"], rows[2]["depth"]) == ("missing", "sigmoid", "1")
    assert "| 2 | missing | `activation=sigmoid depth=1` | no job dir" in (sweep_dir / "report.md").read_text()
    assert run_report(sweep_dir, "--no-recon").returncode == 0  # idempotent
    assert len(results(sweep_dir)) == 4


@pytest.mark.slow  # 10-15 s of subprocesses; keeps the default suite under 10 min on 2 cores
def test_report_script_refuses_a_dir_without_jobs(tmp_path):
    missing = run_report(tmp_path / "nope")
    assert missing.returncode == 2 and "no such directory" in missing.stderr
    empty = run_report(tmp_path)
    assert empty.returncode == 1 and "no jobs" in empty.stderr


def test_skip_done_reruns_only_unfinished_jobs(grid_sweep, tmp_path, mnist_root):
    sweep_dir = tmp_path / "resumed"
    shutil.copytree(grid_sweep, sweep_dir)  # copy2: metrics.json keeps its mtime
    shutil.rmtree(sweep_dir / JOB_DIRS[3])
    before = {n: (sweep_dir / n / "metrics.json").stat().st_mtime_ns for n in JOB_DIRS[:3]}
    kept = {n: (sweep_dir / n / "metrics.json").read_text() for n in before}
    logs = {n: (sweep_dir / n / "train.log").read_text() for n in before}
    result = run_sweep(
        sweep_dir, mnist_root, "hydra/launcher=joblib", "activation=relu,sigmoid", "depth=1,2", "skip_done=true"
    )
    for n in before:
        assert (sweep_dir / n / "metrics.json").stat().st_mtime_ns == before[n]
        assert (sweep_dir / n / "metrics.json").read_text() == kept[n]
        assert (sweep_dir / n / "train.log").read_text() == logs[n]  # a skipped run is not touched
        assert f"{sweep_dir / n} already completed" in result.stdout
    assert "test sq_err_per_image=" in (sweep_dir / JOB_DIRS[3] / "train.log").read_text()
    assert [r["status"] for r in results(sweep_dir)] == ["completed"] * 4
    assert [r["test_sq_err_per_image"] for r in results(sweep_dir)][:3] == [
        r["test_sq_err_per_image"] for r in results(grid_sweep)
    ][:3]


@pytest.mark.slow  # 10-15 s of subprocesses; keeps the default suite under 10 min on 2 cores
def test_optuna_search_records_failed_trials(tmp_path, mnist_root):
    sweep_dir = tmp_path / "optuna"
    run_sweep(
        sweep_dir,
        mnist_root,
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=2",
        "model.width=choice(8,16)",
        "depth=choice(1,2)",
        *BLOW_UP,
        "optimizer.lr=1e30",
    )
    assert (sweep_dir / "optimization_results.yaml").exists()
    rows = results(sweep_dir)
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert all("non-finite loss" in r["error"] for r in rows)
    assert "Sweeper: optuna" in (sweep_dir / "report.md").read_text()


@pytest.mark.slow  # 18 s on an idle 2-core machine, 37 s on a busy one (pytest -m slow)
def test_submitit_local_sweep(tmp_path, mnist_root):
    sweep_dir = tmp_path / "submitit"
    run_sweep(sweep_dir, mnist_root, "hydra/launcher=submitit_local", "activation=relu,tanh")
    assert [(r["activation"], r["status"]) for r in results(sweep_dir)] == [
        ("relu", "completed"),
        ("tanh", "completed"),
    ]
    assert (sweep_dir / ".submitit").is_dir() and (sweep_dir / "report.html").exists()


def test_callback_never_raises(tmp_path, caplog):
    from aelab.reports.sweep.callback import ReportCallback

    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "not_there")}}})
    with caplog.at_level(logging.ERROR, logger="aelab.report"):
        ReportCallback().on_multirun_end(config)
    assert "could not build the sweep report" in caplog.text
