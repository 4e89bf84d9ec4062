"""Datasets by name: MNIST against its published checksums, and the same-format datasets
(Fashion-MNIST, KMNIST) through the registry, on small IDX files these tests write themselves
(this machine cannot download them)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import torch

from aelab.config import compose, to_config
from aelab.data import DATASETS, check_dataset
from aelab.data.load import load_dataset
from aelab.errors import DataError
from aelab.training.loop import train


def write_idx(folder: Path, n_train: int = 120, n_test: int = 24, seed: int = 0) -> None:
    """The four IDX files of a tiny dataset of 28×28 images: class c is a bright square at row 2c."""
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = torch.randint(0, 10, (n,), generator=g, dtype=torch.uint8)
        images = (torch.rand(n, 28, 28, generator=g) * 40).to(torch.uint8)
        for i, c in enumerate(labels.tolist()):
            images[i, 2 * c : 2 * c + 6, 8:20] = 255
        (folder / f"{split}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 0x803, n, 28, 28) + images.numpy().tobytes()
        )
        (folder / f"{split}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, n) + labels.numpy().tobytes())


@pytest.mark.parametrize("name, folder", [("fashion_mnist", "FashionMNIST"), ("kmnist", "KMNIST")])
def test_a_same_format_dataset_trains_by_name(tmp_path, name, folder):
    write_idx(tmp_path / "data" / folder / "raw")
    assert check_dataset(name, tmp_path / "data", download=False) == (120, 24)
    splits = load_dataset(name, tmp_path / "data")
    assert (len(splits.train_x), len(splits.val_x), len(splits.test_x)) == (110, 10, 24)
    assert (
        splits.train_x.shape[1:] == (1, 28, 28) and 0 <= float(splits.train_x.min()) <= float(splits.train_x.max()) <= 1
    )
    cfg = compose(
        [
            f"data={name}",
            f"data.root={tmp_path / 'data'}",
            "trainer.epochs=2",
            "trainer.batch_size=16",
            "model.width=16",
            "depth=2",
            "device=cpu",
            "logging=off",
            "trainer.progress=false",
        ]
    )
    assert to_config(cfg).data.name == name
    metrics = train(cfg, run_dir=tmp_path / "run")
    assert metrics["status"] == "completed" and metrics["hparams"]["data"]["name"] == name
    assert metrics["test"]["sq_err_per_image"] < metrics["history"][0]["val"]["sq_err_per_image"] * 2


def test_a_same_format_dataset_is_checked_by_its_headers(tmp_path):
    raw = tmp_path / "KMNIST" / "raw"
    write_idx(raw, n_train=60)
    (raw / "train-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, 59) + bytes(59))
    with pytest.raises(DataError, match="train-images holds 60 images but train-labels 59 labels"):
        check_dataset("kmnist", tmp_path, download=False)
    images = raw / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-5])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte is truncated"):
        check_dataset("kmnist", tmp_path, download=False)


def test_missing_data_says_which_files_where_and_the_one_remedy(tmp_path, monkeypatch):
    raw = tmp_path / "FashionMNIST" / "raw"
    with pytest.raises(DataError) as offline:
        check_dataset("fashion_mnist", tmp_path, download=True)
    assert str(offline.value) == (
        f"Fashion-MNIST is not in {raw} (missing train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte) and AELAB_OFFLINE=1 forbids downloading it: copy the "
        "files there, or point data.root (or AELAB_DATA_DIR) at the folder that holds FashionMNIST/raw"
    )
    monkeypatch.delenv("AELAB_OFFLINE")
    with pytest.raises(DataError, match=r"and data\.download=false: allow the download with data\.download=true"):
        check_dataset("fashion_mnist", tmp_path, download=False)

    def no_network(*args, **kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("torchvision.datasets.utils.download_url", no_network)
    with pytest.raises(DataError) as failed:
        check_dataset("fashion_mnist", tmp_path, download=True)
    message = str(failed.value)
    assert "and downloading it failed (" in message and "\n" not in message and "check the network" in message


def test_every_dataset_has_its_config_and_the_files_it_names():
    from aelab.data.idx import IdxDataset

    conf = Path(__file__).resolve().parents[1] / "conf" / "data"
    for name, dataset in DATASETS.items():
        data = to_config(compose([f"data={name}"])).data
        assert data.name == name
        for key in dataset.keys:  # its own keys are set by its conf/data/<name>.yaml (folder: data.path by you)
            assert getattr(data, key) is not None or key == "path", (name, key)
        if isinstance(dataset, IdxDataset) and name != "emnist":
            assert sorted(dataset.sha256) == sorted(
                [
                    "train-images-idx3-ubyte",
                    "train-labels-idx1-ubyte",
                    "t10k-images-idx3-ubyte",
                    "t10k-labels-idx1-ubyte",
                ]
            )
    assert sorted(p.stem for p in conf.glob("*.yaml")) == sorted(DATASETS)


@pytest.mark.parametrize("max_shift", [1, 2])
def test_shift_images_moves_each_image_by_its_own_offset_with_zero_fill(max_shift):
    """out_i(r, c) = x_i(r + dy_i, c + dx_i), dy/dx = offsets − max_shift, 0 outside the image;
    checked pixel by pixel against that formula, for every offset pair and two channels."""
    from aelab.data.augment import shift_images

    side = 2 * max_shift + 1
    n, channels, h, w = side * side, 2, 5, 6
    x = torch.rand(n, channels, h, w, generator=torch.Generator().manual_seed(0))
    offsets = torch.stack(torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")).reshape(2, -1)
    expected = torch.zeros_like(x)
    for i in range(n):
        dy, dx = int(offsets[0, i]) - max_shift, int(offsets[1, i]) - max_shift
        for r in range(h):
            for c in range(w):
                if 0 <= r + dy < h and 0 <= c + dx < w:
                    expected[i, :, r, c] = x[i, :, r + dy, c + dx]
    out = shift_images(x, max_shift, offsets)
    assert torch.equal(out, expected)
    centre = side * max_shift + max_shift  # offsets (m, m): no shift
    assert torch.equal(out[centre], x[centre])
