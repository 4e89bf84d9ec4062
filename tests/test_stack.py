"""The stack Function: a run of lecture layers as one Function whose backward is the lecture's
recursion in one loop. The same numbers as the layer-by-layer Function, bit for bit."""

from __future__ import annotations

import pytest
import torch

from aelab.backprop import ACTIVATIONS, LectureLinear, LectureSequential, stack_act
from aelab.backprop.verify import rel_err, saved_bytes

NAMES = list(ACTIVATIONS)


def _layers(sizes: list[int], activation: str, dtype: torch.dtype = torch.float64) -> list[LectureLinear]:
    torch.manual_seed(len(sizes))
    acts = [activation] * (len(sizes) - 2) + ["identity"]
    return [LectureLinear(i, o, a).to(dtype) for i, o, a in zip(sizes[:-1], sizes[1:], acts)]


@pytest.mark.parametrize("activation", NAMES)
def test_stack_gradcheck_and_gradgradcheck(activation):
    layers = _layers([5, 4, 3, 2], activation)
    params = [p for layer in layers for p in (layer.weight, layer.bias)]
    x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)

    def fn(x, *params):
        for layer, (w, b) in zip(layers, zip(params[0::2], params[1::2])):
            layer.weight, layer.bias = torch.nn.Parameter(w), torch.nn.Parameter(b)
        outs = stack_act(x, layers)
        return outs[-1], outs[0]  # an inner output used too: its gradient joins the recursion

    def stacked(x, *ps):
        from aelab.backprop.stack import StackActFunction

        outs = StackActFunction.apply(x, tuple(layer.act for layer in layers), False, *ps)
        return outs[-1], outs[0]

    assert torch.autograd.gradcheck(stacked, (x, *params))
    assert torch.autograd.gradgradcheck(stacked, (x, *params))


@pytest.mark.parametrize("activation", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, "bf16 autocast"])
def test_stack_is_the_layer_by_layer_function_bit_for_bit(activation, dtype):
    autocast = dtype == "bf16 autocast"  # float32 weights, the products in bfloat16
    dtype = torch.float32 if autocast else dtype
    layers = _layers([20, 16, 16, 8, 16, 20], activation, dtype)
    x = torch.rand(7, 20, dtype=dtype)
    target = torch.rand(7, 20, dtype=dtype)
    results = []
    for fused in (True, False):
        for layer in layers:
            layer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            if fused:
                out = stack_act(x, layers)[-1]
            else:
                out = x
                for layer in layers:
                    out = layer(out)
        assert out.dtype == (torch.bfloat16 if autocast else dtype)
        (0.5 * (out.to(dtype) - target).pow(2).sum()).backward()
        results.append([out.detach(), *[p.grad for layer in layers for p in layer.parameters()]])
    assert all(torch.equal(a, b) for a, b in zip(*results))
    assert all(p.dtype == dtype for p in results[0][1:])


@pytest.mark.parametrize("activation", NAMES)
@pytest.mark.parametrize("training", [True, False])
def test_fused_stack_equals_native_float64(activation, training):
    """A LectureSequential run as one StackActFunction (training mode: inner outputs, and the z kept
    for rows whose φ' needs z, freed as the backward passes them) against nn.Linear + the native
    activation: output and every gradient to 1e-10."""
    layers = _layers([12, 10, 8, 6, 9], activation)
    native = torch.nn.Sequential(
        *[
            m
            for layer in layers
            for m in (torch.nn.Linear(layer.in_features, layer.out_features).double(), layer.act.torch_module())
        ]
    )
    native.load_state_dict(_native_state(layers))
    seq = LectureSequential(*layers).train(training)
    x = torch.randn(7, 12, dtype=torch.float64)
    results = []
    for net in (seq, native):
        xi = x.clone().requires_grad_()
        out = net(xi)
        assert ("StackActFunction_cpuBackward" in _graph(out)) == (net is seq)
        grads = torch.autograd.grad(0.5 * out.pow(2).sum(), [xi, *net.parameters()])
        results.append([out, *grads])
    assert max(rel_err(a, b) for a, b in zip(*results)) <= 1e-10


def _native_state(layers: list[LectureLinear]) -> dict[str, torch.Tensor]:
    """The layers' parameters under an nn.Sequential that follows each Linear with its activation."""
    return {f"{2 * i}.{k}": v for i, layer in enumerate(layers) for k, v in layer.state_dict().items()}


@pytest.mark.parametrize("activation", NAMES)
def test_stack_saves_no_more_than_native(activation):
    layers = _layers([64, 48, 32, 16], activation, torch.float32)
    native = torch.nn.Sequential(
        *[
            m
            for layer in layers
            for m in (torch.nn.Linear(layer.in_features, layer.out_features), layer.act.torch_module())
        ]
    )
    x = torch.randn(32, 64)
    assert 0 < saved_bytes(lambda: stack_act(x, layers)[-1]) <= saved_bytes(lambda: native(x))


def _graph(out: torch.Tensor) -> set[str]:
    names, todo = set(), [out.grad_fn]
    while todo:
        node = todo.pop()
        if node is not None and type(node).__name__ not in names:
            names.add(type(node).__name__)
            todo += [n for n, _ in node.next_functions]
    return names


def test_lecture_sequential_fuses_unless_a_layer_must_be_seen_alone():
    layers = _layers([10, 8, 6, 4], "sigmoid", torch.float32)
    seq = LectureSequential(torch.nn.Flatten(), *layers)
    x = torch.rand(5, 2, 5)
    fused = seq(x)
    assert "StackActFunction_cpuBackward" in _graph(fused) and "LinearActFunction_cpuBackward" not in _graph(fused)
    seen = []
    handle = layers[1].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    alone = seq(x)
    handle.remove()
    assert seen == [(5, 6)] and "StackActFunction_cpuBackward" not in _graph(alone)
    assert torch.equal(fused, alone)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # autocast needs no layer alone
        assert "StackActFunction_cpuBackward" in _graph(seq(x))


def test_jacrev_through_a_fused_stack():
    from torch.func import jacrev, vmap

    layers = _layers([6, 5, 4], "tanh")
    seq = LectureSequential(*layers).eval()  # jacobian() backpropagates many times through one graph
    x = torch.randn(3, 6, dtype=torch.float64)
    jac = vmap(jacrev(lambda v: seq(v.unsqueeze(0))[0]))(x)
    ref = torch.stack([torch.autograd.functional.jacobian(lambda v: seq(v.unsqueeze(0))[0], v) for v in x])
    torch.testing.assert_close(jac, ref, rtol=1e-12, atol=1e-12)


def test_training_mode_frees_inner_outputs_and_refuses_a_second_backward():
    layers = _layers([6, 5, 5, 4], "sigmoid", torch.float32)
    seq = LectureSequential(*layers)
    x = torch.rand(3, 6)
    loss = seq(x).sum()
    loss.backward(retain_graph=True)
    first = [p.grad.clone() for p in seq.parameters()]
    with pytest.raises(RuntimeError, match=r"put the model in eval mode or set LectureSequential\.fuse = False"):
        loss.backward()
    seq.eval()
    for p in seq.parameters():
        p.grad = None
    loss = seq(x).sum()
    loss.backward(retain_graph=True)
    loss.backward()  # eval mode keeps the saved outputs: twice the gradient
    assert all(torch.equal(p.grad, 2 * g) for p, g in zip(seq.parameters(), first))


def test_backward_hooks_on_a_layer_see_it_alone():
    layers = _layers([6, 5, 4], "relu", torch.float32)
    seq = LectureSequential(*layers)
    x = torch.rand(3, 6, requires_grad=True)
    fired = []
    handles = [
        layers[0].register_full_backward_pre_hook(lambda m, g: fired.append("pre")),
        layers[0].register_full_backward_hook(lambda m, gi, go: fired.append("full")),
    ]
    out = seq(x)
    assert "StackActFunction_cpuBackward" not in _graph(out)
    out.sum().backward()
    assert sorted(fired) == ["full", "pre"]
    for handle in handles:
        handle.remove()
    assert "StackActFunction_cpuBackward" in _graph(seq(x))


def test_release_hands_out_only_the_last_output():
    layers = _layers([6, 5, 5, 4], "sigmoid", torch.float32)
    x = torch.rand(3, 6)
    kept = stack_act(x, layers)
    released = stack_act(x, layers, release=True)
    assert len(kept) == 3 and len(released) == 1 and torch.equal(released[0], kept[-1])
    released[0].sum().backward()  # frees the inner outputs, which nobody outside holds


def test_a_fused_stack_gives_the_one_line_input_errors():
    layers = _layers([6, 5, 4], "relu", torch.float32)
    seq = LectureSequential(*layers)
    with pytest.raises(ValueError, match=r"x, weight and bias must share one dtype"):
        seq(torch.rand(3, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 6\)"):
        seq(torch.rand(4, 12))  # would reshape silently into 8 rows of 6
    with pytest.raises(ValueError, match=r"a stack's layers must chain: 5 outputs feed a layer of 7 inputs"):
        LectureSequential(layers[0], LectureLinear(7, 2))(torch.rand(3, 6))
