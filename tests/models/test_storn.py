"""STORN: the exact KL of the Wiener prior, and VRAE/VOSP specifics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi import dist
from seqvi.models import storn


def _wiener_covariance(num_steps):
    t = jnp.arange(1, num_steps + 1)
    return jnp.minimum(t[:, None], t[None, :]).astype(jnp.float64)


def _full_gaussian_kl(means, scales, cov):
    """KL(N(m, diag s^2) || N(0, K)) per latent dimension, summed: the T-dimensional
    Gaussians of each coordinate's path."""
    chol = jnp.linalg.cholesky(cov)
    total = 0.0
    for d in range(means.shape[1]):
        m, s2 = means[:, d], jnp.square(scales[:, d])
        inv = jax.scipy.linalg.cho_solve((chol, True), jnp.eye(cov.shape[0]))
        logdet_p = 2.0 * jnp.log(jnp.diag(chol)).sum()
        total += 0.5 * (jnp.trace(inv @ jnp.diag(s2)) + m @ inv @ m - m.size + logdet_p - jnp.log(s2).sum())
    return total


@pytest.mark.parametrize("length", [7, 4])
def test_wiener_kl_equals_the_full_covariance_gaussian_kl(x64, length):
    key1, key2 = jax.random.split(jax.random.key(0))
    means = jax.random.normal(key1, (7, 3), jnp.float64)
    scales = jax.random.uniform(key2, (7, 3), jnp.float64, 0.2, 2.0)
    terms = storn.wiener_kl(means, scales, length)
    np.testing.assert_allclose(terms[length:], 0.0)
    exact = _full_gaussian_kl(means[:length], scales[:length], _wiener_covariance(length))
    np.testing.assert_allclose(terms.sum(), exact, rtol=1e-10)


def test_wiener_log_prob_equals_the_full_covariance_density(x64):
    zs = jax.random.normal(jax.random.key(1), (6, 2), jnp.float64)
    cov = _wiener_covariance(6)
    expected = sum(jax.scipy.stats.multivariate_normal.logpdf(zs[:, d], jnp.zeros(6), cov) for d in range(2))
    np.testing.assert_allclose(storn.prior_log_prob("wiener", zs, 6).sum(), expected, rtol=1e-10)


def test_standard_normal_kl_is_the_sum_of_per_step_kls(x64):
    means = jnp.array([[0.5, -1.0], [0.0, 2.0]])
    scales = jnp.array([[1.0, 0.5], [2.0, 1.0]])
    per_dim = 0.5 * (scales**2 + means**2 - 1.0 - jnp.log(scales**2))
    np.testing.assert_allclose(storn.standard_normal_kl(means, scales, 2), per_dim.sum(1), rtol=1e-12)


def test_wiener_prior_samples_have_the_wiener_covariance():
    zs = jax.vmap(lambda k: storn.sample_prior("wiener", k, 5, 1)[:, 0])(jax.random.split(jax.random.key(2), 20000))
    np.testing.assert_allclose(np.cov(np.asarray(zs).T), np.minimum(*np.meshgrid(np.arange(1, 6), np.arange(1, 6))), atol=0.15)


def test_vrae_posterior_sees_the_whole_sequence_and_vosp_only_the_past():
    xs = (jax.random.uniform(jax.random.key(0), (6, 4)) < 0.5).astype(jnp.float32)
    changed = xs.at[5].set(1.0 - xs[5])
    vrae = storn.VRAE(4, latent_dim=2, rnn_dim=5, hidden_dim=16)
    p = vrae.init(jax.random.key(1))
    assert not np.allclose(vrae.posterior_params(p, xs, 6)[0][1], vrae.posterior_params(p, changed, 6)[0][1])
    vosp = storn.VOSP(4, latent_dim=2, rnn_dim=5, hidden_dim=3)
    p = vosp.init(jax.random.key(1))
    np.testing.assert_allclose(vosp.context(p, xs, 6)[1][:5], vosp.context(p, changed, 6)[1][:5])


def test_vosp_emits_x_t_from_h_t_minus_1_and_z_t():
    """p(x_t | h_{t-1}, z_t) (section 3.2): x_t's likelihood reads the recognition
    state before x_t and z_t, and nothing of z_{<t}."""
    xs = (jax.random.uniform(jax.random.key(0), (6, 4)) < 0.5).astype(jnp.float32)
    vosp = storn.VOSP(4, latent_dim=2, rnn_dim=5, hidden_dim=16, prior_type="wiener")
    p = vosp.init(jax.random.key(1), xs.mean(0))
    h_prev, h = vosp.context(p, xs, 6)
    np.testing.assert_array_equal(h_prev[0], 0.0)
    np.testing.assert_allclose(h_prev[1:], h[:-1])
    z, x = jnp.array([0.5, -1.0]), xs[3]
    ctx_t = (h_prev[3], h[3])
    log_px = vosp.emission(p, jnp.array([9.0, 9.0]), z, ctx_t).log_prob(x)  # the state z_{t-1} does not enter
    direct = vosp.nets["emission"].apply(p["emission"], h_prev[3], z)
    np.testing.assert_allclose(log_px, dist.bernoulli(direct).log_prob(x), rtol=1e-6)
    assert not np.allclose(log_px, vosp.emission(p, z, z, (h[3], h[3])).log_prob(x))


def test_reconstruct_modes():
    xs = (jax.random.uniform(jax.random.key(0), (6, 4)) < 0.5).astype(jnp.float32)
    for model in (storn.VRAE(4, 2, 5, 3), storn.VOSP(4, 2, 5, 3)):
        p = model.init(jax.random.key(1), xs.mean(0))
        mean = model.reconstruct(p, xs, 6)
        mode = model.reconstruct(p, xs, 6, mode="mode")
        assert mean.shape == mode.shape == (6, 4)
        assert bool(((mean > 0) & (mean < 1)).all())
        np.testing.assert_array_equal(mode, (mean > 0.5).astype(mode.dtype))
        with pytest.raises(ValueError, match="mode must be"):
            model.reconstruct(p, xs, 6, mode="median")


@pytest.mark.parametrize("cls", [storn.VRAE, storn.VOSP])
def test_fast_dropout_rnns_train(cls):
    """cell_type='fd_rnn': the paper's fast-dropout RNNs in place of the LSTMs; the
    ELBO is finite and every network gets a gradient."""
    from seqvi import bounds

    xs = (jax.random.uniform(jax.random.key(0), (6, 4)) < 0.5).astype(jnp.float32)
    model = cls(4, latent_dim=2, rnn_dim=5, hidden_dim=8, cell_type="fd_rnn", keep_rate=0.8)
    params = model.init(jax.random.key(1), xs.mean(0))
    assert any("kernel_rec" in str(path) for path, _ in jax.tree_util.tree_leaves_with_path(params))
    grads = jax.grad(lambda p: bounds.elbo(model, p, xs, 5, jax.random.key(2)).bound)(params)
    for name, tree in grads.items():
        if name != "constants":
            assert any(bool((g != 0).any()) for g in jax.tree.leaves(tree)), name
    with pytest.raises(ValueError, match="keep_rate"):
        cls(4, cell_type="fd_rnn", keep_rate=0.0)
    with pytest.raises(ValueError, match="learned_keep_rate needs"):
        cls(4, learned_keep_rate=True)  # an LSTM has no dropout rates to learn


@pytest.mark.parametrize("cls", [storn.VRAE, storn.VOSP])
def test_learned_keep_rates_are_the_recognition_models_only(cls):
    """learned_keep_rate=True: the recognition RNNs' keep rates (inputs and hidden
    units) are parameters with a gradient (the appendix's learned noise injection);
    VRAE's generating RNNs' are not (VOSP has none)."""
    from seqvi import bounds

    xs = (jax.random.uniform(jax.random.key(0), (6, 4)) < 0.5).astype(jnp.float32)
    model = cls(4, latent_dim=2, rnn_dim=5, hidden_dim=8, cell_type="fd_rnn", keep_rate=0.9, learned_keep_rate=True)
    params = model.init(jax.random.key(1), xs.mean(0))
    with_rates = {str(path[0].key) for path, _ in jax.tree_util.tree_leaves_with_path(params) if "keep" in str(path)}
    assert with_rates == {n for n in model.nets if n.startswith("recognition")}
    grads = jax.grad(lambda p: bounds.elbo(model, p, xs, 5, jax.random.key(2)).bound)(params)
    for name in with_rates:
        for rate in ("keep_input_logit", "keep_hidden_logit"):
            g = grads[name]["params"][rate]
            assert bool(jnp.isfinite(g).all()) and bool((g != 0).any()), (name, rate)
    with pytest.raises(ValueError, match="cell_type"):
        cls(4, cell_type="gru")
