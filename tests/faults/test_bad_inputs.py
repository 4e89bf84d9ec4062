"""bad inputs: a bad override is refused fast with one line naming the key, and creates nothing."""

from __future__ import annotations

import pytest

from .checks import expect_refused, need
from .harness import BAD_BASE, Case

CATEGORY = "bad inputs"
pytestmark = pytest.mark.faults
QUICK, EXTENDED = pytest.mark.faults_quick, pytest.mark.faults_extended

# args, the names the refusal must hold (a tuple: any of them), whether time and memory are watched
BAD_INPUTS = [
    pytest.param(["+foo=1"], ["foo"], False, id="unknown_key_plus_foo"),
    pytest.param(["+model.widht=128"], ["model.widht"], False, id="unknown_key_model_widht", marks=QUICK),
    pytest.param(["data.name=imagenet"], ["data.name"], False, id="data_name_imagenet"),
    pytest.param(["model.hidden=[]"], ["model.hidden"], False, id="hidden_empty"),
    pytest.param(["data.shift_augment=100"], ["data.shift_augment"], False, id="shift_augment_100"),
    pytest.param(["model=conv", "model.hidden=[10]"], ["model.hidden"], False, id="conv_with_hidden"),
    pytest.param(["depth=100000"], ["depth"], True, id="depth_100000", marks=QUICK),
    pytest.param(["model.width=10000000"], ["model.width"], True, id="width_10000000"),
    pytest.param(["model=conv", "model.channels=100000"], ["model.channels"], True, id="conv_channels_100000"),
    pytest.param(["activation=foo"], ["activation"], False, id="activation_foo"),
    pytest.param(["depth=0"], ["depth"], False, id="depth_0"),
    pytest.param(
        ["resume={work}/nonexistent/dir"], [("resume", "nonexistent/dir")], False, id="resume_nonexistent", marks=QUICK
    ),
    pytest.param(["trainer.batch_size=0"], ["trainer.batch_size"], False, id="batch_size_0", marks=EXTENDED),
    pytest.param(["trainer.epochs=-1"], ["trainer.epochs"], False, id="epochs_negative", marks=EXTENDED),
    pytest.param(["optimizer.lr=abc"], ["optimizer.lr"], False, id="lr_not_a_number", marks=EXTENDED),
    pytest.param(["model=transformer"], ["model"], False, id="unknown_model_group", marks=EXTENDED),
    pytest.param(["seed=18446744073709551616"], ["seed"], False, id="seed_2_64", marks=QUICK),
    pytest.param(["data.split_seed=99999999999999999999"], ["data.split_seed"], False, id="split_seed_huge"),
    pytest.param(["optimizer.lr=nan"], ["optimizer.lr"], False, id="lr_nan"),
    pytest.param(["optimizer.weight_decay=inf"], ["optimizer.weight_decay"], False, id="weight_decay_inf"),
    pytest.param(["model.depth=8"], [("model.depth", "depth")], False, id="depth_contradiction"),
    pytest.param(["dept=8"], [("dept", "depth")], False, id="unknown_key_did_you_mean"),
    pytest.param(["hydra.run.dir={work}/" + "n" * 300], [("n" * 40,)], False, id="run_dir_name_too_long"),
]


@pytest.mark.parametrize("args, names, fast", BAD_INPUTS)
def test_bad_input(case: Case, args: list[str], names: list[str | tuple[str, ...]], fast: bool) -> None:
    """The override is refused with one line naming the key, nothing is created (no run dir, no
    ./outputs); the oversized ones within 25 s and 1.5 GiB RSS (no allocation)."""
    keys = {a.split("=", 1)[0].lstrip("+~") for a in args}
    base = [o for o in BAD_BASE if o.split("=", 1)[0] not in keys]
    cmd = [*base, *(a.replace("{work}", str(case.work)) for a in args)]
    if not any(a.startswith(("resume=", "hydra.run.dir=")) for a in args):
        cmd.append(f"hydra.run.dir={case.work / 'run'}")
    before = case.snap()
    res = case.cli("train", cmd, timeout=60 if fast else 120, rss_limit_mb=1536 if fast else 4096)
    held = expect_refused(res, before, case.snap(), names)
    if fast:
        need(res.seconds < 25, f"refused, but only after {res.seconds:.1f} s")
    case.held(held)


def test_evaluate_nonexistent_dir(case: Case) -> None:
    """evaluate.py on a dir that does not exist: one line naming it, nothing created."""
    target = case.work / "nope"
    before = case.snap()
    res = case.evaluate(target)
    case.held(expect_refused(res, before, case.snap(), [str(target)]))
