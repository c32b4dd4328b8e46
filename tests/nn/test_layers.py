"""Dense layers and the LSTM cell over inputs given in parts equal the layers on
the concatenated input (Flax's own, with the same parameters and initialisation),
and a part shared across a vmap is multiplied once."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.models import VRNN
from seqvi.nn import MLP, LSTMCell
from seqvi.nn.mlp import ConcatDense, concat_dot


def test_concat_dense_is_flax_dense():
    x = jax.random.normal(jax.random.key(1), (3, 7))
    ours = ConcatDense(4).init(jax.random.key(0), x)
    theirs = nn.Dense(4).init(jax.random.key(0), x)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        np.testing.assert_array_equal(a, b)  # same names, shapes and initial values
    whole = nn.Dense(4).apply(theirs, x)
    np.testing.assert_allclose(ConcatDense(4).apply(ours, x[:, :2], x[:, 2:]), whole, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="kernel expects 7"):
        concat_dot([x, x], ours["params"]["kernel"])


class _FlaxLSTM(nn.Module):
    @nn.compact
    def __call__(self, carry, x):
        return nn.OptimizedLSTMCell(5, name="cell")(carry, x)


def test_lstm_cell_is_flax_optimized_lstm_cell_in_parts():
    x = jax.random.normal(jax.random.key(1), (3, 7))
    carry = tuple(jax.random.normal(k, (3, 5)) for k in jax.random.split(jax.random.key(2)))
    ours, theirs = LSTMCell(5).init(jax.random.key(0), carry, x), _FlaxLSTM().init(jax.random.key(0), carry, x)
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        np.testing.assert_array_equal(a, b)
    (c, h), _ = _FlaxLSTM().apply(theirs, carry, x)
    (c2, h2), _ = LSTMCell(5).apply(ours, carry, x[:, :3], x[:, 3:])
    np.testing.assert_allclose(c2, c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h2, h, rtol=1e-5, atol=1e-6)


def test_mlp_first_layer_takes_parts():
    a, b = jnp.ones((2, 3)), jnp.arange(8.0).reshape(2, 4)
    mlp = MLP((6, 2))
    params = mlp.init(jax.random.key(0), a, b)
    np.testing.assert_allclose(mlp.apply(params, a, b), mlp.apply(params, jnp.concatenate([a, b], -1)), rtol=1e-6)


def test_vrnn_multiplies_the_shared_data_part_once_per_sequence():
    """Under the particle vmap, the LSTM's phi_x(x_t) W_x is one row's product, not
    one per particle: XLA counts fewer FLOPs than for the concatenated input."""
    model = VRNN(data_dim=6, latent_dim=3, rnn_dim=16, hidden_dim=16)
    params = model.init(jax.random.key(0))
    state = jax.tree.map(lambda s: jnp.broadcast_to(s, (64,) + s.shape), model.initial_state(params))
    x, z = jnp.ones(6), jax.random.normal(jax.random.key(1), (64, 3))

    def update(in_parts: bool, params):
        def one(state, z):
            phi_x, phi_z = model._phi_x(params, x), model.apply_net(params, "phi_z", z)
            if in_parts:
                return model._update(params, state, phi_z, phi_x)[1]
            return model.apply_net(params, "rnn", state, jnp.concatenate([phi_x, phi_z], -1))[0][1]
        return jax.vmap(one)(state, z)

    np.testing.assert_allclose(update(True, params), update(False, params), rtol=1e-5, atol=1e-6)
    flops = {p: jax.jit(update, static_argnums=0).lower(p, params).compile().cost_analysis()["flops"]
             for p in (True, False)}
    # phi_x W_x: 64 rows * 2 * 16 * 64 FLOPs when concatenated, one row in parts.
    assert flops[False] - flops[True] >= 0.9 * 63 * 2 * 16 * 64
