"""The datasets ``data.name`` chooses from: one row each. Adding a dataset is a row here and a
``conf/data/<name>.yaml``; every caller loads through :func:`aelab.data.load_dataset`.

All three are 28×28 grey images in the IDX format, read by their torchvision class from
``<data.root>/<folder>/raw/``. MNIST's files are checked against the published SHA-256 (as
torchvision downloads them; see ``../shared/data/README.md``); for the others, whose published
checksums are of the ``.gz`` archives (checked by torchvision when it downloads them), the raw
files' IDX headers and sizes are checked.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dataset:
    name: str
    torchvision_class: str  # torchvision.datasets.<class>; also the folder under data.root
    title: str
    # raw file name -> its published SHA-256 (None: check the IDX header and size only)
    sha256: dict[str, str | None]
    # exact number of (train, test) images, when the dataset's size is fixed
    sizes: tuple[int, int] | None = None


_RAW = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

DATASETS: dict[str, Dataset] = {
    "mnist": Dataset(
        "mnist",
        "MNIST",
        "MNIST handwritten digits",
        dict(
            zip(
                _RAW,
                (
                    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                ),
            )
        ),
        sizes=(60_000, 10_000),
    ),
    # Xiao et al. 2017: ten classes of clothing, a drop-in for MNIST (same sizes and format)
    "fashion_mnist": Dataset("fashion_mnist", "FashionMNIST", "Fashion-MNIST", dict.fromkeys(_RAW)),
    # Clanuwat et al. 2018: ten classes of cursive Japanese (Kuzushiji) characters, same sizes and format
    "kmnist": Dataset("kmnist", "KMNIST", "Kuzushiji-MNIST", dict.fromkeys(_RAW)),
}
