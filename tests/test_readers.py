"""Readers that check what they read, and every OS error a user can cause as one line.

* A reader racing a live writer (``write_verified`` rewriting a file; a run rewriting last.pt and
  best.pt as it commits) never calls a sound file corrupt; a damaged file is named at once.
* A name longer than the file system allows, a path longer than the system allows, a read-only file
  system, no permission: one ``Error:`` line naming the path and exit 2 from the CLI, one AelabError
  (never an OSError) from the API, and nothing created.

Read-only: a tmpfs mounted by the test and remounted read-only (needs root; skipped otherwise). No
permission: the child process runs without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (``setpriv``),
so even root meets the file modes (a non-root user needs nothing).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from aelab.errors import AelabError, CorruptFileError, RunDirError
from aelab.files import read_verified, write_verified
from conftest import REPO, TINY

SIZE = ["model.width=16"]


def env() -> dict[str, str]:
    """The children import this checkout's aelab."""
    path = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "AELAB_OFFLINE": "1", "MPLBACKEND": "Agg"}


def run(*cmd: str, cwd: Path = REPO, prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*(prefix or []), *cmd], cwd=cwd, capture_output=True, text=True, timeout=240, env=env())


def script(name: str) -> str:
    return str(REPO / "scripts" / name)


def one_error_line(result: subprocess.CompletedProcess, code: int = 2) -> str:
    """The message of a refusal: exit ``code``, exactly one ``Error:`` line on stderr, no traceback."""
    assert result.returncode == code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr[-3000:]
    assert result.stderr.startswith("Error: ")
    return result.stderr[len("Error: ") :].rstrip("\n")


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` with its kind, size, mtime and content hash: a change anywhere shows."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else None
        out[str(p.relative_to(root))] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns, digest)
    return out


@pytest.fixture(scope="module")
def done_run(tmp_path_factory, mnist_root) -> Path:
    """A completed tiny run (1 epoch)."""
    from aelab.config import compose
    from aelab.training.loop import train

    run_dir = tmp_path_factory.mktemp("done") / "run"
    assert train(compose([*TINY, *SIZE, f"data.root={mnist_root}"]), run_dir=run_dir)["status"] == "completed"
    return run_dir


@pytest.fixture
def read_only(tmp_path):
    """``(mount, freeze)``: an empty tmpfs; ``freeze()`` remounts it read-only."""
    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")

    def freeze() -> None:
        assert subprocess.run(["mount", "-o", "remount,ro", str(mount)]).returncode == 0

    yield mount, freeze
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.fixture
def unprivileged() -> list[str]:
    """The command prefix that makes a child meet file modes (root ignores them)."""
    if os.geteuid() != 0:
        return []
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    if not shutil.which("setpriv") or subprocess.run([*prefix, "true"], capture_output=True).returncode:
        pytest.skip("setpriv cannot drop CAP_DAC_OVERRIDE here")
    return prefix


# --- a reader of a live run ------------------------------------------------------------------------

WRITER = """
import sys
from pathlib import Path
from aelab.files import write_verified

path, stop = Path(sys.argv[1]), Path(sys.argv[2])
i = 0
while not stop.exists():  # a new content every time, as a run's commits are
    i += 1
    write_verified(path, i.to_bytes(8, "little") * 8192)
"""


def test_a_reader_racing_a_writer_never_calls_a_sound_file_corrupt(tmp_path):
    """Thousands of reads while another process rewrites the file through write_verified: every read
    returns a whole version, none is called corrupt. (Reading the file and then its record, as
    read_verified did, failed 8 times in 3000 such reads here.)"""
    path, stop = tmp_path / "last.pt", tmp_path / "stop"
    write_verified(path, b"first")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(stop)], env=env())
    try:
        deadline = time.monotonic() + 60
        while read_verified(path) == b"first":  # the writer has started
            assert writer.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        versions, false_alarms, reads = set(), [], 0
        # at least 2000 reads, and on until the writer has made 10 versions (a busy machine slows it)
        while reads < 2000 or (len(versions) < 10 and time.monotonic() < deadline):
            reads += 1
            try:
                data = read_verified(path)
            except CorruptFileError as err:
                false_alarms.append(str(err))
                continue
            assert data == data[:8] * 8192  # one whole version, never a mix
            versions.add(data[:8])
    finally:
        stop.touch()
        writer.wait(timeout=60)
    assert false_alarms == []
    assert len(versions) >= 10, "the writer did not rewrite the file during the reads"


def test_a_read_between_the_writers_steps_is_taken_again(tmp_path, monkeypatch):
    """The reader reads the old file, the writer then replaces file and record, the reader reads the
    new record: a mismatch that is not damage. The reader takes the snapshot again and returns the
    new version."""
    import aelab.files as files

    path = tmp_path / "last.pt"
    write_verified(path, b"old" * 100)
    real, calls = files._record_state, []

    def record_after_a_rewrite(p: Path):
        calls.append(p)
        if len(calls) == 2:  # after the data of the first snapshot: a whole write lands here
            write_verified(path, b"new" * 100)
        return real(p)

    monkeypatch.setattr(files, "_record_state", record_after_a_rewrite)
    assert read_verified(path) == b"new" * 100
    assert len(calls) == 4  # two snapshots: the first one unstable, the second one sound


def test_a_file_left_by_a_kill_between_record_and_file_stays_sound_while_it_is_replaced(tmp_path, monkeypatch):
    """A kill after the first record write leaves the old file and a record naming it and the file
    that never came. The next write names the old file too until it is replaced, so a reader in
    between still verifies it."""
    import aelab.files as files

    path = tmp_path / "last.pt"
    write_verified(path, b"A" * 64)
    killed = hashlib.sha256(b"B" * 64).hexdigest()
    files.write_atomic(files.hash_path(path), f"{files.sha256(b'A' * 64)}  last.pt\n{killed}  last.pt\n".encode())
    real, seen = files.write_atomic, []

    def read_after_each_write(target, data):
        real(target, data)
        seen.append(read_verified(path))

    monkeypatch.setattr(files, "write_atomic", read_after_each_write)
    write_verified(path, b"C" * 64)
    assert seen == [b"A" * 64, b"C" * 64, b"C" * 64]  # record (old + new), file, record (new)


@pytest.mark.parametrize("damage", ["flip", "truncate", "record"])
def test_a_damaged_file_is_named_at_once_in_one_line(tmp_path, damage):
    path = tmp_path / "best.pt"
    write_verified(path, bytes(range(256)) * 64)
    if damage == "record":
        (tmp_path / "best.pt.sha256").unlink()
    else:
        data = bytearray(path.read_bytes())
        data = data[: len(data) // 2] if damage == "truncate" else data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
        path.write_bytes(bytes(data))
    start = time.perf_counter()
    with pytest.raises(CorruptFileError) as err:
        read_verified(path)
    assert time.perf_counter() - start < 0.5
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    assert ("has no recorded SHA-256" if damage == "record" else "is corrupt: its SHA-256 differs") in message


RUN_WRITER = """
import sys, torch
from pathlib import Path
from aelab.files import sha256
from aelab.training.checkpoint import save_checkpoint, serialize

run, stop = Path(sys.argv[1]), Path(sys.argv[2])
last = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
best = torch.load(run / "checkpoints" / "best.pt", weights_only=True)
key = next(iter(best["model"]))
i = 0
while not stop.exists():  # each commit: last.pt (naming best.pt's hash), then best.pt, as a run does
    i += 1
    best["model"][key].view(-1)[0] = float(i)
    best_bytes = serialize(best)
    last["best_model"] = best["model"]
    last["record"]["wall_time_s"] = float(i)
    last["record"]["best_sha256"] = sha256(best_bytes)
    save_checkpoint(run / "checkpoints" / "last.pt", last)
    save_checkpoint(run / "checkpoints" / "best.pt", best_bytes)
"""


def test_load_run_racing_a_live_run_reads_one_consistent_commit(done_run, tmp_path):
    """load_run on a run dir whose last.pt and best.pt are rewritten as commits: never an error, and
    the best weights always belong to the record read (epoch marker in the weights == wall_time_s)."""
    from aelab.runs import load_run

    run_dir, stop = Path(shutil.copytree(done_run, tmp_path / "run")), tmp_path / "stop"
    before = (run_dir / "checkpoints" / "last.pt.sha256").read_bytes()
    writer = subprocess.Popen([sys.executable, "-c", RUN_WRITER, str(run_dir), str(stop)], env=env())
    try:
        deadline = time.monotonic() + 60
        while (run_dir / "checkpoints" / "last.pt.sha256").read_bytes() == before:
            assert writer.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        commits, key = set(), None
        for n in range(150):
            run = load_run(run_dir, "best" if n % 2 else "last")
            if run.which == "best":
                key = key or next(iter(run.model.state_dict()))
                assert float(run.model.state_dict()[key].view(-1)[0]) == run.metrics["wall_time_s"]
            commits.add(run.metrics["wall_time_s"])
    finally:
        stop.touch()
        writer.wait(timeout=60)
    assert len(commits) >= 5, "the writer did not commit during the reads"


# --- one-line OS errors ----------------------------------------------------------------------------


def _too_long(tmp_path: Path, what: str) -> Path:
    if what == "name":  # one name over NAME_MAX (255 bytes)
        return tmp_path / "new" / ("a" * 256) / "run"
    return tmp_path / "new" / "/".join(["d" * 200] * 21)  # 4221 bytes: over PATH_MAX (4096)


@pytest.mark.parametrize(
    "what, why",
    [
        ("name", "the name aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa… is 256 bytes; the file system allows 255"),
        pytest.param("path", "bytes; the system allows 4095", marks=pytest.mark.slow),
    ],
)
def test_a_run_dir_name_too_long_is_one_line_and_creates_nothing(tmp_path, mnist_root, what, why):
    target = _too_long(tmp_path, what)
    result = run(sys.executable, script("train.py"), *TINY, f"data.root={mnist_root}", f"hydra.run.dir={target}")
    message = one_error_line(result)
    assert message.startswith(f"cannot create {str(target)[:70]}") and message.endswith(why)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # a sweep's start-up: 8-15 s
def test_a_sweep_dir_name_too_long_is_one_line_and_creates_nothing(tmp_path, mnist_root):
    target = _too_long(tmp_path, "name")
    result = run(sys.executable, script("train.py"), "-m", *TINY, "activation=relu,tanh", f"hydra.sweep.dir={target}")
    assert one_error_line(result).startswith(f"cannot create {str(target)[:70]}")
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_working_directory_is_one_line_and_creates_nothing(read_only, mnist_root):
    mount, freeze = read_only
    freeze()
    result = run(sys.executable, script("train.py"), *TINY, f"data.root={mnist_root}", cwd=mount)
    message = one_error_line(result)
    assert message.startswith(f"cannot create {mount}/outputs/runs/")
    assert message.endswith(f": read-only file system ({mount})")
    assert list(mount.iterdir()) == []


def test_evaluate_refuses_a_read_only_run_dir_in_one_line(read_only, done_run):
    mount, freeze = read_only
    run_dir = Path(shutil.copytree(done_run, mount / "run"))
    freeze()
    before = snapshot(mount)
    refused = run(sys.executable, script("evaluate.py"), str(run_dir), "--device", "cpu")
    assert one_error_line(refused) == (
        f"cannot write into {run_dir}: read-only file system; write eval_test.json, reconstructions.png and "
        "features.png elsewhere with --out DIR"
    )
    assert snapshot(mount) == before


API_CALL = """
import sys
import aelab
try:
    aelab.load_run(sys.argv[1])
except Exception as err:
    print(type(err).__name__, isinstance(err, aelab.AelabError), isinstance(err, OSError), err)
"""


def test_permission_denied_on_a_runs_files_is_one_line(done_run, tmp_path, unprivileged):
    run_dir = Path(shutil.copytree(done_run, tmp_path / "run"))
    best = run_dir / "checkpoints" / "best.pt"
    best.chmod(0)
    result = run(sys.executable, script("evaluate.py"), str(run_dir), "--device", "cpu", prefix=unprivileged)
    assert one_error_line(result) == f"cannot read {best}: permission denied"
    (run_dir / "checkpoints").chmod(0)  # not even the names: the API says which path, as an AelabError
    api = run(sys.executable, "-c", API_CALL, str(run_dir), prefix=unprivileged)
    (run_dir / "checkpoints").chmod(0o755)
    assert api.stdout == f"AelabError True False cannot read {run_dir / 'checkpoints' / 'last.pt'}: permission denied\n"


def test_the_api_raises_aelab_errors_for_os_errors(tmp_path, tiny_cfg, done_run, read_only):
    """train, load_run and evaluate_run: a name too long, a read-only file system, a file where a
    folder belongs are AelabErrors naming the path, never OSErrors, and nothing is created; a
    read-only run is still read, and evaluated into another folder."""
    from aelab.runs import evaluate_run, load_run
    from aelab.training.loop import train

    cfg = tiny_cfg(*SIZE)
    for call in (lambda: train(cfg, run_dir=_too_long(tmp_path, "name")), lambda: load_run(tmp_path / ("a" * 256))):
        with pytest.raises(AelabError, match="is 256 bytes; the file system allows 255") as err:
            call()
        assert not isinstance(err.value, OSError)
    (tmp_path / "file").write_text("")
    with pytest.raises(AelabError, match=f"^cannot create {tmp_path}/file/run: {tmp_path}/file is a file, not a"):
        train(cfg, run_dir=tmp_path / "file" / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "ro"]
    mount, freeze = read_only
    run_dir = Path(shutil.copytree(done_run, mount / "run"))
    freeze()
    with pytest.raises(AelabError, match=f"^cannot create {mount}/new: read-only file system \\({mount}\\)$"):
        train(cfg, run_dir=mount / "new")
    with pytest.raises(RunDirError, match=f"^cannot write into {run_dir}: read-only file system"):
        evaluate_run(run_dir, device="cpu")
    result = evaluate_run(run_dir, device="cpu", out_dir=tmp_path / "eval")  # elsewhere (aelab-evaluate --out)
    assert result["test"]["sq_err_per_image"] > 0 and (tmp_path / "eval" / "eval_test.json").exists()
    assert torch.equal(
        next(iter(load_run(run_dir).model.state_dict().values())),
        next(iter(load_run(done_run).model.state_dict().values())),
    )  # reading a read-only run works
