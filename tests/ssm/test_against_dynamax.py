"""Agreement with dynamax's sequential Kalman filter and smoother (a test
dependency). Our parallel versions equal our sequential ones (test_lgssm.py), so
they agree with dynamax by transitivity; dynamax's parallel log-likelihood is known
to be slightly off, so ours is checked against the brute force instead."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.ssm import lgssm

dynamax_lgssm = pytest.importorskip("dynamax.linear_gaussian_ssm")


def to_dynamax(p: lgssm.Params):
    n, m = lgssm.dims(p)
    k = 0 if p.input_matrix is None else p.input_matrix.shape[-1]
    zeros = lambda *shape: jnp.zeros(shape, p.initial_mean.dtype)
    return dynamax_lgssm.inference.make_lgssm_params(
        p.initial_mean, p.initial_cov, p.transition_matrix, p.transition_cov, p.emission_matrix, p.emission_cov,
        dynamics_input_weights=zeros(n, k) if p.input_matrix is None else p.input_matrix,
        dynamics_bias=p.transition_bias, emissions_bias=p.emission_bias,
        emissions_input_weights=zeros(m, k),
    )


@pytest.mark.parametrize("time_varying", [False, True], ids=["fixed", "time_varying"])
def test_filter_and_smoother_agree_with_dynamax(x64, time_varying):
    num_steps = 25
    params = lgssm.random_params(
        jax.random.PRNGKey(3), 4, 3, biases=True, input_dim=2, dtype=jnp.float64,
        num_timesteps=num_steps if time_varying else None,
    )
    inputs = jax.random.normal(jax.random.PRNGKey(4), (num_steps, 2), jnp.float64)
    _, ys = lgssm.sample(jax.random.PRNGKey(5), params, num_steps, inputs)
    ours = lgssm.smoother(params, ys, inputs)
    theirs = dynamax_lgssm.lgssm_smoother(to_dynamax(params), ys, inputs)
    np.testing.assert_allclose(ours.log_likelihood, theirs.marginal_loglik, rtol=1e-10)
    np.testing.assert_allclose(ours.filtered_means, theirs.filtered_means, atol=1e-9)
    np.testing.assert_allclose(ours.filtered_covs, theirs.filtered_covariances, atol=1e-9)
    np.testing.assert_allclose(ours.smoothed_means, theirs.smoothed_means, atol=1e-9)
    np.testing.assert_allclose(ours.smoothed_covs, theirs.smoothed_covariances, atol=1e-9)
    # dynamax's cross term is E[x_t x_{t+1}^T | y]; ours is Cov[x_{t+1}, x_t | y]. dynamax's
    # is off by ~1e-8 on this case (ours matches the brute-force conditional to 1e-13), hence 1e-7.
    m = ours.smoothed_means
    ours_second_moment = np.swapaxes(ours.smoothed_cross_covs[1:], 1, 2) + np.einsum("ti,tj->tij", m[:-1], m[1:])
    np.testing.assert_allclose(ours_second_moment, theirs.smoothed_cross_covariances, atol=1e-7)
