"""The thesis's VAE-RNN (section 4.4.1): given d_{1:T}, computed from the inputs
alone, its ELBO is the sum of T independent per-step VAE ELBOs (eq. 4.15); its
prior reads d_t and its likelihood does not; SMC imputation feeds sampled steps
to its RNN."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi import bounds, dist, imputation
from seqvi.models import VAERNN
from seqvi.models.parts import centre
from seqvi.nn import masked_scan, shift_right

D, T, LENGTH = 5, 7, 5
MODEL = VAERNN(D, latent_dim=3, rnn_dim=6, hidden_dim=4)


@pytest.fixture(scope="module")
def setup():
    xs = (jax.random.uniform(jax.random.key(0), (T, D)) < 0.4).astype(jnp.float32)
    params = MODEL.init(jax.random.key(1), xs[:LENGTH].mean(0))
    return params, xs


def test_elbo_is_a_sum_of_per_step_vae_elbos(setup):
    """d_{1:T} from one RNN pass over u_t = x_{t-1}; then, step by step, a VAE with
    prior p(z_t | d_t), encoder q(z_t | x_t, d_t) and decoder p(x_t | z_t), each
    with the draw the SMC engine makes at step t (key fold_in(key, t), as in
    ``seqvi.smc.run`` with one particle)."""
    params, xs = setup
    key = jax.random.key(2)
    _, d = masked_scan(MODEL.nets["rnn"], params["rnn"], shift_right(centre(params, xs)))
    per_step = []
    for t in range(LENGTH):
        k = jax.random.split(jax.random.split(jax.random.fold_in(key, t))[0], 1)[0]
        q = MODEL.nets["posterior"].apply(params["posterior"], centre(params, xs[t]), d[t])
        z, log_q = dist.diag_gaussian(*q).sample_and_log_prob(seed=k)
        prior = dist.diag_gaussian(*MODEL.nets["prior"].apply(params["prior"], d[t]))
        logits = MODEL.nets["likelihood"].apply(params["likelihood"], z)
        log_px = dist.bernoulli(logits).log_prob(xs[t])
        per_step.append(log_px + prior.log_prob(z) - log_q)
    result = bounds.elbo(MODEL, params, xs, LENGTH, key)
    np.testing.assert_allclose(result.increments[:LENGTH], jnp.stack(per_step), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result.increments[LENGTH:], 0.0)
    np.testing.assert_allclose(result.bound, sum(per_step), rtol=1e-5)


def test_prior_reads_d_and_the_likelihood_does_not(setup):
    params, xs = setup
    state = MODEL.initial_state(params)
    other = MODEL.update(params, state, jnp.zeros(3), xs[0], None)
    z = jnp.array([0.3, -1.0, 2.0])
    assert not np.allclose(MODEL.prior(params, state, None).mean(), MODEL.prior(params, other, None).mean())
    np.testing.assert_array_equal(MODEL.emission(params, state, z, None).log_prob(xs[1]),
                                  MODEL.emission(params, other, z, None).log_prob(xs[1]))
    # d_{t+1} reads x_t only: z_t does not enter the RNN
    for a, b in zip(MODEL.update(params, state, z, xs[0], None), other):
        np.testing.assert_array_equal(a, b)


def test_imputation_feeds_sampled_steps_to_the_rnn(setup):
    params, xs = setup
    observed = jnp.arange(T) % 2 == 0
    result = imputation.smc_impute(MODEL, params, xs, observed, jnp.int32(T), jax.random.key(3), num_particles=8)
    samples = np.asarray(result.samples)
    np.testing.assert_array_equal(samples[:, observed], np.broadcast_to(xs[observed], samples[:, observed].shape))
    assert set(np.unique(samples)) <= {0.0, 1.0} and np.isfinite(float(result.log_likelihood))
