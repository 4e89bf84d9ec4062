"""MNIST: LeCun et al.'s handwritten digits, 28×28 grey, 60,000 training and 10,000 test images.
Its raw files are checked against the published SHA-256 (as torchvision downloads them)."""

from aelab.data.idx import RAW_FILES, IdxDataset

DIGITS = tuple(str(d) for d in range(10))

DATASET = IdxDataset(
    name="mnist",
    title="MNIST handwritten digits",
    shape=(1, 28, 28),
    classes=DIGITS,
    n_images=70_000,
    folder="MNIST/raw",
    tv_class="MNIST",
    sha256=dict(
        zip(
            RAW_FILES,
            (
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
        )
    ),
    sizes=(60_000, 10_000),
)
