"""Every config and preset composes; every bad value fails before work starts, naming the key."""

from __future__ import annotations

import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from aelab.config import ConfigError, plain, validate
from conftest import CONF_DIR, REPO, compose

GROUPS = {g.name: sorted(p.stem for p in g.glob("*.yaml")) for g in CONF_DIR.iterdir()
          if g.is_dir() and g.name not in ("hydra", "hparams_search")}


def test_defaults_are_the_documented_ones():
    cfg = compose()
    assert (plain(cfg.model.family), plain(cfg.activation), cfg.depth) == ("mlp", "relu", 4)
    assert plain(cfg.model.activation) == "relu" and cfg.model.depth == 4  # follow the top level
    assert plain(cfg.optimizer.name) == "adam" and plain(cfg.loss.name) == "mse"
    validate(cfg)


@pytest.mark.parametrize("group, option", [(g, o) for g, opts in GROUPS.items() for o in opts])
def test_every_group_option_composes_and_validates(group, option):
    cfg = compose([f"{group}={option}"])
    OmegaConf.resolve(cfg)
    validate(cfg)


def test_hinton_preset_is_the_paper_architecture():
    cfg = compose(["experiment=hinton2006"])
    assert list(cfg.model.hidden) == [1000, 500, 250] and cfg.model.code_dim == 30
    assert plain(cfg.model.code_activation) == "identity"


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
        assert plain(OmegaConf.select(cfg, key)) == value, f"{preset}: {key}"


def test_a_preset_overrides_the_primary_configs_own_keys(tmp_path):
    # The shipped presets happen to agree with config.yaml's depth/activation, so use one that does not.
    import shutil

    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    conf = shutil.copytree(CONF_DIR, tmp_path / "conf")
    (conf / "experiment" / "order_probe.yaml").write_text("# @package _global_\ndepth: 3\nactivation: tanh\n")
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = hydra_compose(config_name="config", overrides=["experiment=order_probe"])
    assert cfg.depth == 3 and cfg.model.depth == 3 and plain(cfg.model.activation) == "tanh"


def test_command_line_beats_the_preset():
    cfg = compose(["experiment=hinton2006_conv", "depth=2", "activation=tanh"])
    assert cfg.model.depth == 2 and plain(cfg.model.activation) == "tanh"


def test_top_level_overrides_reach_the_model():
    cfg = compose(["activation=sigmoid", "depth=8", "model=conv"])
    assert plain(cfg.model.activation) == "sigmoid" and cfg.model.depth == 8
    assert plain(cfg.model.family) == "conv"


@pytest.mark.parametrize(
    "override, message",
    [
        ("depth=0", "depth=0 is out of range: depth must be >= 1"),
        ("optimizer.lr=-1", "optimizer.lr=-1.0 is out of range: optimizer.lr must be > 0"),
        ("trainer.batch_size=0", "trainer.batch_size=0 is out of range"),
        ("optimizer.beta=0", "0 < optimizer.beta <= 1"),
        ("model.code_dim=1000", "model.code_dim must be <= 784"),
    ],
)
def test_out_of_range_values_raise_config_error(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        validate(compose([override]))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/train.py", *args, "hydra.run.dir=/tmp/aelab_never_used"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    "override, message",
    [
        ("activation=foo", "Invalid value 'foo', expected one of [identity, sigmoid, relu, softplus, tanh, leaky_relu]"),
        ("depth=abc", "Value 'abc' of type 'str' could not be converted to Integer"),
        ("depth=0", "Error: depth=0 is out of range: depth must be >= 1"),
        ("optimizer.lr=-1", "Error: optimizer.lr=-1.0 is out of range"),
        ("trainer.batch_size=0", "Error: trainer.batch_size=0 is out of range"),
        ("nosuchkey=1", "Key 'nosuchkey' not in 'Config'"),
        ("model=rnn", "Could not find 'model/rnn'"),
    ],
)
def test_cli_rejects_bad_values_with_one_readable_message(override, message):
    result = _cli(override)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr  # no multi-page traceback without HYDRA_FULL_ERROR
    assert len(result.stderr.strip().splitlines()) <= 12
