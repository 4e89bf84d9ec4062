"""Datasets beyond 28×28 grey digits: each real file format written small by these tests (CIFAR's
pickled batches, SVHN's .mat, EMNIST's gzipped IDX, a folder of images) and read through the row's
own check and torchvision's loader; the bundled digits8 and patches; the keys a dataset owns; every
family built on four image shapes and trained one step."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from aelab.config import check, compose, to_config
from aelab.data import DATASETS, check_dataset, class_names, image_format
from aelab.data.load import load_dataset
from aelab.errors import ConfigError, DataError


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# --- CIFAR-10: pickled batches ---------------------------------------------------------------------


def write_cifar(root: Path, per_batch: int = 4, n_test: int = 6) -> Path:
    """The seven files of cifar-10-batches-py: image i of a batch has red = i, green = 100, blue = 200."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, n in [*((f"data_batch_{b}", per_batch) for b in range(1, 6)), ("test_batch", n_test)]:
        planes = np.zeros((n, 3, 32 * 32), dtype=np.uint8)
        planes[:, 0] = np.arange(n)[:, None]
        planes[:, 1], planes[:, 2] = 100, 200
        batch = {"batch_label": name, "labels": [i % 10 for i in range(n)], "data": planes.reshape(n, 3072)}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": list(DATASETS["cifar10"].classes)}))
    return folder


@pytest.fixture
def cifar(tmp_path, monkeypatch):
    """Tiny CIFAR files, their MD5s standing in for the published ones (in the row and torchvision)."""
    from torchvision import datasets

    folder = write_cifar(tmp_path / "data")
    sums = {name: md5(folder / name) for name in DATASETS["cifar10"].md5}
    for name, value in sums.items():
        monkeypatch.setitem(DATASETS["cifar10"].md5, name, value)
    monkeypatch.setattr(
        datasets.CIFAR10, "train_list", [[f"data_batch_{b}", sums[f"data_batch_{b}"]] for b in range(1, 6)]
    )
    monkeypatch.setattr(datasets.CIFAR10, "test_list", [["test_batch", sums["test_batch"]]])
    monkeypatch.setattr(datasets.CIFAR10, "meta", {**datasets.CIFAR10.meta, "md5": sums["batches.meta"]})
    return tmp_path / "data"


def test_cifar10_batches_load_as_colour_or_grey(cifar):
    assert check_dataset("cifar10", cifar, download=False, grayscale=False) == (20, 6)
    splits = load_dataset("cifar10", cifar, grayscale=False)
    assert (len(splits.train_x) + len(splits.val_x), len(splits.test_x)) == (20, 6)
    assert splits.test_x.shape[1:] == (3, 32, 32)
    assert splits.test_x[3, :, 5, 7].mul(255).round().tolist() == [3, 100, 200]  # channel order kept
    grey = load_dataset("cifar10", cifar, grayscale=True)
    assert grey.test_x.shape[1:] == (1, 32, 32)
    assert float(grey.test_x[3, 0, 0, 0]) == pytest.approx((0.299 * 3 + 0.587 * 100 + 0.114 * 200) / 255, abs=1e-6)
    assert image_format({"name": "cifar10", "grayscale": True}).shape == (1, 32, 32)


def test_a_changed_cifar_batch_fails_its_published_checksum(cifar):
    batch = cifar / "cifar-10-batches-py" / "data_batch_3"
    data = bytearray(batch.read_bytes())
    data[-10] ^= 0xFF
    batch.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"data_batch_3 is corrupt: its MD5 differs from the published one"):
        check_dataset("cifar10", cifar, download=False, grayscale=False)
    batch.unlink()
    with pytest.raises(DataError) as missing:
        check_dataset("cifar10", cifar, download=False, grayscale=False)
    assert str(missing.value).startswith(f"CIFAR-10 is not in {cifar / 'cifar-10-batches-py'} (missing data_batch_3)")
    assert "AELAB_OFFLINE=1 forbids downloading it" in str(missing.value)


# --- SVHN: MATLAB files -------------------------------------------------------------------------------


def test_svhn_mat_files_load_with_the_digit_zero_as_label_0(tmp_path, monkeypatch):
    from scipy.io import savemat
    from torchvision import datasets

    folder = tmp_path / "SVHN"
    folder.mkdir()
    for split, n in (("train", 15), ("test", 5)):
        x = np.zeros((32, 32, 3, n), dtype=np.uint8)
        x[:, :, 0, :] = np.arange(n) * 10  # red = 10·i
        x[4, 9, 2, :] = 77  # one blue pixel at row 4, column 9
        y = np.array([[10 if i % 10 == 0 else i % 10] for i in range(n)], dtype=np.uint8)
        savemat(folder / f"{split}_32x32.mat", {"X": x, "y": y})
    sums = {s: md5(folder / f"{s}_32x32.mat") for s in ("train", "test")}
    for split, value in sums.items():
        monkeypatch.setitem(DATASETS["svhn"].md5, split, value)
    lists = {s: [u, f, sums.get(s, m)] for s, (u, f, m) in datasets.SVHN.split_list.items()}
    monkeypatch.setattr(datasets.SVHN, "split_list", lists)
    assert check_dataset("svhn", tmp_path, download=False, grayscale=False) == (15, 5)
    splits = load_dataset("svhn", tmp_path, grayscale=False)
    assert splits.test_y.tolist() == [0, 1, 2, 3, 4]
    assert splits.test_x.shape[1:] == (3, 32, 32) and float(splits.test_x[2, 0, 0, 0]) == pytest.approx(20 / 255)
    assert float(splits.test_x[0, 2, 4, 9]) == pytest.approx(77 / 255)
    assert class_names({"name": "svhn"})[0] == "0"
    savemat(folder / "test_32x32.mat", {"X": np.zeros((32, 32, 3, 5), dtype=np.uint8)})  # no y
    monkeypatch.setitem(DATASETS["svhn"].md5, "test", md5(folder / "test_32x32.mat"))
    with pytest.raises(DataError, match=r"test_32x32.mat is not an SVHN .mat file: X \(32, 32, 3, 5\), y None"):
        check_dataset("svhn", tmp_path, download=False, grayscale=False)


# --- EMNIST: gzipped IDX ------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x803 if array.ndim == 3 else 0x801
    return struct.pack(">I" + "I" * array.ndim, magic, *array.shape) + array.astype(np.uint8).tobytes()


def test_emnist_gzipped_idx_is_unpacked_and_turned_upright(tmp_path):
    raw = tmp_path / "EMNIST" / "raw"
    raw.mkdir(parents=True)
    for split, n in (("train", 24), ("test", 12)):
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        images[:, 0, :] = 255  # the file's first row: the first column of the upright image
        labels = np.arange(n) % 26 + 1
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            (raw / f"emnist-letters-{split}-{kind}-ubyte.gz").write_bytes(gzip.compress(idx_bytes(array)))
    assert check_dataset("emnist", tmp_path, download=False, split="letters") == (24, 12)
    assert (raw / "emnist-letters-train-images-idx3-ubyte").is_file()
    splits = load_dataset("emnist", tmp_path, split="letters")
    assert splits.test_x.shape[1:] == (1, 28, 28)
    assert splits.test_x[0, 0, :, 0].min() == 1 and splits.test_x[0, 0, 0, 1:].max() == 0
    assert class_names({"name": "emnist", "split": "letters"})[splits.test_y[0]] == "a"
    with pytest.raises(DataError, match=r"EMNIST is not in .* \(missing emnist-digits-train-images-idx3-ubyte"):
        check_dataset("emnist", tmp_path, download=False, split="digits")
    (raw / "emnist-letters-test-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(11)))
    with pytest.raises(DataError, match="emnist-letters-test-images holds 12 images but emnist-letters-test-labels 11"):
        check_dataset("emnist", tmp_path, download=False, split="letters")


# --- a folder of images ---------------------------------------------------------------------------------


def write_folder(path: Path, classes: tuple[str, ...] = ("circles", "squares"), per_class: int = 10) -> Path:
    from PIL import Image

    for c, name in enumerate(classes):
        (path / name).mkdir(parents=True)
        for i in range(per_class):
            size = (40 + 3 * i, 30 + c)  # different sizes and shapes: each is cropped and resized
            Image.new("RGB", size, (200 * c, 10 * i, 50)).save(path / name / f"{i:02d}.png")
    return path


def test_a_folder_with_a_subfolder_per_class(tmp_path):
    path = write_folder(tmp_path / "mine")
    keys = {"path": str(path), "size": 12, "channels": 3}
    assert check_dataset("folder", "unused", download=False, **keys) == (18, 2)  # every 10th is a test image
    splits = load_dataset("folder", "unused", **keys)
    assert splits.test_x.shape == (2, 3, 12, 12) and splits.test_y.tolist() == [0, 1]
    assert splits.test_x[1, :, 6, 6].mul(255).round().tolist() == [200, 90, 50]
    assert class_names({"name": "folder", **keys}) == ("circles", "squares")
    grey = load_dataset("folder", "unused", **{**keys, "channels": 1, "size": 9})
    assert grey.train_x.shape[1:] == (1, 9, 9)


def test_a_folder_that_cannot_be_used_is_one_line(tmp_path):
    keys = {"size": 8, "channels": 1}
    with pytest.raises(DataError, match=r"data.path=.*nowhere is not a folder"):
        check_dataset("folder", "x", download=False, path=str(tmp_path / "nowhere"), **keys)
    with pytest.raises(
        ConfigError, match=r"^data=folder needs data.path; point it at the folder of your images: data.path=DIR$"
    ):
        check_dataset("folder", "x", download=False, **keys)
    path = write_folder(tmp_path / "few", classes=("a",), per_class=4)
    with pytest.raises(DataError, match=r"holds 4 images \(1 class folders\); data=folder needs at least 10"):
        check_dataset("folder", "x", download=False, path=str(path), **keys)
    path = write_folder(tmp_path / "bad")
    (path / "squares" / "03.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"squares/03.png is not an image that can be read"):
        check_dataset("folder", "x", download=False, path=str(path), **keys)


# --- bundled: scikit-learn's digits, scikit-image's photographs -------------------------------------------


def test_digits8_has_its_documented_fixed_split():
    assert check_dataset("digits8", "unused", download=False) == (1500, 297)
    splits = load_dataset("digits8", "unused")
    assert [len(s) for s in (splits.train_x, splits.val_x, splits.test_x)] == [1200, 300, 297]
    assert splits.train_x.shape[1:] == (1, 8, 8) and float(splits.train_x.max()) == 1.0
    from sklearn.datasets import load_digits

    digits = load_digits()
    assert torch.equal(splits.test_x.flatten(1) * 16, torch.tensor(digits.data[1500:], dtype=torch.float32))
    assert splits.test_y.tolist() == digits.target[1500:].tolist()


def test_patches_of_each_split_come_from_their_own_photographs():
    from aelab.data.sets.patches import PHOTOS, photos

    for grey in (True, False):
        splits = [{f for f, _ in photos(grey, s)} for s in ("train", "val", "test")]
        assert all(splits) and not (splits[0] & splits[1] or splits[0] & splits[2] or splits[1] & splits[2])
    assert len({f for f, *_ in PHOTOS}) == len(PHOTOS)
    keys = {"patch_size": 6, "grayscale": False, "normalize": "none"}
    splits = load_dataset("patches", "unused", **keys)
    assert [len(s) for s in (splits.train_x, splits.val_x, splits.test_x)] == [30_000, 5_000, 5_000]
    assert splits.train_x.shape[1:] == (3, 6, 6) and 0 <= float(splits.train_x.min()) < float(splits.train_x.max()) <= 1
    # chelsea (the validation photograph in colour) is a ginger cat: more red than blue
    assert float(splits.val_x[:, 0].mean()) > float(splits.val_x[:, 2].mean()) + 0.1


def test_whitening_uses_the_training_patches_alone():
    from aelab.data.whiten import normalise

    g = torch.Generator().manual_seed(0)
    mix = torch.randn(16, 16, generator=g)
    train = (torch.randn(4000, 16, generator=g) @ mix).view(-1, 1, 4, 4)
    test = torch.rand(50, 1, 4, 4, generator=g)
    white, white_test = normalise("zca", train, test)
    again, _ = normalise("zca", train, test * 5)
    assert torch.equal(white, again)  # the test patches never change the transform
    cov = torch.cov(white.flatten(1).T.double())
    assert float(torch.linalg.eigvalsh(cov).max()) < 1.0  # whitened: every variance at most 1
    standard = normalise("standardize", train)[0]
    assert float(standard.std()) == pytest.approx(1.0, abs=1e-3)
    assert float(standard.mean(dim=(1, 2, 3)).abs().max()) < 1e-5  # each patch's brightness removed
    assert white_test.shape == test.shape


# --- the keys a dataset owns --------------------------------------------------------------------------------


def test_a_dataset_key_is_refused_for_a_dataset_that_does_not_read_it():
    with pytest.raises(ConfigError) as err:
        check(to_config(compose(["data.patch_size=8"])))
    assert (
        str(err.value)
        == "data.patch_size=8 does not apply to data=mnist (only to data=patches): remove data.patch_size"
    )
    with pytest.raises(
        ConfigError,
        match=r"^data.grayscale=true does not apply to data=digits8 \(only to data=patches, data=cifar10, data=svhn\)",
    ):
        check(to_config(compose(["data=digits8", "data.grayscale=true"])))


def test_real_valued_patches_need_a_linear_output():
    cfg = to_config(compose(["data=patches"]))
    check(cfg)
    assert cfg.model.output_activation == "identity" and image_format(cfg.data).value_range is None
    with pytest.raises(ConfigError, match=r"^data.normalize=zca gives values outside \[0, 1\], which a σ output"):
        check(to_config(compose(["data=patches", "model.output_activation=sigmoid"])))
    check(to_config(compose(["data=patches", "data.normalize=none", "model.output_activation=sigmoid", "loss=bce"])))


def test_the_shape_follows_the_data_keys_everywhere():
    from aelab.build import build
    from aelab.config.check import training_bytes

    small, large = (
        to_config(compose(["data=patches", f"data.patch_size={p}", "data.grayscale=false"])) for p in (8, 16)
    )
    assert image_format(large.data).shape == (3, 16, 16)
    assert build(large).layers()[0][1].weight.shape[1] == 3 * 16 * 16
    assert training_bytes(large) > training_bytes(small)
    assert large.model.size((3, 16, 16)).params > small.model.size((3, 8, 8)).params
    with pytest.raises(ConfigError, match=r"model.code_dim=30 is out of range: model.code_dim must be <= 16"):
        check(to_config(compose(["data=patches", "data.patch_size=4"])))
    bare = to_config(compose([]))
    bare.data.name = "patches"  # without conf/data/patches.yaml: its keys are null
    with pytest.raises(ConfigError, match=r"^data=patches needs data.patch_size"):
        check(bare)


# --- every family on every shape -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 13, 11)])
@pytest.mark.parametrize("family", ["mlp", "conv"])
def test_every_family_builds_on_the_shape_and_trains_one_step(family, shape):
    from aelab.build import build_model

    keys = {"width": 16} if family == "mlp" else {"channels": 4}
    torch.manual_seed(0)
    model = build_model(family, shape=shape, depth=3, code_dim=6, **keys)
    assert model.config.size(shape).params == sum(p.numel() for p in model.parameters())
    x = torch.rand(5, *shape)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    before = [p.detach().clone() for p in model.parameters()]
    out = model(x)
    loss = (out.recon - x).pow(2).mean()
    loss.backward()
    optimizer.step()
    assert out.recon.shape == x.shape and out.code.shape == (5, 6) and torch.isfinite(loss)
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    with torch.no_grad():
        assert float((model(x).recon - x).pow(2).mean()) < float(loss)


# --- what the first layer learned: features/<layer>, features.png ---------------------------------------------


def test_feature_tiles_scale_each_unit_on_its_own():
    from aelab.features import feature_tiles

    weight = torch.zeros(2, 12)
    weight[0, 5], weight[0, 7] = 4.0, -2.0
    weight[1, 0] = -0.001  # a unit of tiny weights is drawn with full contrast too
    tiles = feature_tiles(weight, (3, 2, 2))
    assert tiles.shape == (2, 3, 2, 2)
    assert tiles[0].flatten().tolist() == [0.5] * 5 + [1.0, 0.5, 0.25] + [0.5] * 4
    assert float(tiles[1].flatten()[0]) == 0.0 and float(tiles[1].flatten()[1]) == 0.5


def test_a_convolution_shows_its_kernels_as_enlarged_colour_tiles():
    from aelab.build import build_model
    from aelab.features import MIN_TILE, feature_grid

    model = build_model("conv", shape=(3, 16, 16), depth=2, channels=4, code_dim=5)
    name, grid = feature_grid(model)
    side = 3 * (MIN_TILE // 3)  # 3×3 kernels, 8× enlarged
    assert name == "01_enc" and grid.shape == (3, 2 + 2 * (side + 2), 2 + 2 * (side + 2))
    assert not torch.equal(grid[0], grid[1])  # colour: each channel its own weights


def test_tensorboard_and_evaluate_show_the_features_and_class_names(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from aelab.runs import evaluate_run
    from aelab.training.loop import train

    path = write_folder(tmp_path / "mine")
    cfg = compose(
        ["data=folder", f"data.path={path}", "data.size=8", "depth=2", "model.width=16", "model.code_dim=4"]
        + ["trainer.epochs=2", "trainer.batch_size=8", "device=cpu", "trainer.progress=false"]
        + ["logging.histograms=false", "logging.n_images=4", "logging.n_projector=2"]
    )
    metrics = train(cfg, run_dir=tmp_path / "run")
    assert metrics["status"] == "completed", metrics.get("error")
    acc = EventAccumulator(str(tmp_path / "run" / "tb"), size_guidance={"images": 0})
    acc.Reload()
    shots = acc.Images("features/01_enc")
    assert len(shots) == 2 and (shots[-1].width, shots[-1].height) == (4 * 26 + 2, 4 * 26 + 2)  # 16 units, 4×4
    (names,) = (tmp_path / "run" / "tb").glob("*/codes/metadata.tsv")
    rows = [line.split("\t") for line in names.read_text().splitlines()]
    assert rows == [["class", "name"], ["0", "circles"], ["1", "squares"]]  # the projector names each code's class
    result = evaluate_run(tmp_path / "run", device="cpu", n_images=2, out_dir=tmp_path / "eval")
    from PIL import Image

    assert Image.open(result["features"]).size == (4 * 26 + 2, 4 * 26 + 2)
    assert Image.open(result["grid"]).size == (2 + 2 * 26, 2 + 2 * 26)  # 8×8 images enlarged to 24×24


@pytest.mark.slow
def test_a_sweep_over_datasets_reports_each_dataset(tmp_path):
    """``aelab-train -m data=digits8,patches model=mlp,conv``: every job completes, the report's rows
    are labelled by dataset, and it draws the best run of each dataset with its own images."""
    import csv
    import subprocess
    import sys

    from conftest import REPO

    sweep = tmp_path / "sweep"
    tiny = ["data.limit=256", "data.eval_limit=128", "trainer.epochs=1", "trainer.batch_size=64", "depth=2"]
    cmd = [sys.executable, "scripts/train.py", "-m", "data=digits8,patches", "model=mlp,conv", *tiny]
    cmd += ["logging=off", "trainer.progress=false", "device=cpu", f"hydra.sweep.dir={sweep}"]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(sweep / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["data"], r["model"], r["status"]) for r in rows] == [
        ("digits8", "mlp", "completed"),
        ("digits8", "conv", "completed"),
        ("patches", "mlp", "completed"),
        ("patches", "conv", "completed"),
    ]
    report = (sweep / "report.md").read_text()
    assert "| 0 | digits8 | mlp | completed |" in report and "| 3 | patches | conv | completed |" in report
    for dataset in ("digits8", "patches"):
        for figure in ("recon", "features"):
            png = sweep / "report_files" / f"{figure}_best_{dataset}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
