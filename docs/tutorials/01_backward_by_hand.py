# %% [markdown]
# # 1. The lecture's backward, by hand
#
# Backpropagation is three equations. This tutorial computes them with plain torch tensors on a
# three-layer net, checks the numbers against torch's autograd, and then runs the same net through
# `aelab.backprop`, the `torch.autograd.Function` whose `backward` is these equations.
#
# The lecture writes one example as a column vector; the code takes a batch of n examples as the
# rows of a matrix, so `W x` becomes `X Wᵀ` and the sums over examples become matrix products. The
# loss is E = 1/(2n) Σ_k ‖x_k^(L) − y_k‖², the mean over the batch.
#
# ```text
# one example (the lecture)                  a batch of n rows (this page, and the code)
# z^(l) = W^(l) x^(l−1) + b^(l)              Z^(l) = X^(l−1) W^(l)ᵀ + b^(l)
# x^(l) = φ(z^(l))                           X^(l) = φ(Z^(l))
# δ^(L) = (x^(L) − y) ⊙ φ'(z^(L))            Δ^(L) = (X^(L) − Y) ⊙ φ'(Z^(L)) / n
# δ^(l) = (W^(l+1)ᵀ δ^(l+1)) ⊙ φ'(z^(l))     Δ^(l) = (Δ^(l+1) W^(l+1)) ⊙ φ'(Z^(l))
# ∂E/∂W^(l) = δ^(l) x^(l−1)ᵀ                 ∂E/∂W^(l) = Δ^(l)ᵀ X^(l−1)
# ∂E/∂b^(l) = δ^(l)                          ∂E/∂b^(l) = Σ over the rows of Δ^(l)
# ```
#
# The `/ n` is the 1/n of the mean. Runs on a CPU in seconds; every cell can be run again.

# %%
# %matplotlib inline
import inspect

import matplotlib.pyplot as plt
import torch

import aelab.backprop

torch.set_default_dtype(torch.float64)  # float64: hand and autograd then agree to ~1e-16
generator = torch.Generator().manual_seed(0)

sizes = [6, 5, 4, 3]  # x^(0) has 6 units, then three weight layers of 5, 4 and 3 units
n = 8  # examples in the batch
weights = [torch.randn(o, i, generator=generator) / i**0.5 for i, o in zip(sizes[:-1], sizes[1:])]
biases = [0.1 * torch.randn(o, generator=generator) for o in sizes[1:]]
x0 = torch.randn(n, sizes[0], generator=generator)
y = torch.rand(n, sizes[-1], generator=generator)
print([tuple(w.shape) for w in weights])

# %% [markdown]
# ## φ and φ' of the logistic unit
#
# Every layer uses the sigmoid φ(z) = 1 / (1 + e^(−z)). Its derivative can be written with the
# output alone, φ'(z) = a (1 − a) with a = φ(z): that is why a layer only has to keep its output for
# the backward. `aelab.backprop.ACTIVATIONS` holds one row per activation with φ and φ'.

# %%
sigmoid = aelab.backprop.ACTIVATIONS["sigmoid"]
relu = aelab.backprop.ACTIVATIONS["relu"]
z = torch.linspace(-6, 6, 241)
fig, axes = plt.subplots(1, 2, figsize=(9, 3), sharex=True)
for ax, row in zip(axes, (sigmoid, relu)):
    a = row.phi(z)
    ax.plot(z, a, label="φ(z)")
    ax.plot(z, row.dphi(a), label="φ'(z), from a = φ(z)")
    ax.set_title(row.name)
    ax.set_xlabel("z")
    ax.legend()
fig.tight_layout()
plt.show()
print("max of sigmoid's φ':", float(sigmoid.dphi(sigmoid.phi(z)).max()))

# %% [markdown]
# The sigmoid's slope is at most ¼: every layer the error signal passes multiplies it by at most ¼.
# [Tutorial 2](../02_sigmoid_vs_relu/) measures what that does to a deep net.
#
# ## Forward, keeping Z and X of every layer

# %%
phi = sigmoid.phi


def phi_prime(z: torch.Tensor) -> torch.Tensor:
    a = phi(z)
    return a * (1 - a)


xs, zs = [x0], []
for w, b in zip(weights, biases):
    zs.append(xs[-1] @ w.T + b)  # Z^(l) = X^(l−1) W^(l)ᵀ + b^(l)
    xs.append(phi(zs[-1]))  # X^(l) = φ(Z^(l))
E = ((xs[-1] - y) ** 2).sum() / (2 * n)
print(f"E = {E.item():.6f}")

# %% [markdown]
# ## Backward, by the lecture's recursion
#
# From the output layer down: Δ^(L) from the error, then each Δ^(l) from the Δ above it, and every
# layer's gradients from its Δ and its input.

# %%
L = len(weights)
deltas: list[torch.Tensor] = [torch.empty(0)] * L
deltas[L - 1] = (xs[L] - y) * phi_prime(zs[L - 1]) / n  # Δ^(L) = (X^(L) − Y) ⊙ φ'(Z^(L)) / n
for layer in range(L - 2, -1, -1):  # Δ^(l) = (Δ^(l+1) W^(l+1)) ⊙ φ'(Z^(l))
    deltas[layer] = (deltas[layer + 1] @ weights[layer + 1]) * phi_prime(zs[layer])
grad_w_hand = [d.T @ x for d, x in zip(deltas, xs[:-1])]  # ∂E/∂W^(l) = Δ^(l)ᵀ X^(l−1)
grad_b_hand = [d.sum(0) for d in deltas]  # ∂E/∂b^(l) = Σ over the rows of Δ^(l)
for layer, (gw, d) in enumerate(zip(grad_w_hand, deltas), start=1):
    print(f"layer {layer}: ‖Δ‖ = {d.norm():.3e}   ‖∂E/∂W‖ = {gw.norm():.3e}")

# %% [markdown]
# ## The same gradients from autograd
#
# torch records the forward pass and differentiates it itself. Copies of the weights that require a
# gradient, the same forward, `E.backward()`:

# %%
W = [w.clone().requires_grad_() for w in weights]
B = [b.clone().requires_grad_() for b in biases]
h = x0
for w, b in zip(W, B):
    h = torch.sigmoid(h @ w.T + b)
E_auto = ((h - y) ** 2).sum() / (2 * n)
E_auto.backward()


def max_difference(ours: list[torch.Tensor], theirs: list[torch.Tensor]) -> str:
    """The largest absolute difference between two lists of tensors, in scientific notation."""
    return f"{max(float((a - b).abs().max()) for a, b in zip(ours, theirs)):.1e}"


print("hand vs autograd, ∂E/∂W:", max_difference(grad_w_hand, [w.grad for w in W]))
print("hand vs autograd, ∂E/∂b:", max_difference(grad_b_hand, [b.grad for b in B]))

# %% [markdown]
# The differences are rounding errors of float64 (about 1e-16): the three equations are the
# gradient.
#
# ## The Function: the equations as a torch layer
#
# `aelab.backprop.linear_act(x, W, b, "sigmoid")` is one layer, `a = φ(x Wᵀ + b)`, whose backward is
# the lecture's, written by hand; `aelab.backprop.half_mse` is the loss E with its gradient
# (x^(L) − y) / n. Here is the backward as it is in the package:

# %%
print(inspect.getsource(aelab.backprop.LinearActFunction.backward))

# %% [markdown]
# Given g = ∂E/∂a from the layer above, it forms δ = g ⊙ φ'(z), returns ∂E/∂x = δ W to the layer
# below (which multiplies it by its own φ': the recursion), and ∂E/∂W = δᵀ x, ∂E/∂b = Σ δ for the
# layer's own parameters. The three-layer net through it:

# %%
W_fn = [w.clone().requires_grad_() for w in weights]
B_fn = [b.clone().requires_grad_() for b in biases]
h = x0
for w, b in zip(W_fn, B_fn):
    h = aelab.backprop.linear_act(h, w, b, "sigmoid")
E_fn = aelab.backprop.half_mse(h, y)
E_fn.backward()
print(f"E: hand {E.item():.12f}, Function {E_fn.item():.12f}")
print("hand vs Function, ∂E/∂W:", max_difference(grad_w_hand, [w.grad for w in W_fn]))
print("hand vs Function, ∂E/∂b:", max_difference(grad_b_hand, [b.grad for b in B_fn]))

# %% [markdown]
# torch's own check, `gradcheck`, compares the Function's backward with finite differences of its
# forward, for x, W and b at once:

# %%
inputs = (
    torch.randn(4, 6, generator=generator).requires_grad_(),
    torch.randn(5, 6, generator=generator).requires_grad_(),
    torch.randn(5, generator=generator).requires_grad_(),
)
print("gradcheck:", torch.autograd.gradcheck(lambda x, w, b: aelab.backprop.linear_act(x, w, b, "sigmoid"), inputs))

# %% [markdown]
# ## How the gradients compare, layer by layer
#
# The three ways give one set of numbers. Plotted per layer, ‖∂E/∂W^(l)‖ already shows the pattern
# that tutorial 2 measures at depth: the layers far from the output get less.

# %%
layers = range(1, L + 1)
fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogy(layers, [g.norm() for g in grad_w_hand], "o-", label="by hand")
ax.semilogy(layers, [w.grad.norm() for w in W], "x--", label="autograd")
ax.semilogy(layers, [w.grad.norm() for w in W_fn], "+:", markersize=12, label="aelab.backprop")
ax.set_xticks(list(layers))
ax.set_xlabel("layer l (1: next to the input)")
ax.set_ylabel("‖∂E/∂W^(l)‖")
ax.legend()
fig.tight_layout()
plt.show()
torch.set_default_dtype(torch.float32)  # back to torch's default for whatever runs next in this kernel

# %% [markdown]
# `aelab.backprop.LectureLinear` is the same Function as an `nn.Linear` (the same parameter names
# and init), and `aelab.backprop.LectureSequential` runs a stack of them as one Function whose
# backward is the recursion written as one loop. Every model aelab trains is built from them
# (`model.impl=lecture`, the default); `model.impl=torch` builds the same net on native autograd.
# `python scripts/verify_backprop.py` runs the checks of this page for every activation.
