# %% [markdown]
# # 2. Sigmoid vs ReLU: the gradient ladder, measured
#
# The recursion of [tutorial 1](../01_backward_by_hand/),
#
# ```text
# δ^(l) = (W^(l+1)ᵀ δ^(l+1)) ⊙ φ'(z^(l))
# ∂E/∂W^(l) = δ^(l) x^(l−1)ᵀ
# ```
#
# multiplies the error signal by φ' once per layer on its way down. The sigmoid's φ' is at most ¼;
# ReLU's is 1 where the unit is active. This tutorial measures ‖∂E/∂W^(l)‖ layer by layer in deep
# autoencoders of both kinds, at their initial weights and after a short training, on MNIST.
# About a minute on a 2-core CPU; every cell can be run again.

# %%
# %matplotlib inline
import tempfile

import matplotlib.pyplot as plt
import torch

import aelab

runs = tempfile.TemporaryDirectory(prefix="aelab_tutorial2_")  # this execution's runs; removed with the kernel
config = aelab.compose([])  # the defaults, as `aelab-train` builds them: where MNIST is, etc.
data = aelab.load_dataset(config.data.name, config.data.root, download=config.data.download, limit=1, eval_limit=256)
probe = data.val_x  # a fixed batch of 256 validation images
print(tuple(probe.shape))


def half_mse(out, x):
    """The lecture's E = 1/(2n) Σ‖x̂ − x‖², on a model's output (aelab.backprop's hand-written loss)."""
    return aelab.backprop.half_mse(out.recon, x)


# %% [markdown]
# ## At initialisation
#
# `aelab.build_model` makes a freshly initialised network, as a run would (each activation's own
# init: Glorot for sigmoid, He for ReLU). `aelab.layer_grad_norms` computes ‖∂E/∂W‖ of every weight
# layer on a batch, from the input side (`01_enc`) to the output layer (`99_out`).
# `depth=8` is 8 layers per side: 16 weight layers.

# %%
ACTIVATIONS = ("sigmoid", "tanh", "softplus", "relu")
at_init = {}
for activation in ACTIVATIONS:
    torch.manual_seed(0)
    model = aelab.build_model("mlp", activation=activation, depth=8, width=128)
    at_init[activation] = aelab.layer_grad_norms(model, probe, half_mse)

names = list(at_init["relu"])
fig, ax = plt.subplots(figsize=(8, 4))
for activation, norms in at_init.items():
    ax.semilogy(range(1, len(names) + 1), list(norms.values()), "o-", label=activation)
ax.set_xticks(range(1, len(names) + 1), names, rotation=60)
ax.set_ylabel("‖∂E/∂W^(l)‖ at initialisation")
ax.set_title("MLP autoencoder, 8 layers per side, width 128, 256 MNIST images")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# The sigmoid net's lines form a ladder: each layer gets a fixed fraction of the gradient of the
# layer above it. The ratio of the first layer's norm to the output layer's, and the mean factor per
# layer (the ratio's (L−1)-th root):

# %%
print(f"{'activation':10} {'first / last':>13} {'per layer':>10}")
for activation, norms in at_init.items():
    values = list(norms.values())
    ratio = values[0] / values[-1]
    print(f"{activation:10} {ratio:13.2e} {ratio ** (1 / (len(values) - 1)):10.3f}")

# %% [markdown]
# ## With depth
#
# The same ratio for 1, 2, 4 and 8 layers per side. Depth 1 is the linear autoencoder 784-30-784
# (no hidden activation), so its value is the same for every activation.

# %%
depths = (1, 2, 4, 8)
ratios = {activation: [] for activation in ("sigmoid", "relu")}
for activation in ratios:
    for depth in depths:
        torch.manual_seed(0)
        norms = list(
            aelab.layer_grad_norms(
                aelab.build_model("mlp", activation=activation, depth=depth, width=128), probe, half_mse
            ).values()
        )
        ratios[activation].append(norms[0] / norms[-1])

fig, ax = plt.subplots(figsize=(5, 3.5))
for activation, values in ratios.items():
    ax.semilogy(depths, values, "o-", label=activation)
ax.set_xticks(depths)
ax.set_xlabel("layers per side")
ax.set_ylabel("‖∂E/∂W^(1)‖ / ‖∂E/∂W^(L)‖")
ax.legend()
fig.tight_layout()
plt.show()
for activation, values in ratios.items():
    print(activation, " ".join(f"{v:.1e}" for v in values))

# %% [markdown]
# ## After training
#
# Does training fix it? Two short runs, sigmoid and ReLU at depth 8, with `aelab.train` (5,000
# training images, 3 epochs, no TensorBoard). A run records ‖∂E/∂W‖ per layer on 256 validation
# images at its initial weights (`grad_norms_init`) and after every epoch (`history[i]["grad_norms"]`),
# with the validation error. The runs go into a temporary directory made by the first cell;
# `skip_done=true` makes running this cell again return the stored runs.

# %%
QUICK = [
    "data.limit=5000",
    "data.eval_limit=1000",
    "trainer.epochs=3",
    "model.width=128",
    "depth=8",
    "logging=off",
    "trainer.progress=false",
    "device=cpu",
    "skip_done=true",
]
metrics = {}
for activation in ("sigmoid", "relu"):
    cfg = aelab.compose([*QUICK, f"activation={activation}"])
    metrics[activation] = aelab.train(cfg, run_dir=f"{runs.name}/{activation}")
    history = metrics[activation]["history"]
    print(activation, "validation sq. error per epoch:", [round(h["val"]["sq_err_per_image"], 2) for h in history])

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, activation in zip(axes, ("sigmoid", "relu")):
    m = metrics[activation]
    curves = [("init", m["grad_norms_init"])] + [(f"epoch {h['epoch']}", h["grad_norms"]) for h in m["history"]]
    for i, (label, norms) in enumerate(curves):
        ax.semilogy(
            range(1, len(norms) + 1), list(norms.values()), "o-", color=plt.cm.viridis(i / len(curves)), label=label
        )
    ax.set_title(f"{activation}, depth 8")
    ax.set_xlabel("weight layer (1: next to the input)")
    ax.legend()
axes[0].set_ylabel("‖∂E/∂W^(l)‖ on 256 validation images")
fig.tight_layout()
plt.show()

# %% [markdown]
# The sigmoid ladder stays: the layers next to the input get orders of magnitude less gradient than
# the output layer, epoch after epoch, so they barely move, and the sigmoid net's validation error
# stays far above the ReLU net's. ReLU passes the error signal down with a factor near one per layer.
# The same measurement runs in every aelab run: the `2_grad_norm_log10/` and `6_grad_norm_probe_log10/`
# charts in TensorBoard, and the sweep report's gradient-flow figure
# ([Gradient flow](../../explanation/gradient-flow/) explains the charts).
