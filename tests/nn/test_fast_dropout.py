"""Fast dropout's moment propagation against Monte Carlo dropout on a small layer,
and the FD-RNN cell (STORN's appendix) against sampled dropout masks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.nn import masked_scan
from seqvi.nn.fast_dropout import FastDropoutRNNCell, dropout_linear_moments, transfer_moments

NUM_DRAWS = 200_000


@pytest.mark.parametrize("keep", [0.7, np.array([0.9, 0.2, 0.5, 0.7, 1.0, 0.4], np.float32)],
                         ids=["one rate", "a rate per input unit"])
def test_linear_moments_match_monte_carlo_dropout(keep):
    """a = (m * x) W + b with m_i ~ Bernoulli(keep_i) and x ~ N(mu, s^2) independent."""
    k1, k2, k3, k4, k5 = jax.random.split(jax.random.key(0), 5)
    mu, s = jax.random.normal(k1, (6,)), jax.random.uniform(k2, (6,), minval=0.1, maxval=1.0)
    w, b = jax.random.normal(k3, (6, 3)), jnp.array([0.5, -1.0, 0.0])
    x = mu + s * jax.random.normal(k4, (NUM_DRAWS, 6))
    masks = jax.random.bernoulli(k5, jnp.broadcast_to(keep, (6,)), (NUM_DRAWS, 6)).astype(jnp.float32)
    a = (masks * x) @ w + b
    mean, var = dropout_linear_moments(mu, jnp.square(s), w, keep, b)
    np.testing.assert_allclose(mean, a.mean(0), atol=4 * np.sqrt(var.max() / NUM_DRAWS))
    np.testing.assert_allclose(var, a.var(0), rtol=0.02)
    with pytest.raises(ValueError, match="keep must lie"):
        dropout_linear_moments(mu, s, w, 0.0)


@pytest.mark.parametrize("f", [jnp.tanh, jax.nn.sigmoid, lambda a: a], ids=["tanh", "sigmoid", "identity"])
def test_transfer_moments_match_monte_carlo(f):
    mean, var = jnp.array([-1.5, 0.0, 0.3, 2.0]), jnp.array([0.2, 1.0, 3.0, 0.5])
    a = mean + jnp.sqrt(var) * jax.random.normal(jax.random.key(1), (NUM_DRAWS, 4))
    f_mean, f_var = transfer_moments(f, mean, var)
    assert np.all(np.abs(f_mean - f(a).mean(0)) < 4 * np.sqrt(f_var / NUM_DRAWS) + 1e-4)  # 4 standard errors
    np.testing.assert_allclose(f_var, f(a).var(0), rtol=0.02, atol=1e-4)


def test_fd_rnn_cell_matches_sampled_dropout_and_is_the_plain_rnn_without_it():
    """Two steps of a 3-unit FD-RNN against the same RNN run with sampled masks on
    its inputs and hidden state (the moments of the second step assume the first
    step's units Gaussian and independent, so they match to a looser tolerance)."""
    cell = FastDropoutRNNCell(3, keep_input=0.8, keep_hidden=0.6)
    xs = jax.random.normal(jax.random.key(2), (2, 4))
    params = cell.init(jax.random.key(3), cell.zero_carry(), xs[0])
    p = params["params"]
    (mean, var), _ = masked_scan(cell, params, xs)

    def sampled(key):
        h = jnp.zeros(3)
        for t in range(2):
            kx, kh = jax.random.split(jax.random.fold_in(key, t))
            mx = jax.random.bernoulli(kx, 0.8, (4,))
            mh = jax.random.bernoulli(kh, 0.6, (3,))
            h = jnp.tanh((mx * xs[t]) @ p["kernel_in"] + (mh * h) @ p["kernel_rec"] + p["bias"])
        return h

    hs = jax.vmap(sampled)(jax.random.split(jax.random.key(4), NUM_DRAWS))
    np.testing.assert_allclose(mean, hs.mean(0), atol=0.03)
    np.testing.assert_allclose(var, hs.var(0), atol=0.03)
    plain = FastDropoutRNNCell(3, keep_input=1.0, keep_hidden=1.0, activation=lambda a: a)
    (mean1, var1), _ = masked_scan(plain, params, xs)
    h = xs[0] @ p["kernel_in"] + p["bias"]
    h = xs[1] @ p["kernel_in"] + h @ p["kernel_rec"] + p["bias"]
    np.testing.assert_allclose(mean1, h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var1, 0.0, atol=1e-6)


def test_learned_keep_rates_start_at_the_fixed_ones_and_get_gradients():
    """learn_keep=True (STORN's learned noise injection): per-unit keep rates
    sigmoid(l) that start at the fixed rates, so the first output equals the fixed
    cell's, and that the output's gradient reaches."""
    fixed = FastDropoutRNNCell(3, keep_input=0.8, keep_hidden=0.6)
    learned = FastDropoutRNNCell(3, keep_input=0.8, keep_hidden=0.6, learn_keep=True)
    xs = jax.random.normal(jax.random.key(2), (4, 4))
    params = learned.init(jax.random.key(3), learned.zero_carry(), xs[0])
    p = params["params"]
    assert p["keep_input_logit"].shape == (4,) and p["keep_hidden_logit"].shape == (3,)
    np.testing.assert_allclose(jax.nn.sigmoid(p["keep_input_logit"]), 0.8, rtol=1e-6)
    np.testing.assert_allclose(jax.nn.sigmoid(p["keep_hidden_logit"]), 0.6, rtol=1e-6)
    shared = {"params": {k: v for k, v in p.items() if "keep" not in k}}
    (m_fixed, v_fixed), _ = masked_scan(fixed, shared, xs)
    (m_learned, v_learned), _ = masked_scan(learned, params, xs)
    np.testing.assert_allclose(m_learned, m_fixed, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v_learned, v_fixed, rtol=1e-5, atol=1e-7)

    def output_variance(q):
        (_, var), _ = masked_scan(learned, q, xs)
        return var.sum()

    grads = jax.grad(output_variance)(params)["params"]
    for name in ("keep_input_logit", "keep_hidden_logit"):
        assert bool(jnp.isfinite(grads[name]).all()) and bool((grads[name] != 0).any()), name
    with pytest.raises(ValueError, match="learned keep rate"):
        FastDropoutRNNCell(3, keep_input=1.0, learn_keep=True).init(jax.random.key(0), learned.zero_carry(), xs[0])
