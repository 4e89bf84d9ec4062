# %% [markdown]
# # 3. An autoencoder's code space
#
# An autoencoder squeezes each 784-pixel image through a 30-number code and rebuilds the image
# from it. This tutorial trains a small one on MNIST with `aelab.train`, then looks at what the code
# holds: the reconstructions, a 2-D map of the 30-d codes coloured by digit, the digits whose codes
# are nearest to a query's, and the straight line between two codes.
# About a minute on a 2-core CPU; every cell can be run again.

# %%
# %matplotlib inline
import tempfile

import matplotlib.pyplot as plt
import torch

import aelab

runs = tempfile.TemporaryDirectory(prefix="aelab_tutorial3_")  # this execution's runs; removed with the kernel

# %%
cfg = aelab.compose(
    [
        "activation=relu",  # 784-256-256-256-30, mirrored: the default MLP
        "loss=bce",
        "optimizer.lr=2e-3",
        "data.limit=10000",
        "trainer.epochs=5",
        "logging=off",
        "trainer.progress=false",
        "device=cpu",
        "skip_done=true",  # running this cell again returns the stored run
    ]
)
metrics = aelab.train(cfg, run_dir=f"{runs.name}/mlp")
print(f"test sq. error per image: {metrics['test']['sq_err_per_image']:.2f} after {metrics['epochs_completed']} epochs")

# %% [markdown]
# `aelab.load_run` reads the run back: the model with its best-validation weights (in eval mode),
# the config it trained with, and its metrics. `aelab.load_dataset` gives the images as tensors
# (pixels in [0, 1]) with their labels, split as the run split them.

# %%
run = aelab.load_run(f"{runs.name}/mlp")
print(run.model.summary())
d = run.config.data
data = aelab.load_dataset(d.name, d.root, download=d.download, limit=d.limit, split_seed=d.split_seed)
print("train", tuple(data.train_x.shape), "test", tuple(data.test_x.shape))

# %% [markdown]
# ## Reconstructions
#
# The first two test images of each digit (top) and what the net rebuilds from their codes (bottom).

# %%
picks = torch.cat([torch.nonzero(data.test_y == digit)[:2, 0] for digit in range(10)])
with torch.no_grad():
    recon = run.model(data.test_x[picks]).recon
fig, axes = plt.subplots(2, len(picks), figsize=(len(picks) * 0.6, 1.5))
for column, index in enumerate(picks):
    axes[0, column].imshow(data.test_x[index, 0], cmap="gray")
    axes[1, column].imshow(recon[column, 0], cmap="gray")
for ax in axes.flat:
    ax.axis("off")
fig.tight_layout(pad=0.1)
plt.show()

# %% [markdown]
# ## A map of the codes
#
# Every test image's 30-d code, projected onto the two directions in which the codes vary most
# (`aelab.fit_pca`: principal component analysis), one colour per digit. The labels were never shown
# to the net.

# %%
with torch.no_grad():
    test_codes = run.model.encode(data.test_x)
    train_codes = run.model.encode(data.train_x)
pca = aelab.fit_pca(test_codes, 2)
xy = pca.encode(test_codes)
fig, ax = plt.subplots(figsize=(6.5, 6))
for digit in range(10):
    mask = data.test_y == digit
    ax.scatter(xy[mask, 0], xy[mask, 1], s=2, color=plt.cm.tab10(digit), label=str(digit))
ax.legend(markerscale=6, title="digit", loc="upper right")
ax.set_xlabel("first principal component of the codes")
ax.set_ylabel("second principal component")
fig.tight_layout()
plt.show()
print(
    "share of the codes' variance in the two directions:", f"{float(pca.variance.sum() / test_codes.var(0).sum()):.2f}"
)

# %% [markdown]
# Zeros and ones get regions of their own; digits that look alike (4, 7 and 9; 3, 5 and 8) overlap.
# Two of thirty directions show only part of the picture: the next section uses all thirty.
#
# ## Retrieval: the nearest codes
#
# For a few test images (in colour), the training images whose codes are nearest (Euclidean
# distance in the 30-d code space).

# %%
queries = picks[::4]  # one test image each of 0, 2, 4, 6, 8
nearest = torch.cdist(test_codes[queries], train_codes).topk(8, largest=False).indices
fig, axes = plt.subplots(len(queries), 9, figsize=(6, 0.75 * len(queries)))
for row, (query, found) in enumerate(zip(queries, nearest)):
    axes[row, 0].imshow(data.test_x[query, 0], cmap="magma")
    for column, index in enumerate(found, start=1):
        axes[row, column].imshow(data.train_x[index, 0], cmap="gray")
for ax in axes.flat:
    ax.axis("off")
axes[0, 0].set_title("query", fontsize=8)
axes[0, 1].set_title("its 8 nearest training images →", fontsize=8, loc="left")
fig.tight_layout(pad=0.1)
plt.show()

# %% [markdown]
# As a number, precision at 10 (`aelab.precision_at_k`): the share of each test image's 10 nearest
# training images that show the same digit, for 1,000 test queries. The same search on the raw
# pixels (784 numbers per image) and on PCA's 30-d code of the pixels, for comparison:

# %%
n_queries = 1000
q_y, db_y = data.test_y[:n_queries], data.train_y
pixel_pca = aelab.fit_pca(data.train_x, 30)
spaces = {
    "autoencoder codes (30-d)": (test_codes[:n_queries], train_codes),
    "PCA of the pixels (30-d)": (pixel_pca.encode(data.test_x[:n_queries]), pixel_pca.encode(data.train_x)),
    "pixels (784-d)": (data.test_x[:n_queries], data.train_x),
}
for name, (q, db) in spaces.items():
    print(f"{name:26} P@10 = {aelab.precision_at_k(q, q_y, db, db_y, k=10):.3f}")

# %% [markdown]
# ## Between two codes
#
# The decoder turns any code into an image. Codes on the straight line from a 3's code to an 8's:

# %%
three = data.test_x[data.test_y == 3][:1]
eight = data.test_x[data.test_y == 8][:1]
with torch.no_grad():
    a, b = run.model.encode(three), run.model.encode(eight)
    steps = torch.linspace(0, 1, 10)[:, None]
    images = run.model.decode((1 - steps) * a + steps * b)
fig, axes = plt.subplots(1, 10, figsize=(6, 0.8))
for ax, image in zip(axes, images):
    ax.imshow(image[0], cmap="gray")
    ax.axis("off")
fig.tight_layout(pad=0.1)
plt.show()

# %% [markdown]
# This net trained for a few seconds on a sixth of the images. The full-size versions of these
# measurements — the 784-1000-500-250-30 net on all 60,000 images, its linear probe and transfer
# with few labels — are on the [Results](../../results/) page.
