"""The SMC engine against the exact likelihood of a linear-Gaussian StepModel."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi import bounds
from seqvi.models.linear_gaussian import LinearGaussian, joint_log_likelihood, random_params
from seqvi.smc import resampling, smc

MODEL = LinearGaussian()
T, Z, X = 5, 2, 2


@pytest.fixture
def problem(x64):
    params = random_params(jax.random.key(0), Z, X, jnp.float64)
    xs, _ = MODEL.generate(params, jax.random.key(1), T)
    return params, xs


@pytest.mark.parametrize(
    "resampler, threshold",
    [(None, 0.0), (resampling.systematic, 0.5), (resampling.multinomial, 1.0), (resampling.residual, 0.7)],
)
def test_log_z_hat_is_unbiased(problem, resampler, threshold):
    """E[Z-hat] = p(x_{1:T}): the mean of Z-hat / Z over many runs is 1."""
    params, xs = problem
    exact = joint_log_likelihood(params, xs)
    run = jax.jit(
        jax.vmap(
            lambda k: smc.run(
                MODEL, params, xs, T, k, num_particles=8, resampler=resampler, ess_threshold=threshold
            ).log_z
        )
    )
    ratios = np.exp(np.asarray(run(jax.random.split(jax.random.key(2), 4000))) - float(exact))
    stderr = ratios.std() / np.sqrt(ratios.size)
    assert abs(ratios.mean() - 1.0) < 4 * stderr + 1e-3, (ratios.mean(), stderr)
    # ...and log Z-hat is a lower bound in expectation (Jensen).
    assert np.log(ratios).mean() < 0.0


def test_padded_steps_change_nothing(problem):
    params, xs = problem
    padded = jnp.concatenate([xs, 100.0 * jnp.ones((5, X))])
    kw = dict(num_particles=4, resampler=resampling.systematic, ess_threshold=0.9)
    a = smc.run(MODEL, params, xs, T, jax.random.key(3), **kw)
    b = smc.run(MODEL, params, padded, T, jax.random.key(3), **kw)
    assert float(a.log_z) == pytest.approx(float(b.log_z), abs=1e-12)
    np.testing.assert_allclose(b.log_z_increments[:T], a.log_z_increments, atol=1e-12)
    assert np.all(np.asarray(b.log_z_increments[T:]) == 0.0)
    assert not np.any(np.asarray(b.resampled[T:]))
    assert np.all(np.asarray(b.ancestors[T:]) == np.arange(4))
    assert float(b.log_z_increments.sum()) == pytest.approx(float(b.log_z), abs=1e-10)


def test_resampling_follows_the_ess_threshold(problem):
    params, xs = problem
    always = smc.run(MODEL, params, xs, T, jax.random.key(4), num_particles=4,
                     resampler=resampling.systematic, ess_threshold=1.0)
    never = smc.run(MODEL, params, xs, T, jax.random.key(4), num_particles=4,
                    resampler=resampling.systematic, ess_threshold=0.0)
    assert not np.any(np.asarray(never.resampled))
    # ESS < N whenever the weights are not all equal, so threshold 1 resamples every step.
    assert np.all(np.asarray(always.resampled) == (np.asarray(always.ess) < 4.0))
    assert np.asarray(always.resampled).sum() >= T - 1


def test_gradients_are_finite_through_resampling(problem):
    params, xs = problem

    def f(p):
        return bounds.fivo(MODEL, p, xs, T, jax.random.key(5), num_particles=4, ess_threshold=1.0).bound

    grads = jax.grad(f)(params)
    assert all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads))
    assert float(jnp.abs(grads["A"]).sum()) > 0


def test_bad_arguments(problem):
    params, xs = problem
    with pytest.raises(ValueError, match=r"xs must be one sequence of shape \[T, D\]"):
        smc.run(MODEL, params, xs[None], T, jax.random.key(0), num_particles=2)
    with pytest.raises(ValueError, match="num_particles"):
        smc.run(MODEL, params, xs, T, jax.random.key(0), num_particles=0)
    with pytest.raises(ValueError, match="ess_threshold"):
        smc.run(MODEL, params, xs, T, jax.random.key(0), num_particles=2, ess_threshold=1.5)
