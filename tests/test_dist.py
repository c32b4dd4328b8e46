"""The Gaussian-to-mixture KL approximation D_var: exact for one component, an
upper bound on the true KL (estimated by Monte Carlo, float64) for several."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi import dist


def test_dvar_is_the_gaussian_kl_for_one_component():
    k = jax.random.split(jax.random.key(0), 4)
    m, s = jax.random.normal(k[0], (5,)), jnp.exp(0.3 * jax.random.normal(k[1], (5,)))
    mk, sk = jax.random.normal(k[2], (1, 5)), jnp.exp(0.3 * jax.random.normal(k[3], (1, 5)))
    exact = dist.kl_diag_gaussians(m, s, mk[0], sk[0])
    assert float(dist.kl_gaussian_mog_dvar(m, s, jnp.zeros(1), mk, sk)) == pytest.approx(float(exact), rel=1e-6)
    # the weight of a single component is normalised away
    assert float(dist.kl_gaussian_mog_dvar(m, s, jnp.asarray([3.0]), mk, sk)) == pytest.approx(float(exact), rel=1e-6)


def test_dvar_upper_bounds_the_true_kl(x64):
    for seed in range(5):
        k = jax.random.split(jax.random.key(seed), 6)
        d, num = 3, 4
        m, s = jax.random.normal(k[0], (d,)), jnp.exp(0.3 * jax.random.normal(k[1], (d,)))
        means, scales = 1.5 * jax.random.normal(k[2], (num, d)), jnp.exp(0.3 * jax.random.normal(k[3], (num, d)))
        log_w = jax.random.normal(k[4], (num,))
        z = m + s * jax.random.normal(k[5], (200000, d))  # z ~ f
        log_f = dist.diag_gaussian(m, s).log_prob(z)
        log_g_i = jax.vmap(lambda mu, sd: dist.diag_gaussian(mu, sd).log_prob(z))(means, scales)  # [K, S]
        log_g = jax.nn.logsumexp(jax.nn.log_softmax(log_w)[:, None] + log_g_i, axis=0)
        mc = float(jnp.mean(log_f - log_g))
        stderr = float(jnp.std(log_f - log_g)) / np.sqrt(z.shape[0])
        dvar = float(dist.kl_gaussian_mog_dvar(m, s, log_w, means, scales))
        assert dvar >= mc - 4 * stderr, (seed, dvar, mc, stderr)
        assert dvar <= float(jnp.min(dist.kl_diag_gaussians(m, s, means, scales)) - jnp.min(jax.nn.log_softmax(log_w))) + 1e-9


def test_dvar_shape_errors():
    with pytest.raises(ValueError, match=r"expected means and scales \[K, 2\]"):
        dist.kl_gaussian_mog_dvar(jnp.zeros(2), jnp.ones(2), jnp.zeros(3), jnp.zeros((3, 4)), jnp.ones((3, 4)))


def test_gmm_log_density_against_scipy():
    """The mixture's log-density at random points equals log sum_k pi_k N(x; mu_k,
    diag s_k^2) computed with scipy; the head gives the shapes the mixture takes."""
    import scipy.stats

    from seqvi.nn import GMMHead

    rng = np.random.default_rng(0)
    k, d = 3, 4
    logits, means = rng.normal(size=k), rng.normal(size=(k, d))
    scales = rng.uniform(0.3, 2.0, size=(k, d))
    points = rng.normal(size=(10, d)) * 2.0
    weights = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    expected = [np.log(sum(weights[j] * scipy.stats.multivariate_normal(means[j], np.diag(scales[j] ** 2)).pdf(x)
                           for j in range(k))) for x in points]
    mixture = dist.diag_gmm(jnp.asarray(logits), jnp.asarray(means), jnp.asarray(scales))
    assert mixture.event_shape == (d,)
    np.testing.assert_allclose(jax.vmap(mixture.log_prob)(jnp.asarray(points, jnp.float32)), expected, rtol=1e-5)
    head = GMMHead(d, k, hidden=(8,))
    params = head.init(jax.random.key(0), jnp.zeros((2, 5)))
    out = head.apply(params, jnp.ones((2, 5)))
    assert [o.shape for o in out] == [(2, k), (2, k, d), (2, k, d)] and bool((out[2] > 0).all())
    assert dist.diag_gmm(*out).log_prob(jnp.zeros((2, d))).shape == (2,)
