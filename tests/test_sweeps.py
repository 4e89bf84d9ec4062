"""Sweeps end to end through the real CLI: launchers, the report, failures, missing jobs, skip_done.

Every sweep here trains seconds-long models (256 images, 1 epoch, width 16) in a subprocess,
exactly as `python scripts/train.py -m ...` does.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import subprocess
import sys
import time
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
    """TensorBoard's runs are the job dirs (named by their overrides); HPARAMS shows the swept keys
    only (no column every run shares), with their values as discrete domains, a whole number as text
    ("2", a discrete axis); the sweep-level gradient-flow charts draw one line per run of each swept
    value."""
    from tensorboard.plugins.custom_scalar import layout_pb2
    from tensorboard.plugins.hparams import api_pb2, metadata

    runs = {p.parent.parent.name: _events(p.parent) for p in sorted(logged_sweep.glob("*/tb/events.out.tfevents.*"))}
    assert list(runs) == JOB_DIRS
    experiments = [
        metadata.parse_experiment_plugin_data(acc.PluginTagToContent("hparams")[metadata.EXPERIMENT_TAG])
        for acc in runs.values()
    ]
    assert all(e == experiments[0] for e in experiments)  # TensorBoard takes any one of them
    infos = experiments[0].hparam_infos
    assert [(h.name, h.differs) for h in infos] == [("activation", True), ("depth", True)]  # no constant column
    assert [v.string_value for v in infos[0].domain_discrete.values] == ["relu", "sigmoid"]
    assert infos[1].type == api_pb2.DATA_TYPE_STRING
    assert [v.string_value for v in infos[1].domain_discrete.values] == ["1", "2"]  # the sweep's order, no decimals
    metrics = {m.name.tag: m.display_name for m in experiments[0].metric_infos}
    assert metrics == {
        "hparam/val_sq_err_per_image": "val sq_err",
        "hparam/test_sq_err_per_image": "test sq_err",
        "hparam/test_bce": "test bce",
        "hparam/samples_per_s": "samples/s",
    }
    for name, acc in runs.items():  # each run's values are among the domain's texts
        start = metadata.parse_session_start_info_plugin_data(
            acc.PluginTagToContent("hparams")[metadata.SESSION_START_INFO_TAG]
        )
        values = {k: v.string_value for k, v in start.hparams.items()}
        assert name.endswith(f"activation={values['activation']},depth={values['depth']}") and len(values) == 2
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
        "trained without a logger that has a viewer",  # logging=off: no viewer command to print
        "hydra/launcher=joblib",
        "activation=relu,sigmoid depth=1,2",
        "None: all 4 jobs completed.",
    ):
        assert text in md
    assert "## Code space" in md and "![code space of best](report_files/codes_best.png)" in md
    assert (grid_sweep / "report_files" / "codes_worst.png").read_bytes()[:4] == b"\x89PNG"
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
    assert infos["ae_beta"].differs and "ae_noise" not in infos and "ae_penalty" not in infos  # blank in plain runs
    assert set(infos) == {"activation", "ae", "ae_beta"}
    tags = set(vae.Tags()["scalars"])
    assert {"1_loss/recon", "1_loss/kl", "1_loss/kl_epoch", "metric/val_neg_elbo", "metric/test_neg_elbo"} <= tags
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


# --- the report reads only the sweep's own jobs ---------------------------------------------------


def _copy(grid_sweep: Path, tmp_path: Path) -> Path:
    sweep_dir = Path(shutil.copytree(grid_sweep, tmp_path / "sweep"))
    for name in ("results.csv", "report.md", "report.html"):
        (sweep_dir / name).unlink()
    return sweep_dir


def _replace_record(job_dir: Path, source: Path, what: tuple[str, ...] = ("metrics.json", "checkpoints")) -> None:
    for name in what:
        shutil.rmtree(job_dir / name) if (job_dir / name).is_dir() else (job_dir / name).unlink()
        copy = shutil.copytree if (source / name).is_dir() else shutil.copy2
        copy(source / name, job_dir / name)


def test_the_report_lists_only_the_sweeps_own_jobs_with_their_own_results(grid_sweep, tmp_path):
    """Another run's whole record in a job dir is `foreign` (no metrics); another run's metrics.json
    alone, or one that is not UTF-8, gives way to the job's own last.pt (the damaged file named in a
    warning); dirs that are not in the grid are listed apart, in no table or count."""
    sweep_dir = _copy(grid_sweep, tmp_path)
    jobs = [sweep_dir / name for name in JOB_DIRS]
    _replace_record(jobs[0], jobs[3])  # relu depth 1's dir holds sigmoid depth 2's run
    _replace_record(jobs[1], jobs[2], ("metrics.json",))  # relu depth 2's metrics.json is sigmoid depth 1's
    (jobs[2] / "metrics.json").write_bytes(b"\xff\xfe not UTF-8")
    shutil.copytree(jobs[3], sweep_dir / "07_activation=tanh,depth=4")
    (sweep_dir / "notes" / ".hydra").mkdir(parents=True)
    result = run_report(sweep_dir, "--no-recon")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout.startswith("4 jobs: 3 completed, 1 foreign\n")
    assert (
        f"warning: job 2: {jobs[2]}/metrics.json is not UTF-8 text (byte 0xff at offset 0), so not a JSON file "
        "aelab wrote; the job's record comes from checkpoints/last.pt\n" in result.stderr
    )
    assert "not part of this sweep: 07_activation=tanh,depth=4/: job 7 is beyond the sweep's 4 jobs\n" in result.stderr
    assert "not part of this sweep: notes/: no job number" in result.stderr
    rows, before = results(sweep_dir), results(grid_sweep)
    assert [(r["job"], r["status"]) for r in rows] == [
        ("0", "foreign"),
        ("1", "completed"),
        ("2", "completed"),
        ("3", "completed"),
    ]
    assert rows[0]["test_sq_err_per_image"] == "" and (rows[0]["activation"], rows[0]["depth"]) == ("relu", "1")
    assert "activation: 'sigmoid' there vs 'relu' in the sweep" in rows[0]["error"]
    assert [r["test_sq_err_per_image"] for r in rows[1:]] == [r["test_sq_err_per_image"] for r in before[1:]]
    md = (sweep_dir / "report.md").read_text()
    assert "1 completed" not in md and "3 completed, 1 foreign, and 2 dirs that are not part of this sweep" in md
    outside = md.split("## Not part of this sweep", 1)[1].split("## Reproduce", 1)[0]
    assert "| `07_activation=tanh,depth=4/` | job 7 is beyond the sweep's 4 jobs |" in outside and "`notes/`" in outside


def _refusal(sweep_dir: Path, num: int, overrides: list[str], age_s: float) -> None:
    """A refusal record as a sweep writes it (aelab.cli.train), ``age_s`` seconds old."""
    record = {
        "status": "failed",
        "error": f"refused: {sweep_dir / JOB_DIRS[num]} is in use by another run (pid 1); wait for it to end",
        "history": [],
        "epochs_completed": 0,
        "val": None,
        "test": None,
        "hparams": None,
        "overrides": overrides,
    }
    path = sweep_dir / ".refused" / f"{num}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(record))
    when = time.time() - age_s
    os.utime(path, (when, when))


def test_a_refusal_is_dropped_once_the_job_has_completed(grid_sweep, tmp_path):
    """A job refused while its dir was locked, completed since: completed. A refusal after the job
    completed: still completed. A refused job's own metrics.json beside a completed last.pt:
    completed. A refusal of a job that has not run since: refused."""
    sweep_dir = _copy(grid_sweep, tmp_path)
    jobs = [sweep_dir / name for name in JOB_DIRS]
    overrides = [OmegaConf.load(j / ".hydra" / "overrides.yaml") for j in jobs]
    _refusal(sweep_dir, 1, list(overrides[1]), age_s=3600)  # refused an hour before it completed
    _refusal(sweep_dir, 3, list(overrides[3]), age_s=-60)  # refused after it completed
    own = json.loads((sweep_dir / ".refused" / "1.json").read_text())
    (jobs[0] / "metrics.json").write_text(json.dumps(own))  # the refusal in the job's own dir, last.pt whole
    shutil.rmtree(jobs[2] / "checkpoints")
    (jobs[2] / "metrics.json").unlink()  # killed before its first checkpoint ...
    _refusal(sweep_dir, 2, list(overrides[2]), age_s=0)  # ... then refused: not run since
    result = run_report(sweep_dir, "--no-recon")
    assert result.returncode == 0, result.stderr
    rows = results(sweep_dir)
    assert [r["status"] for r in rows] == ["completed", "completed", "refused", "completed"]
    assert [r["test_sq_err_per_image"] for r in rows[:2]] == [r["test_sq_err_per_image"] for r in results(grid_sweep)][
        :2
    ]
    assert rows[2]["error"].startswith("refused: ") and rows[3]["error"] == ""


@pytest.mark.slow  # a skip_done sweep: 15-30 s
def test_a_job_refused_for_its_locked_dir_is_reported_completed(grid_sweep, tmp_path, mnist_root):
    """A real refusal: job 1's dir is locked by another process while skip_done=true completes the
    sweep (job 3 trained again); job 1's record is completed, so the refusal does not show."""
    from aelab.training.rundir import RunDir

    sweep_dir = _copy(grid_sweep, tmp_path)
    shutil.rmtree(sweep_dir / JOB_DIRS[3])
    held = RunDir(sweep_dir / JOB_DIRS[1])
    held.lock()
    try:
        result = run_sweep(
            sweep_dir, mnist_root, "hydra/launcher=joblib", "activation=relu,sigmoid", "depth=1,2", "skip_done=true"
        )
    finally:
        held.unlock()
    assert "job refused" in result.stdout + result.stderr and (sweep_dir / ".refused" / "1.json").exists()
    assert [r["status"] for r in results(sweep_dir)] == ["completed"] * 4


def test_a_sweep_dir_the_report_cannot_write_is_one_aelab_error(grid_sweep, tmp_path):
    """build_report on a read-only sweep dir: one AelabError naming it, nothing written."""
    from aelab.errors import AelabError
    from aelab.reports.sweep.build import build_report

    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        sweep_dir = Path(shutil.copytree(grid_sweep, mount / "sweep"))
        assert subprocess.run(["mount", "-o", "remount,ro", str(mount)]).returncode == 0
        before = sorted((p, p.stat().st_mtime_ns) for p in sweep_dir.rglob("*"))
        with pytest.raises(AelabError) as err:
            build_report(sweep_dir, recon=False)
        assert not isinstance(err.value, OSError)
        assert str(err.value) == f"cannot write into {sweep_dir}/report_files: read-only file system"
        assert sorted((p, p.stat().st_mtime_ns) for p in sweep_dir.rglob("*")) == before
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_callback_never_raises(tmp_path, caplog):
    from aelab.reports.sweep.callback import ReportCallback

    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "not_there")}}})
    with caplog.at_level(logging.ERROR, logger="aelab.report"):
        ReportCallback().on_multirun_end(config)
    assert "could not build the sweep report" in caplog.text
