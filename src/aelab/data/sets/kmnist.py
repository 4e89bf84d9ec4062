"""Kuzushiji-MNIST (Clanuwat et al. 2018): ten classes of cursive Japanese characters in MNIST's
format and sizes; the raw files' IDX headers and sizes are checked."""

from aelab.data.idx import IdxDataset

DATASET = IdxDataset(
    name="kmnist",
    title="Kuzushiji-MNIST",
    shape=(1, 28, 28),
    classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    n_images=70_000,
    folder="KMNIST/raw",
    tv_class="KMNIST",
)
