"""logging.loggers=[mlflow]: a run's params, metrics and images in an MLflow store, read back through
MLflow's own client; a killed-then-resumed run is one MLflow run with each step's value once; a
sweep is one experiment with a run per job; without mlflow installed the logger is refused."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from aelab.config import ConfigError, check, compose, to_config
from aelab.training.loop import train

REPO = Path(__file__).resolve().parents[1]
needs_mlflow = pytest.mark.skipif(
    importlib.util.find_spec("mlflow") is None, reason="mlflow is not installed (pip install -e '.[mlflow]')"
)
RUN = [
    "data.limit=256",
    "data.eval_limit=128",
    "trainer.epochs=2",
    "trainer.batch_size=64",
    "depth=2",
    "model.width=16",
    "device=cpu",
    "trainer.progress=false",
    "logging.loggers=[mlflow]",
    "logging.n_images=4",
]
STEPS_PER_EPOCH = 4  # 256 images, batches of 64


def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def client(tmp_path: Path):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=store(tmp_path))


def only_run(tmp_path: Path, experiment: str):
    c = client(tmp_path)
    found = c.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment}"
    runs = c.search_runs([found.experiment_id])
    assert len(runs) == 1, [r.info.run_name for r in runs]
    return runs[0]


def doubled(tmp_path: Path, run_id: str) -> dict[str, list[int]]:
    """Every metric's steps that hold more than one value."""
    c = client(tmp_path)
    found = {}
    for key in c.get_run(run_id).data.metrics:
        counts = Counter(m.step for m in c.get_metric_history(run_id, key))
        if any(n > 1 for n in counts.values()):
            found[key] = sorted(s for s, n in counts.items() if n > 1)
    return found


@needs_mlflow
def test_a_run_logs_the_hparams_table_metrics_per_step_and_images(mnist_root, tmp_path):
    from aelab.loggers.hparams import hparam_dict
    from aelab.loggers.mlflow.logger import RUN_FILE, param_text

    extra = [f"logging.mlflow.tracking_uri={store(tmp_path)}", "logging.mlflow.experiment=one"]
    extra += [f"logging.mlflow.artifact_root={tmp_path / 'artifacts'}"]
    cfg = compose([*RUN, f"data.root={mnist_root}", *extra])
    metrics = train(cfg, run_dir=tmp_path / "run")
    assert metrics["status"] == "completed", metrics.get("error")
    run = only_run(tmp_path, "one")
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    expected = {k: param_text(v) for k, v in hparam_dict(metrics["hparams"]).items() if v is not None}
    assert run.data.params == expected
    assert run.data.params["epochs"] == "2" and run.data.params["family"] == "mlp"
    c = client(tmp_path)
    history = c.get_metric_history(run.info.run_id, "metric/val_sq_err_per_image")
    assert [m.step for m in history] == [STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH]
    assert [m.value for m in history] == pytest.approx([h["val"]["sq_err_per_image"] for h in metrics["history"]])
    assert [m.step for m in c.get_metric_history(run.info.run_id, "loss/train")] == [1, 4, 8]  # 1st step, epochs' last
    probe = c.get_metric_history(run.info.run_id, "grad_norm_probe/01_enc")
    assert [m.step for m in probe] == [0, 4, 8]  # the initial weights, then each epoch
    test = c.get_metric_history(run.info.run_id, "metric/test_sq_err_per_image")
    assert [(m.step, m.value) for m in test] == [(9, pytest.approx(metrics["test"]["sq_err_per_image"]))]
    assert doubled(tmp_path, run.info.run_id) == {}
    images = [a.path for a in c.list_artifacts(run.info.run_id, "reconstructions")]
    assert images == ["reconstructions/step_0000004.png", "reconstructions/step_0000008.png"]
    png = Path(c.download_artifacts(run.info.run_id, images[-1], str(tmp_path / "down")))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "artifacts" / "one").is_dir()  # the local store's artifacts beside it, not in ./mlruns
    assert (tmp_path / "run" / RUN_FILE).is_file()


def _script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    cmd = [sys.executable, str(REPO / "scripts" / "train.py"), *args]
    return subprocess.run(cmd, cwd=REPO, env=environ, capture_output=True, text=True, timeout=600)


@needs_mlflow
@pytest.mark.slow
def test_a_killed_then_resumed_run_is_one_mlflow_run_with_each_steps_value_once(mnist_root, tmp_path):
    run_dir = tmp_path / "run"
    args = [*RUN, f"data.root={mnist_root}", f"logging.mlflow.tracking_uri={store(tmp_path)}"]
    args += ["logging.mlflow.experiment=resumed", f"logging.mlflow.artifact_root={tmp_path / 'artifacts'}"]
    # killed after epoch 2's values reached MLflow, before the epoch's commit: the resume repeats epoch 2
    killed = _script(*args, f"hydra.run.dir={run_dir}", env={"AELAB_FAILPOINT": "epoch:logged@2=kill"})
    assert killed.returncode == -9, killed.stderr[-2000:]
    first = only_run(tmp_path, "resumed")
    c = client(tmp_path)
    assert [m.step for m in c.get_metric_history(first.info.run_id, "metric/val_sq_err_per_image")] == [4, 8]
    metrics = train(compose([*args, f"resume={run_dir}"]))
    assert metrics["status"] == "completed", metrics.get("error")
    run = only_run(tmp_path, "resumed")
    assert run.info.run_id == first.info.run_id and run.info.status == "FINISHED"
    assert doubled(tmp_path, run.info.run_id) == {}
    assert [m.step for m in c.get_metric_history(run.info.run_id, "loss/train")] == [1, 4, 8]  # 1st step, epochs' last
    val = c.get_metric_history(run.info.run_id, "metric/val_sq_err_per_image")
    # CPU: the repeated epoch computes the same numbers, so the value MLflow kept is the record's
    assert [m.value for m in val] == pytest.approx([h["val"]["sq_err_per_image"] for h in metrics["history"]])
    assert [m.step for m in c.get_metric_history(run.info.run_id, "metric/test_sq_err_per_image")] == [9]


@needs_mlflow
@pytest.mark.slow
def test_a_sweep_is_one_experiment_with_a_run_per_job(mnist_root, tmp_path):
    sweep = tmp_path / "sweep"
    result = _script(
        "-m",
        *[a for a in RUN if not a.startswith("depth=")],
        "depth=1,2",
        f"data.root={mnist_root}",
        f"logging.mlflow.tracking_uri={store(tmp_path)}",
        f"logging.mlflow.artifact_root={tmp_path / 'artifacts'}",
        f"hydra.sweep.dir={sweep}",
        "hydra.callbacks.report.enabled=false",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    c = client(tmp_path)
    experiments = [e for e in c.search_experiments() if e.name != "Default"]
    assert [e.name for e in experiments] == [str(sweep)]  # outside the working directory: the absolute path
    runs = c.search_runs([experiments[0].experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["00_depth=1", "01_depth=2"]
    assert sorted(r.data.params["depth"] for r in runs) == ["1", "2"]
    assert all(r.info.status == "FINISHED" for r in runs)


def test_without_mlflow_installed_the_logger_is_refused_in_one_line(monkeypatch, mnist_root, tmp_path):
    import aelab.loggers.mlflow.config as mlflow_config

    monkeypatch.setattr(mlflow_config, "find_spec", lambda name: None)
    cfg = compose([*RUN, f"data.root={mnist_root}", f"logging.mlflow.tracking_uri={store(tmp_path)}"])
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[mlflow\]'") as err:
        check(to_config(cfg))
    assert "\n" not in str(err.value) and str(err.value).startswith("logging.loggers=[mlflow] needs the mlflow")
    with pytest.raises(ConfigError):
        train(cfg, run_dir=tmp_path / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # neither the run dir nor the store
    check(to_config(compose([*RUN[:-2], f"data.root={mnist_root}"])))  # other loggers never ask for it


def test_each_logger_names_the_command_that_shows_its_runs(tmp_path):
    from aelab.config import to_dict
    from aelab.loggers.base import view_commands

    store_uri = f"sqlite:///{tmp_path / 'm.db'}"
    config = to_dict(
        to_config(compose(["logging.loggers=[tensorboard,csv,mlflow]", f"logging.mlflow.tracking_uri={store_uri}"]))
    )
    (tmp_path / "run" / "tb").mkdir(parents=True)
    assert view_commands(config, tmp_path / "run") == [
        f"tensorboard --logdir {tmp_path / 'run' / 'tb'}",  # a run: its tb/; the csv logger has no viewer
        f"mlflow ui --backend-store-uri sqlite:///{tmp_path / 'm.db'}",
    ]
    assert view_commands(config, tmp_path)[0] == f"tensorboard --logdir {tmp_path}"  # a sweep dir
    assert view_commands({**config, "logging": {**config["logging"], "loggers": []}}, tmp_path) == []
