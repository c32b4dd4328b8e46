"""A test fixture: a linear-Gaussian state-space model written as a StepModel.

  z_1 ~ N(0, diag(init_scale^2)),  z_t = A z_{t-1} + N(0, diag(q^2))
  x_t = C z_t + N(0, diag(r^2))
  proposal q(z_t | z_{t-1}, x_t) = N(m + K (x_t - C m), diag(s^2)),  m = A z_{t-1}

Its exact likelihood is known (Kalman filter, or the joint Gaussian of x_{1:T};
``joint_log_likelihood`` computes the latter by brute force), which makes it the
reference model for testing the SMC engine and the bounds. K = 0, s = q gives
the bootstrap proposal (the prior).
"""

import dataclasses

import jax
import jax.numpy as jnp

from seqvi import dist
from seqvi.core import StepModel


@dataclasses.dataclass(frozen=True)
class LinearGaussian(StepModel):
    """State: (z_{t-1}, is_first); params: dict with A [Z,Z], C [X,Z], q [Z],
    r [X], init_scale [Z], K [Z,X], s [Z]."""

    def initial_state(self, params):
        return (jnp.zeros_like(params["q"]), jnp.asarray(True))

    def _prior_moments(self, params, state):
        z_prev, first = state
        mean = jnp.where(first, jnp.zeros_like(z_prev), params["A"] @ z_prev)
        scale = jnp.where(first, params["init_scale"], params["q"])
        return mean, scale

    def prior(self, params, state, ctx_t):
        return dist.diag_gaussian(*self._prior_moments(params, state))

    def proposal(self, params, state, ctx_t, x_t):
        mean, _ = self._prior_moments(params, state)
        return dist.diag_gaussian(mean + params["K"] @ (x_t - params["C"] @ mean), params["s"])

    def emission(self, params, state, z_t, ctx_t):
        return dist.diag_gaussian(params["C"] @ z_t, params["r"])

    def update(self, params, state, z_t, x_t, ctx_t):
        return (z_t, jnp.asarray(False))


def random_params(key: jax.Array, latent_dim: int, data_dim: int, dtype=jnp.float32) -> dict:
    """A stable random model (spectral radius of A below 1) with a nontrivial proposal."""
    k = jax.random.split(key, 6)
    a = jax.random.normal(k[0], (latent_dim, latent_dim), dtype)
    a = 0.9 * a / jnp.max(jnp.abs(jnp.linalg.eigvals(a)))
    return {
        "A": a.real.astype(dtype),
        "C": jax.random.normal(k[1], (data_dim, latent_dim), dtype),
        "q": jax.random.uniform(k[2], (latent_dim,), dtype, 0.5, 1.0),
        "r": jax.random.uniform(k[3], (data_dim,), dtype, 0.5, 1.0),
        "init_scale": jnp.ones((latent_dim,), dtype),
        "K": 0.1 * jax.random.normal(k[4], (latent_dim, data_dim), dtype),
        "s": jax.random.uniform(k[5], (latent_dim,), dtype, 1.0, 1.5),
    }


def joint_log_likelihood(params: dict, xs: jax.Array, observed=None) -> jax.Array:
    """log p(x_{1:T}) as one Gaussian over the stacked [T * X] vector (brute force);
    with a boolean [T] ``observed`` (concrete), the marginal log p(x_obs) of the
    observed steps (the sub-block of the joint covariance).

    Cov(z_t, z_s) = A^{t-s} Sigma_s for s <= t, Sigma_1 = diag(init^2),
    Sigma_t = A Sigma_{t-1} A^T + diag(q^2); Cov(x_t, x_s) = C Cov(z_t, z_s) C^T
    + [s = t] diag(r^2).
    """
    num_steps, x_dim = xs.shape
    a, c = params["A"], params["C"]
    sigmas = [jnp.diag(params["init_scale"] ** 2)]
    for _ in range(1, num_steps):
        sigmas.append(a @ sigmas[-1] @ a.T + jnp.diag(params["q"] ** 2))
    blocks = [[None] * num_steps for _ in range(num_steps)]
    for s in range(num_steps):
        cross = sigmas[s]
        for t in range(s, num_steps):
            block = c @ cross @ c.T
            if t == s:
                block = block + jnp.diag(params["r"] ** 2)
            blocks[t][s] = block  # Cov(x_t, x_s) = C A^{t-s} Sigma_s C^T
            blocks[s][t] = block.T
            cross = a @ cross
    cov = jnp.block(blocks)
    flat = xs.reshape(-1)
    if observed is not None:
        keep = jnp.repeat(jnp.asarray(observed, bool), x_dim)
        cov, flat = cov[keep][:, keep], flat[keep]
    chol = jnp.linalg.cholesky(cov)
    white = jax.scipy.linalg.solve_triangular(chol, flat, lower=True)
    return (
        -0.5 * white @ white
        - jnp.log(jnp.diag(chol)).sum()
        - 0.5 * flat.size * jnp.log(2 * jnp.pi)
    )
