"""Particle filters on the SMC engine against the exact Kalman filter (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from seqvi.smc import resampling
from seqvi.ssm import lgssm, particle

T = 20


@pytest.fixture(scope="module")
def problem():
    with jax.enable_x64(True):
        params = lgssm.random_params(jax.random.PRNGKey(0), 2, 2, input_dim=1, biases=True, dtype=jnp.float64)
        inputs = jax.random.normal(jax.random.PRNGKey(1), (T, 1), jnp.float64)
        _, ys = lgssm.sample(jax.random.PRNGKey(2), params, T, inputs)
        return params, inputs, ys, lgssm.filter(params, ys, inputs)


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
    """The filtered moments, averaged over 4 runs of 4000 particles (one run's covariance strays
    past 0.2 sd^2 at some step for about one key in eight, with every scheme), match the
    Kalman filter's."""
    params, inputs, ys, kalman = problem
    r = jax.vmap(lambda key: particle.bootstrap_filter(key, particle.from_lgssm(params), ys, num_particles=4000,
                                                       resampling=scheme, inputs=inputs))(
        jax.random.split(jax.random.PRNGKey(3), 4))
    sd = jnp.sqrt(jnp.diagonal(kalman.filtered_covs, axis1=1, axis2=2))
    assert jnp.max(jnp.abs(r.filtered_means.mean(0) - kalman.filtered_means) / sd) < 0.2
    np.testing.assert_allclose(r.filtered_covs.mean(0), kalman.filtered_covs, atol=0.2 * float(jnp.max(sd) ** 2))
    assert r.resampled.any(axis=1).all() and r.particles.shape == (4, 4000, 2)


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


def test_errors(x64, problem):
    params, inputs, ys, _ = problem
    model = particle.from_lgssm(params)
    with pytest.raises(ValueError, match="unknown resampling"):
        particle.bootstrap_filter(jax.random.PRNGKey(0), model, ys, num_particles=8, resampling="best", inputs=inputs)
    with pytest.raises(ValueError, match="one sequence"):
        particle.bootstrap_filter(jax.random.PRNGKey(0), model, ys[None], num_particles=8, inputs=inputs)


# Issue 18: T = 1 and length 1 inside padding (Kind 1); shapes and values refused (Kind 3).

def test_one_step_sequences(x64, problem):
    params, inputs, ys, _ = problem
    model = particle.from_lgssm(params)
    exact = lgssm.filter(params, ys[:1], inputs[:1]).log_likelihood
    # With the locally optimal proposal every weight at T = 1 is p(y_1): log Z-hat is exact.
    guided = particle.guided_filter(jax.random.PRNGKey(0), model, particle.optimal_lgssm_proposal(params), ys[:1],
                                    num_particles=8, inputs=inputs[:1])
    np.testing.assert_allclose(guided.log_likelihood, exact, rtol=1e-10)
    assert guided.filtered_means.shape == (1, 2)
    key = jax.random.PRNGKey(4)
    short = particle.bootstrap_filter(key, model, ys[:1], num_particles=64, inputs=inputs[:1])
    padded = particle.bootstrap_filter(key, model, ys.at[1:].set(jnp.nan), num_particles=64, inputs=inputs, length=1)
    np.testing.assert_allclose(padded.log_likelihood, short.log_likelihood, rtol=1e-12)
    np.testing.assert_allclose(padded.filtered_means[:1], short.filtered_means, rtol=1e-12)
    assert np.all(np.asarray(padded.step_log_likelihoods[1:]) == 0.0)


def test_shapes_and_values_are_refused(x64, problem):
    """The issue's case: an emission of dimension 2 given ys [T, 1] returned a
    plausible log-likelihood; now it names the shapes."""
    params, inputs, ys, _ = problem
    model = particle.from_lgssm(params)
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match=r"ys has shape \(20, 1\).*event shape \(2,\): ys must be \[T, 2\]"):
        particle.bootstrap_filter(key, model, ys[:, :1], num_particles=10, inputs=inputs)
    with pytest.raises(ValueError, match=r"length must lie in \[0, T\] = \[0, 20\].*got 21"):
        particle.bootstrap_filter(key, model, ys, num_particles=10, inputs=inputs, length=T + 1)
    with pytest.raises(ValueError, match=r"ys\[5\] holds NaN"):
        particle.bootstrap_filter(key, model, ys.at[5, 0].set(jnp.nan), num_particles=10, inputs=inputs)
    with pytest.raises(ValueError, match="inputs must have a leading time axis T = 20"):
        particle.bootstrap_filter(key, model, ys, num_particles=10, inputs=inputs[:5])
    with pytest.raises(ValueError, match="T >= 1"):
        particle.bootstrap_filter(key, model, ys[:0], num_particles=10, inputs=inputs[:0])
    wrong = particle.Proposal(lambda y: particle._mvn(jnp.zeros(3), jnp.eye(3)),
                             lambda x, y, u: particle._mvn(x, jnp.eye(2)))
    with pytest.raises(ValueError, match=r"proposal.initial\(y\) has event shape \(3,\)"):
        particle.guided_filter(key, model, wrong, ys, num_particles=10, inputs=inputs)
    varying = lgssm.random_params(jax.random.PRNGKey(0), 2, 2, num_timesteps=T, dtype=jnp.float64)
    with pytest.raises(ValueError, match="fixed-in-time parameters; params.transition_matrix is time-varying"):
        particle.from_lgssm(varying)


def test_value_checks_hold_under_jit(x64, problem):
    params, inputs, ys, _ = problem
    model = particle.from_lgssm(params)

    def run(ys, length):
        return particle.bootstrap_filter(jax.random.PRNGKey(0), model, ys, num_particles=8, inputs=inputs,
                                         length=length).log_likelihood

    checked = checkify.checkify(jax.jit(run), errors=checkify.user_checks)
    err, _ = checked(ys.at[5, 0].set(jnp.nan), jnp.asarray(T))
    assert "ys[5] holds NaN" in err.get()
    err, _ = checked(ys, jnp.asarray(T + 2))
    assert "got 22" in err.get()
    err, log_z = checked(ys.at[5, 0].set(jnp.nan), jnp.asarray(5))  # NaN in padding: fine
    assert err.get() is None and np.isfinite(log_z)
