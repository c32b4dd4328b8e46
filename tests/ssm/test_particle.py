"""Particle filters on the SMC engine against the exact Kalman filter (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.smc import resampling
from seqvi.ssm import lgssm, particle

T = 20


@pytest.fixture(scope="module")
def problem():
    with jax.enable_x64(True):
        params = lgssm.random_params(jax.random.PRNGKey(0), 2, 2, input_dim=1, biases=True, dtype=jnp.float64)
        inputs = jax.random.normal(jax.random.PRNGKey(1), (T, 1), jnp.float64)
        _, ys = lgssm.sample(jax.random.PRNGKey(2), params, T, inputs)
        yield params, inputs, ys, lgssm.filter(params, ys, inputs)


def repeated_log_z(params, inputs, ys, num_particles, repeats, guided=False, **kw):
    model = particle.from_lgssm(params)

    def one(key):
        if guided:
            proposal = particle.optimal_lgssm_proposal(params)
            return particle.guided_filter(key, model, proposal, ys, num_particles=num_particles, inputs=inputs, **kw)
        return particle.bootstrap_filter(key, model, ys, num_particles=num_particles, inputs=inputs, **kw)

    return jax.jit(jax.vmap(lambda k: one(k).log_likelihood))(jax.random.split(jax.random.PRNGKey(9), repeats))


def test_log_z_converges_to_the_kalman_log_likelihood(x64, problem):
    params, inputs, ys, kalman = problem
    errors = []
    for n in (10, 100, 1000):
        log_z = repeated_log_z(params, inputs, ys, n, 32)
        errors.append(float(jnp.sqrt(jnp.mean((log_z - kalman.log_likelihood) ** 2))))
        # Z-hat is unbiased: log of the mean of Z-hat / Z is near 0 once its variance is small.
        if n == 1000:
            assert abs(jax.nn.logsumexp(log_z) - jnp.log(32.0) - kalman.log_likelihood) < 0.05
    # The error of log Z-hat falls like 1 / sqrt(N): a factor of about 3 per decade.
    assert errors[1] < errors[0] / 2 and errors[2] < errors[1] / 2, errors


def test_systematic_has_lower_variance_than_multinomial(x64, problem):
    params, inputs, ys, _ = problem
    var = {name: float(jnp.var(repeated_log_z(params, inputs, ys, 50, 400, resampling=name, ess_threshold=1.0)))
           for name in ("multinomial", "systematic")}
    assert var["systematic"] < var["multinomial"], var


@pytest.mark.parametrize("scheme", sorted(resampling.RESAMPLERS))
def test_every_scheme_filters_like_the_kalman_filter(x64, problem, scheme):
    params, inputs, ys, kalman = problem
    r = particle.bootstrap_filter(jax.random.PRNGKey(3), particle.from_lgssm(params), ys,
                                  num_particles=4000, resampling=scheme, inputs=inputs)
    sd = jnp.sqrt(jnp.diagonal(kalman.filtered_covs, axis1=1, axis2=2))
    assert jnp.max(jnp.abs(r.filtered_means - kalman.filtered_means) / sd) < 0.2
    np.testing.assert_allclose(r.filtered_covs, kalman.filtered_covs, atol=0.2 * float(jnp.max(sd) ** 2))
    assert r.resampled.any() and r.particles.shape == (4000, 2)


def test_guided_filter_with_the_optimal_proposal_beats_bootstrap(x64, problem):
    params, inputs, ys, kalman = problem
    guided = repeated_log_z(params, inputs, ys, 100, 32, guided=True)
    boot = repeated_log_z(params, inputs, ys, 100, 32)
    assert jnp.var(guided) < jnp.var(boot)
    assert abs(jnp.mean(guided) - kalman.log_likelihood) < 0.1


def test_padding_is_ignored(x64, problem):
    params, inputs, ys, _ = problem
    model = particle.from_lgssm(params)
    key = jax.random.PRNGKey(4)
    short = particle.bootstrap_filter(key, model, ys[:12], num_particles=64, inputs=inputs[:12])
    padded = particle.bootstrap_filter(key, model, ys, num_particles=64, inputs=inputs, length=12)
    np.testing.assert_allclose(padded.log_likelihood, short.log_likelihood, rtol=1e-12)
    np.testing.assert_allclose(padded.filtered_means[:12], short.filtered_means, rtol=1e-12)


def test_errors(problem):
    params, inputs, ys, _ = problem
    model = particle.from_lgssm(params)
    with pytest.raises(ValueError, match="unknown resampling"):
        particle.bootstrap_filter(jax.random.PRNGKey(0), model, ys, num_particles=8, resampling="best", inputs=inputs)
    with pytest.raises(ValueError, match="one sequence"):
        particle.bootstrap_filter(jax.random.PRNGKey(0), model, ys[None], num_particles=8, inputs=inputs)
