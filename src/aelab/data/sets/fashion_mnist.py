"""Fashion-MNIST (Xiao et al. 2017): ten classes of clothing in MNIST's format and sizes. Its
published checksums are of the .gz archives (checked by torchvision when it downloads them), so
the raw files' IDX headers and sizes are checked."""

from aelab.data.idx import IdxDataset

DATASET = IdxDataset(
    name="fashion_mnist",
    title="Fashion-MNIST",
    shape=(1, 28, 28),
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    n_images=70_000,
    folder="FashionMNIST/raw",
    tv_class="FashionMNIST",
)
