"""Every config and preset composes; every bad value fails before work starts, naming the key, in
one line, and creates nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from aelab.config import ConfigError, check, fingerprint, to_config, to_dict
from conftest import CONF_DIR, REPO, compose

GROUPS = {
    g.name: sorted(p.stem for p in g.glob("*.yaml"))
    for g in CONF_DIR.iterdir()
    if g.is_dir() and g.name not in ("hydra", "hparams_search", "__pycache__")
}


def validate(cfg) -> None:
    check(to_config(cfg))


def test_defaults_are_the_documented_ones():
    cfg = to_config(compose())
    assert (cfg.model.family, cfg.activation, cfg.depth) == ("mlp", "relu", 4)
    assert cfg.model.activation == "relu" and cfg.model.depth == 4  # follow the top level
    assert cfg.optimizer.name == "adam" and cfg.loss.name == "mse" and cfg.logging.loggers == ["tensorboard"]
    check(cfg)


@pytest.mark.parametrize("group, option", [(g, o) for g, opts in GROUPS.items() for o in opts])
def test_every_group_option_composes_and_validates(group, option):
    cfg = compose([f"{group}={option}"])
    OmegaConf.resolve(cfg)
    validate(cfg)


def test_hinton_preset_is_the_paper_architecture():
    cfg = to_config(compose(["experiment=hinton2006"]))
    assert cfg.model.hidden == [1000, 500, 250] and cfg.model.code_dim == 30
    assert cfg.model.code_activation == "identity"


def _leaves(node, prefix=""):
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


@pytest.mark.parametrize("preset", GROUPS["experiment"])
def test_every_value_a_preset_sets_survives_composition(preset):
    # The primary config's own keys (depth, activation) must not override a preset's.
    raw = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "experiment" / f"{preset}.yaml"))
    cfg = compose([f"experiment={preset}"])
    for key, value in _leaves({k: v for k, v in raw.items() if k not in ("defaults", "hydra")}):
        assert OmegaConf.to_container(cfg, resolve=True) and OmegaConf.select(cfg, key) == value, f"{preset}: {key}"


def test_a_preset_overrides_the_primary_configs_own_keys(tmp_path):
    # The shipped presets happen to agree with config.yaml's depth/activation, so use one that does not.
    import shutil

    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    conf = shutil.copytree(CONF_DIR, tmp_path / "conf")
    (conf / "experiment" / "order_probe.yaml").write_text("# @package _global_\ndepth: 3\nactivation: tanh\n")
    from aelab.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = hydra_compose(config_name="config", overrides=["experiment=order_probe"])
    assert cfg.depth == 3 and cfg.model.depth == 3 and cfg.model.activation == "tanh"


def test_command_line_beats_the_preset():
    cfg = compose(["experiment=hinton2006_conv", "depth=2", "activation=tanh"])
    assert cfg.model.depth == 2 and cfg.model.activation == "tanh"


def test_top_level_overrides_reach_the_model():
    cfg = to_config(compose(["activation=sigmoid", "depth=8", "model=conv"]))
    assert cfg.model.activation == "sigmoid" and cfg.model.depth == 8 and cfg.model.family == "conv"


@pytest.mark.parametrize(
    "override, message",
    [
        ("depth=0", "depth=0 is out of range: depth must be >= 1 and <= 1000"),
        ("depth=1001", "depth=1001 is out of range: depth must be >= 1 and <= 1000"),
        ("optimizer.lr=-1", "optimizer.lr=-1.0 is out of range: optimizer.lr must be > 0"),
        ("trainer.batch_size=0", "trainer.batch_size=0 is out of range"),
        ("optimizer.beta=0", "optimizer.beta must be > 0 and <= 1"),
        ("model.code_dim=1000", "model.code_dim must be <= 784"),
        ("model.hidden=[]", "model.hidden=[] is not valid"),
        ("data.shift_augment=15", "data.shift_augment must be <= 14"),
        ("data.unshifted_last_epochs=-1", "data.unshifted_last_epochs=-1 is out of range"),
        ("data.name=imagenet", "data.name=imagenet is not valid; choose one of: mnist"),
        ("activation=swish", "activation=swish is not valid; choose one of: identity, sigmoid"),
        ("logging.loggers=[wandb]", "logging.loggers=wandb is not valid"),
    ],
)
def test_out_of_range_values_raise_config_error(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        validate(compose([override]))


@pytest.mark.parametrize(
    "override, message",
    [
        ("+foo=1", "unknown key foo"),
        ("+model.widht=128", "unknown key model.widht (did you mean model.width?)"),
        ("+trainer.epoch=3", "unknown key trainer.epoch (did you mean trainer.epochs?)"),
    ],
)
def test_keys_added_with_plus_are_refused(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        to_config(compose([override]))


def test_a_saved_config_is_taken_literally_never_interpolated(monkeypatch):
    monkeypatch.setenv("AELAB_SECRET", "s3cret")
    values = to_dict(to_config(compose()))
    values["data"]["root"] = "${oc.env:AELAB_SECRET}"
    assert to_config(values).data.root == "${oc.env:AELAB_SECRET}"


def test_fingerprint_ignores_where_and_how_a_run_reports_but_not_what_it_trains():
    base = to_config(compose())
    same = to_config(compose(["device=cpu", "trainer.progress=true", "logging=off", "data.root=/elsewhere"]))
    other = to_config(compose(["model.width=64"]))
    assert fingerprint(base) == fingerprint(same) != fingerprint(other)


def test_size_check_names_the_key_before_anything_is_allocated():
    import torch

    from aelab.config import check_size

    for overrides, key in (
        (["model.hidden=[2000000]"], "model.hidden"),
        (["model.width=10000000"], "model.width"),
        (["model=conv", "model.channels=100000"], "model.channels"),
        (["trainer.batch_size=100000000"], "trainer.batch_size"),
    ):
        with pytest.raises(ConfigError, match=f"^{key}=\\S+ makes the run too large"):
            check_size(to_config(compose(overrides)), torch.device("cpu"))
    check_size(to_config(compose(["experiment=hinton2006"])), torch.device("cpu"))  # fits


def _cli(*args: str, run_dir: str = "/tmp/aelab_never_used") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/train.py", *args, f"hydra.run.dir={run_dir}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "activation=foo",
            "Error: activation=foo is not valid; choose one of: identity, sigmoid, relu, softplus, tanh",
        ),
        ("depth=abc", "Error: depth=abc is not valid: depth is an integer"),
        ("depth=0", "Error: depth=0 is out of range: depth must be >= 1 and <= 1000"),
        ("optimizer.lr=-1", "Error: optimizer.lr=-1.0 is out of range"),
        ("trainer.batch_size=0", "Error: trainer.batch_size=0 is out of range"),
        ("nosuchkey=1", "Error: unknown key nosuchkey"),
        ("+foo=1", "Error: unknown key foo"),
        ("model=rnn", "Error: In 'config': Could not find 'model/rnn'; Available options in 'model': conv, mlp"),
        ("model.channels=8", "Error: unknown key model.channels (MLPConfig has no key 'channels')"),
        ("depth=100000", "Error: depth=100000 is out of range: depth must be >= 1 and <= 1000"),
        ("model.width=10000000", "Error: model.width=10000000 makes the run too large"),
    ],
)
def test_cli_refuses_bad_values_in_one_line_and_creates_nothing(override, message, tmp_path):
    run_dir = tmp_path / "never"
    result = _cli(override, run_dir=str(run_dir))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line
    assert result.stderr.startswith(message)
    for noise in ("Traceback", "HYDRA_FULL_ERROR", "object_type"):
        assert noise not in result.stderr
    assert not run_dir.exists() and list(tmp_path.iterdir()) == []


def test_hydra_full_error_keeps_hydras_own_report():
    result = subprocess.run(
        [sys.executable, "scripts/train.py", "model.channels=8"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HYDRA_FULL_ERROR": "1"},
    )
    assert result.returncode != 0 and "Traceback" in result.stderr and "ConvConfig" not in result.stderr


def test_help_lists_aelabs_keys_groups_launchers_and_main_commands():
    result = subprocess.run(
        [sys.executable, "scripts/train.py", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stderr == ""
    out = result.stdout
    assert out.startswith("aelab-train: train one autoencoder on the hand-written backprop")
    for text in (
        "aelab-train -m activation=relu,sigmoid depth=2,8 hydra/launcher=joblib",
        "experiment:       hinton2006, hinton2006_conv,",
        "model:            conv, mlp",
        "hydra/launcher:   joblib",
        "activation=relu",
        "(identity | sigmoid | relu",
        "skip_done=false",
        "docs/reference/config.md",
    ):
        assert text in out, text
    from aelab.config.reference import rows

    listed = {line.split("=", 1)[0].strip() for line in out.splitlines() if line.startswith("    ") and "=" in line}
    assert {row.key for row in rows()} <= listed  # every declared key, from its one declaration
    assert "powered by Hydra" not in out and "schema" not in out
