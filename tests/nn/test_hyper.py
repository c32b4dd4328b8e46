"""Hyper-modulated cells: the identity modulation gives Flax's plain cells, and a
modulation acts as a per-unit rescaling of the weight rows it scales."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.nn.hyper import GateModulation, HyperEmission, HyperGRUCell, HyperLSTMCell, ModulatedDense

IN, H = 3, 4


def _randomised(params, key):
    """Every leaf (biases included) drawn at random, so bias mappings are tested."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(tree, [jax.random.normal(k, v.shape) for k, v in zip(keys, leaves)])


def _inputs():
    kx, kh, kc = jax.random.split(jax.random.key(7), 3)
    return jax.random.normal(kx, (IN,)), jax.random.normal(kh, (H,)), jax.random.normal(kc, (H,))


def _split(kernel_or_bias, parts):
    return jnp.split(kernel_or_bias, parts, axis=-1)


def _hyper_lstm():
    cell = HyperLSTMCell(H)
    x, h, c = _inputs()
    params = _randomised(cell.init(jax.random.key(0), (c, h), x, GateModulation.identity(4 * H)), jax.random.key(1))
    return cell, params, (c, h), x


def test_hyper_lstm_with_identity_modulation_is_the_plain_lstm():
    cell, params, carry, x = _hyper_lstm()
    p = params["params"]
    wx, wh = _split(p["input"]["kernel"], 4), _split(p["hidden"]["kernel"], 4)
    bx, bh = _split(p["input"]["bias"], 4), _split(p["hidden"]["bias"], 4)
    plain = {}
    for k, gate in enumerate("ifgo"):
        plain["i" + gate] = {"kernel": wx[k]}
        plain["h" + gate] = {"kernel": wh[k], "bias": bx[k] + bh[k]}
    (c1, h1), out1 = cell.apply(params, carry, x, GateModulation.identity(4 * H))
    (c2, h2), out2 = nn.LSTMCell(H).apply({"params": plain}, carry, x)
    np.testing.assert_allclose(c1, c2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h1, h2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out1, out2, rtol=1e-5, atol=1e-6)


def test_hyper_gru_with_identity_modulation_is_the_plain_gru():
    cell = HyperGRUCell(H)
    x, h, _ = _inputs()
    params = _randomised(cell.init(jax.random.key(0), h, x, GateModulation.identity(3 * H)), jax.random.key(1))
    p = params["params"]
    wx, wh = _split(p["input"]["kernel"], 3), _split(p["hidden"]["kernel"], 3)
    bx, bh = _split(p["input"]["bias"], 3), _split(p["hidden"]["bias"], 3)
    plain = {
        "ir": {"kernel": wx[0], "bias": bx[0] + bh[0]}, "hr": {"kernel": wh[0]},
        "iz": {"kernel": wx[1], "bias": bx[1] + bh[1]}, "hz": {"kernel": wh[1]},
        "in": {"kernel": wx[2], "bias": bx[2]}, "hn": {"kernel": wh[2], "bias": bh[2]},
    }
    h1, _ = cell.apply(params, h, x, GateModulation.identity(3 * H))
    h2, _ = nn.GRUCell(H).apply({"params": plain}, h, x)
    np.testing.assert_allclose(h1, h2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell_type", [HyperLSTMCell, HyperGRUCell])
def test_modulation_rescales_weight_rows_per_unit(cell_type):
    """d_x * (W_x x + b_x) + d_h * (W_h h + b_h) + s is the plain cell with W_x's
    and b_x's unit j scaled by d_x[j], W_h's and b_h's by d_h[j], b_x shifted by s."""
    cell = cell_type(H)
    g = cell.num_gates * H
    x, h, c = _inputs()
    carry = (c, h) if cell_type is HyperLSTMCell else h
    params = _randomised(cell.init(jax.random.key(0), carry, x, GateModulation.identity(g)), jax.random.key(1))
    kd, ke, ks = jax.random.split(jax.random.key(3), 3)
    mod = GateModulation(jax.random.uniform(kd, (g,), minval=0.5, maxval=2.0),
                         jax.random.uniform(ke, (g,), minval=0.5, maxval=2.0), jax.random.normal(ks, (g,)))
    p = params["params"]
    folded = {"params": {
        "input": {"kernel": p["input"]["kernel"] * mod.input_scale, "bias": p["input"]["bias"] * mod.input_scale},
        "hidden": {"kernel": p["hidden"]["kernel"] * mod.hidden_scale, "bias": p["hidden"]["bias"] * mod.hidden_scale},
    }}
    shift_only = GateModulation(jnp.ones(g), jnp.ones(g), mod.shift)
    a, _ = cell.apply(params, carry, x, mod)
    b, _ = cell.apply(folded, carry, x, shift_only)
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)
    plain, _ = cell.apply(params, carry, x, GateModulation.identity(g))
    assert not np.allclose(jax.tree.leaves(a)[0], jax.tree.leaves(plain)[0])


def test_modulated_dense():
    layer = ModulatedDense(2)
    y = jnp.array([1.0, -2.0, 0.5])
    params = _randomised(layer.init(jax.random.key(0), y, jnp.ones(2), jnp.zeros(2)), jax.random.key(1))
    scale, shift = jnp.array([2.0, 0.5]), jnp.array([0.1, -0.3])
    expected = scale * (y @ params["params"]["kernel"]) + params["params"]["bias"] + shift
    np.testing.assert_allclose(layer.apply(params, y, scale, shift), expected, rtol=1e-6)


@pytest.mark.parametrize("emission_type", ["bernoulli", "gaussian"])
def test_hyper_emission_shapes_and_its_omega_matters(emission_type):
    net = HyperEmission(5, (6,), emission_type, omega_hidden=8)
    y, v = jnp.ones(7), jnp.ones(3)
    params = _randomised(net.init(jax.random.key(0), y, v), jax.random.key(1))
    out = net.apply(params, y, v)
    first = out if emission_type == "bernoulli" else out[0]
    assert first.shape == (5,)
    if emission_type == "gaussian":
        assert out[1].shape == (5,) and bool((out[1] > 0).all())
    other = net.apply(params, y, -v)
    assert not np.allclose(first, other if emission_type == "bernoulli" else other[0])
