"""The deterministic RNN baseline (RNN-Gauss / RNN-GMM of the thesis's Table 5.1):
its log-likelihood is the sum of its per-step terms, computed here step by step,
and every bound equals it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from seqvi import bounds
from seqvi.models.parts import centre
from seqvi.models.rnn import RNN

D, T, LENGTH = 3, 7, 5


@pytest.fixture(scope="module")
def rnn_gmm():
    model = RNN(D, rnn_dim=6, hidden_dim=5, emission_type="gmm", emission_components=4)
    xs = jax.random.normal(jax.random.key(0), (T, D))
    params = model.init(jax.random.key(1), xs[:LENGTH].mean(0))
    return model, params, xs


def _direct_log_likelihood(model, params, xs, length):
    """sum_{t < length} log sum_k pi_k N(x_t; mu_k(d_t), diag s_k(d_t)^2), with
    d_t = LSTM(d_{t-1}, phi_x(x_{t-1} - mean)) stepped one cell call at a time and
    each mixture density evaluated with scipy."""
    carry, x_prev, total = model.nets["rnn"].zero_carry(), params["constants"]["input_mean"], 0.0
    for t in range(length):
        carry, d = model.apply_net(params, "rnn", carry, model.apply_net(params, "phi_x", centre(params, x_prev)))
        logits, means, scales = (np.asarray(a, np.float64) for a in model.apply_net(params, "emission", d))
        weights = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        density = sum(w * stats.multivariate_normal(m, np.diag(s ** 2)).pdf(np.asarray(xs[t], np.float64))
                      for w, m, s in zip(weights, means, scales))
        total += np.log(density)
        x_prev = xs[t]
    return total


def test_rnn_gmm_log_likelihood_is_the_sum_of_its_steps(rnn_gmm):
    model, params, xs = rnn_gmm
    exact = _direct_log_likelihood(model, params, xs, LENGTH)
    key = jax.random.key(2)
    e = bounds.elbo(model, params, xs, LENGTH, key)
    np.testing.assert_allclose(float(e.bound), exact, rtol=1e-5)
    np.testing.assert_allclose(float(e.increments.sum()), exact, rtol=1e-5)
    assert float(jnp.abs(e.increments[LENGTH:]).max()) == 0.0
    for other in (bounds.iwae(model, params, xs, LENGTH, key, num_particles=4),
                  bounds.fivo(model, params, xs, LENGTH, key, num_particles=4, ess_threshold=1.0)):
        np.testing.assert_allclose(float(other.bound), exact, rtol=1e-5)  # no latent: every bound is exact


def test_generation_continues_where_a_prefix_ends(rnn_gmm):
    """The mean path of 6 steps equals its first 3 steps continued by 3 more from
    ``continuation_state`` (the LSTM carry and x_3 after the prefix)."""
    model, params, _ = rnn_gmm
    means, zs = model.generate(params, jax.random.key(3), 6, emission_mode="mean")
    assert means.shape == (6, D) and zs.shape == (6, 0)
    state = model.continuation_state(params, None, means, 3)
    rest, _ = model.generate(params, jax.random.key(4), 3, emission_mode="mean", state=state)
    np.testing.assert_allclose(rest, means[3:], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="inputs=None"):
        model.generate(params, jax.random.key(3), 2, inputs=jnp.zeros((2, 1)))
