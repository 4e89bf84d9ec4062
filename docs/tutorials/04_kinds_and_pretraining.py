# %% [markdown]
# # 4. Autoencoder kinds and layer-wise pretraining
#
# What a network is trained *as* is the config group `ae`, separate from the network itself: the
# same MLP can be a plain, denoising, sparse, contractive or variational autoencoder. This tutorial
# trains four kinds on the same small net and shows what each one changes, then trains a deep net
# with logistic (sigmoid) units with and without greedy layer-wise pretraining, the method that
# made such nets trainable (Hinton & Salakhutdinov 2006; Bengio et al. 2007).
# Small data and few epochs, so the numbers compare the methods' first steps, not their best:
# about a minute on a 2-core CPU; every cell can be run again.

# %%
# %matplotlib inline
import tempfile

import matplotlib.pyplot as plt
import torch

import aelab

runs = tempfile.TemporaryDirectory(prefix="aelab_tutorial4_")  # this execution's runs; removed with the kernel
QUICK = [
    "data.limit=2000",
    "data.eval_limit=1000",
    "logging=off",
    "trainer.progress=false",
    "device=cpu",
    "skip_done=true",
]  # skip_done: running a cell again returns the stored runs


def train(name: str, overrides: list[str]) -> dict:
    """One run of the given overrides into its own directory; its metrics."""
    return aelab.train(aelab.compose([*QUICK, *overrides]), run_dir=f"{runs.name}/{name}")


# %% [markdown]
# ## Four kinds on one network
#
# A 784-256-30-256-784 ReLU net (`depth=2`), 2,000 training images, 5 epochs, each kind with the
# defaults of its `conf/ae/<kind>.yaml`:
#
# * `plain`: rebuild x from its code;
# * `denoising`: rebuild x from a corrupted x (30% of its pixels zeroed);
# * `sparse`: rebuild x, plus `weight · Σ_j KL(ρ ‖ ρ̂_j)`, where ρ̂_j is the mean activation of
#   (logistic) code unit j over the batch: few active code units;
# * `vae`: rebuild x from a code sampled from q(z|x) = N(μ, σ²), plus `β · KL(q(z|x) ‖ N(0, I))`:
#   the loss is −ELBO.

# %%
KINDS = ("plain", "denoising", "sparse", "vae")
kind_metrics = {kind: train(kind, [f"ae={kind}", "depth=2", "trainer.epochs=5"]) for kind in KINDS}
for kind, m in kind_metrics.items():
    extra = {k: round(v, 2) for k, v in m["test"].items() if k not in ("sq_err_per_image", "mse", "bce")}
    print(f"{kind:10} test sq. error per image {m['test']['sq_err_per_image']:6.2f}  {extra}")

# %% [markdown]
# Every kind reports the same reconstruction error, of clean test images, whatever it was trained
# on; a kind adds its own measures (`corrupted_sq_err_per_image`: clean images rebuilt from
# corrupted ones; the VAE's `neg_elbo` and `kl`, in nats). The reconstructions of the same test digits:

# %%
config = aelab.compose(QUICK)
data = aelab.load_dataset(config.data.name, config.data.root, download=config.data.download, limit=1, eval_limit=1000)
images = data.test_x[:12]
models = {kind: aelab.load_run(f"{runs.name}/{kind}").model for kind in KINDS}
fig, axes = plt.subplots(len(KINDS) + 1, len(images), figsize=(len(images) * 0.6, (len(KINDS) + 1) * 0.65))
rows = [("input", images)]
with torch.no_grad():
    rows += [(kind, model(images).recon) for kind, model in models.items()]
for r, (label, batch) in enumerate(rows):
    for c, image in enumerate(batch):
        axes[r, c].imshow(image[0], cmap="gray")
        axes[r, c].axis("off")
    axes[r, 0].set_title(label, fontsize=8, loc="left")
fig.tight_layout(pad=0.2)
plt.show()

# %% [markdown]
# What the penalties act on. The sparse autoencoder's code units are logistic, and the KL penalty
# pulls each unit's mean activation over the images (its firing rate) towards ρ = 0.05; after these
# few epochs the chart shows how far each unit still is from it. The VAE's KL term pulls the codes
# towards the prior N(0, I), so that its decoder turns codes drawn from the prior into images:

# %%
with torch.no_grad():
    sparse_rate = models["sparse"].encode(data.test_x).mean(0)
    torch.manual_seed(0)
    samples = models["vae"].decode(torch.randn(12, kind_metrics["vae"]["hparams"]["model"]["code_dim"]))
fig = plt.figure(figsize=(11, 2.6))
left, right = fig.subfigures(1, 2)
ax = left.subplots()
ax.bar(range(len(sparse_rate)), sparse_rate)
ax.axhline(0.05, color="red", linestyle="--", label="ρ = 0.05")
ax.set_xlabel("code unit")
ax.set_ylabel("mean activation")
ax.set_title("ae=sparse: each code unit's firing rate", fontsize=9)
ax.legend()
for sub, image in zip(right.subplots(2, 6).flat, samples):
    sub.imshow(image[0], cmap="gray")
    sub.axis("off")
right.suptitle("ae=vae: decoded from codes z ~ N(0, I)", fontsize=9)
plt.show()

# %% [markdown]
# ## Layer-wise pretraining of a logistic net
#
# [Tutorial 2](../02_sigmoid_vs_relu/) showed that the gradient fades through sigmoid layers. Before
# ReLU units, the fix was to pretrain: `pretrain=layerwise` trains encoder layer 1 as a shallow
# autoencoder of the images, layer 2 as one of layer 1's codes, and so on, each decoder the
# transposed encoder weights; then the whole stack is trained end to end. Three runs of a
# 784-256-128-64-30 net (3,000 training images, 5 end-to-end epochs): logistic units without and with
# pretraining (2 epochs per layer), and ReLU units without, for reference.

# %%
NET = ["model.hidden=[256,128,64]", "loss=bce", "optimizer.lr=2e-3", "data.limit=3000", "trainer.epochs=5"]
deep = {
    "sigmoid": train("sigmoid", [*NET, "activation=sigmoid"]),
    "sigmoid + layerwise": train(
        "sigmoid_layerwise", [*NET, "activation=sigmoid", "pretrain=layerwise", "pretrain.epochs_per_layer=2"]
    ),
    "relu": train("relu", [*NET, "activation=relu"]),
}
for name, m in deep.items():
    norms = list(m["grad_norms_init"].values())
    error = m["test"]["sq_err_per_image"]
    print(f"{name:20} test sq. error {error:6.2f}   ‖∂E/∂W‖ first / last layer {norms[0] / norms[-1]:.1e}")
for stage in deep["sigmoid + layerwise"]["pretrain"]["stages"]:
    print(f"pretraining {stage['layer']}: loss per epoch {[round(loss, 2) for loss in stage['losses']]}")

# %% [markdown]
# `grad_norms_init` is measured where the end-to-end training starts: after pretraining, for the
# pretrained net. Compare the first / last ratios above: pretraining lifts the logistic net's first
# layers out of the bottom of the ladder, and end-to-end training starts lower and goes further
# from there:

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for name, m in deep.items():
    norms = m["grad_norms_init"]
    axes[0].semilogy(range(1, len(norms) + 1), list(norms.values()), "o-", label=name)
    axes[1].plot(
        [h["epoch"] for h in m["history"]], [h["val"]["sq_err_per_image"] for h in m["history"]], "o-", label=name
    )
axes[0].set_xlabel("weight layer (1: next to the input)")
axes[0].set_ylabel("‖∂E/∂W^(l)‖ when end-to-end training starts")
axes[1].set_xlabel("end-to-end epoch")
axes[1].set_xticks(range(1, 6))
axes[1].set_ylabel("validation sq. error per image")
for ax in axes:
    ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ReLU units spread the gradient over the layers without any pretraining, which is why deep nets
# are trained end to end today. The full-size comparison (the 784-1000-500-250-30 net, 20 epochs
# on all images) and every kind on the full networks are on the [Results](../../results/) page;
# [Autoencoder kinds](../../explanation/kinds/) and [Pretraining](../../explanation/pretraining/)
# explain the methods.
