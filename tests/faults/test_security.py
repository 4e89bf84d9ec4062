"""security: forged pickles never run, logs are never written through a link, a stored config is
never interpolated, and run files share one permission mode."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import pytest

from .checks import expect_refused, job_dir, mode_problem, need, rehash, short, snapshot, snapshot_diff
from .harness import QUICK_TIMEOUT, SECRET_VAR, TINY, Case

CATEGORY = "security"
pytestmark = pytest.mark.faults
QUICK, EXTENDED = pytest.mark.faults_quick, pytest.mark.faults_extended
WEIGHTS_ONLY_ADVICE = re.compile(r"weights_only\s*=\s*False", re.I)


class _Payload:
    """Unpickling this runs a shell command (the malicious checkpoint)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


@pytest.mark.parametrize(
    "which, fmt",
    [
        pytest.param("last", "zip", id="last_resume", marks=QUICK),
        pytest.param("best", "zip", id="best_evaluate"),
        pytest.param("best", "plain", id="plain_best_evaluate"),
    ],
)
def test_malicious_pickle(case: Case, which: str, fmt: str) -> None:
    """<which>.pt replaced by a torch zip (or a plain pickle) checkpoint whose pickle calls
    os.system, its SHA-256 recorded as aelab records it: resume= (last.pt) / evaluate.py (best.pt)
    refuses with one line naming the file, never advises weights_only=False, and the payload never runs."""
    import torch

    run_dir = case.copy_run(case.refs.interrupted() if which == "last" else case.refs.reference(TINY))
    marker = case.io / "PWNED"
    path = run_dir / "checkpoints" / f"{which}.pt"
    if fmt == "zip":
        try:
            ck = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:
            ck = {}
        if not isinstance(ck, dict):
            ck = {"state": ck}
        ck["extra"] = _Payload(f"touch {marker}")
        torch.save(ck, path)
    else:
        path.write_bytes(pickle.dumps(_Payload(f"touch {marker}"), protocol=2))
    rehash(path)
    before = case.snap()
    res = case.resume(run_dir, timeout=QUICK_TIMEOUT + 30) if which == "last" else case.evaluate(run_dir)
    need(not marker.exists(), "THE PAYLOAD RAN (os.system executed while loading the checkpoint)")
    need(not WEIGHTS_ONLY_ADVICE.search(res.output), "output advises weights_only=False")
    case.held(expect_refused(res, before, case.snap(), [f"{which}.pt"]))


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("interrupted", id="resume", marks=QUICK),
        pytest.param("fresh", id="fresh_run"),
        pytest.param("completed", id="completed_resume", marks=EXTENDED),
    ],
)
def test_symlinked_train_log(case: Case, kind: str) -> None:
    """An interrupted run / an empty dir / a completed run whose train.log is a symlink to a file
    outside the run dir: resume= (a fresh run) never writes to that file."""
    outside = case.work / "outside" / "precious.txt"
    outside.parent.mkdir()
    outside.write_text("do not write here\n")
    before = snapshot(outside)
    if kind == "fresh":
        run_dir = case.work / "run"
        run_dir.mkdir()
        os.symlink(outside, run_dir / "train.log")
        res = case.train(TINY, run_dir, timeout=QUICK_TIMEOUT + 60)
    else:
        run_dir = case.copy_run(case.refs.interrupted() if kind == "interrupted" else case.refs.reference(TINY))
        (run_dir / "train.log").unlink(missing_ok=True)
        os.symlink(outside, run_dir / "train.log")
        res = case.resume(run_dir)
    diffs = snapshot_diff(before, snapshot(outside))
    need(not diffs, f"the file outside the run dir was written through the symlink ({res.describe()})")
    need(not res.timed_out, "timed out")
    case.held(f"outside file untouched (rc {res.rc})")


def plant(obj: Any, value: str) -> bool:
    """Set data.root = ``value`` in every stored config found in ``obj`` (dicts or YAML strings)."""
    done = False
    if isinstance(obj, dict):
        data = obj.get("data")
        if isinstance(data, dict) and "root" in data:
            data["root"] = value
            done = True
        for key, sub in list(obj.items()):
            if isinstance(sub, str) and re.search(r"^\s*root:", sub, re.M):
                obj[key] = re.sub(r"^(\s*root:\s*).*$", lambda m: m.group(1) + f"'{value}'", sub, flags=re.M)
                done = True
            elif isinstance(sub, (dict, list)):
                done = plant(sub, value) or done
    elif isinstance(obj, list):
        for sub in obj:
            done = plant(sub, value) or done
    return done


@pytest.mark.parametrize("tool", ["resume", "evaluate"])
def test_secret_in_checkpoint(case: Case, tool: str) -> None:
    """data.root='${oc.env:AELAB_FB_SECRET}' planted in the checkpoints' stored config (their SHA-256
    recorded anew, so the config is read), then resume= / evaluate.py with that variable set: its
    value appears in no file written and in no output."""
    import torch

    run_dir = case.copy_run(case.refs.interrupted() if tool == "resume" else case.refs.reference(TINY))
    secret = f"fbsecret{case.rng.getrandbits(64):016x}"
    planted = 0
    for path in sorted((run_dir / "checkpoints").glob("*.pt")):
        ck = torch.load(path, map_location="cpu", weights_only=True)
        if plant(ck, "${oc.env:" + SECRET_VAR + "}"):
            torch.save(ck, path)
            rehash(path)
            planted += 1
    need(planted > 0, "found no stored config (data.root) in the checkpoints to plant into")
    env = {SECRET_VAR: secret}
    res = case.resume(run_dir, env_extra=env) if tool == "resume" else case.evaluate(run_dir, env_extra=env)
    need(not res.timed_out, "timed out")
    leaks = [p for p, e in snapshot(case.work).items() if e[0] == "file" and secret.encode() in Path(p).read_bytes()]
    need(not leaks, f"the secret was resolved and written to {leaks[0]}" if leaks else "")
    need(secret not in res.output, "the secret was resolved and printed")
    case.held(f"${{oc.env:...}} never resolved (rc {res.rc}: {short(res.err_lines[-1] if res.err_lines else '', 60)})")


@QUICK
def test_permission_modes_run(case: Case) -> None:
    """metrics.json, checkpoints/*, train.log and .hydra/* of a completed run share one mode."""
    problem = mode_problem(case.refs.reference(TINY))
    need(problem is None, problem or "")
    case.held("one mode for all run files")


def test_permission_modes_after_resume(case: Case) -> None:
    """After a kill -9 and resume=, the run files still share one permission mode."""
    run_dir = case.copy_run(case.refs.interrupted())
    res = case.resume(run_dir)
    need(res.rc == 0, f"resume: {res.describe()}")
    problem = mode_problem(run_dir)
    need(problem is None, problem or "")
    case.held("one mode after resume")


def test_permission_modes_sweep_job(case: Case) -> None:
    """A sweep job's run files share one permission mode."""
    problem = mode_problem(job_dir(case.refs.sweep(), 0))
    need(problem is None, problem or "")
    case.held("one mode in a sweep job")
