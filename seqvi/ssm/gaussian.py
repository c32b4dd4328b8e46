"""Gaussian building blocks shared by the Kalman, EKF and UKF code.

Everything works on one time step and one state; the filters scan over time.
Conventions: a covariance is symmetrised after every update, every inverse is
a Cholesky (or LU) solve, and a missing observation dimension is dropped
exactly (``mask_observation``) rather than given a huge variance.
"""

import math

import jax
import jax.numpy as jnp
from jax.scipy.linalg import cho_solve, solve_triangular
from jaxtyping import Array, Bool, Float

LOG_2PI = math.log(2.0 * math.pi)


def symmetrise(a: Float[Array, "*batch n n"]) -> Float[Array, "*batch n n"]:
    """(A + A^T) / 2 over the last two axes (A [..., n, n])."""
    return 0.5 * (a + jnp.swapaxes(a, -1, -2))


def log_density_chol(residual: Float[Array, " m"], chol: Float[Array, "m m"]) -> Float[Array, ""]:
    """log N(r; 0, L L^T) for r [m] and the lower Cholesky factor L [m, m]:
    -|L^{-1} r|^2 / 2 - sum_i log L_ii - m log(2 pi) / 2."""
    z = solve_triangular(chol, residual, lower=True)
    return -0.5 * z @ z - jnp.sum(jnp.log(jnp.diagonal(chol))) - 0.5 * residual.shape[-1] * LOG_2PI


def mask_observation(
    emission_matrix: Float[Array, "m n"],
    emission_cov: Float[Array, "m m"],
    residual: Float[Array, " m"],
    mask: Bool[Array, " m"] | None,
) -> tuple[Float[Array, "m n"], Float[Array, "m m"], Float[Array, " m"], Float[Array, ""]]:
    """Keep only the observed dimensions of y = H x + r, r ~ N(0, R), with static shapes
    (H = ``emission_matrix`` [m, n], R = ``emission_cov`` [m, m], ``residual`` [m], ``mask`` [m] or None).

    With o = mask (1 observed, 0 missing) the rows of H and of the residual are
    multiplied by o (a missing entry may hold NaN), and R becomes D_o R D_o + diag(1 - o):
    its observed block is untouched, the missing block is the identity and decoupled from the rest. A
    missing dimension then has zero innovation and zero gain, and contributes
    exactly log N(0; 0, 1) = -log(2 pi) / 2 to the log-density, which the caller
    removes using the returned number of missing dimensions.

    Returns (H [m, n], R [m, m], residual [m], num_missing []).
    """
    if mask is None:
        return emission_matrix, emission_cov, residual, jnp.zeros((), residual.dtype)
    o = mask.astype(residual.dtype)
    h = emission_matrix * o[:, None]
    r = emission_cov * (o[:, None] * o[None, :]) + jnp.diag(1.0 - o)
    return h, r, jnp.where(mask, residual, 0.0), jnp.sum(1.0 - o)


def condition_linear(
    mean: Float[Array, " n"],
    cov: Float[Array, "n n"],
    emission_matrix: Float[Array, "m n"],
    emission_cov: Float[Array, "m m"],
    residual: Float[Array, " m"],
    mask: Bool[Array, " m"] | None = None,
) -> tuple[Float[Array, " n"], Float[Array, "n n"], Float[Array, ""]]:
    """Condition N(mean, cov) on y = H x + d + r, r ~ N(0, R); ``residual`` = y - H mean - d.
    Shapes: mean [n], cov [n, n], H [m, n], R [m, m], residual [m], mask [m] or None.

      S = H P H^T + R,  K = P H^T S^{-1}  (Cholesky solve),
      mean' = mean + K residual,
      P' = (I - K H) P (I - K H)^T + K R K^T  (Joseph form, valid for any gain K),
      log p(y) = log N(residual; 0, S)  over the observed dimensions only.

    Returns (mean' [n], cov' [n, n], log p(y) []).
    """
    h, r, res, num_missing = mask_observation(emission_matrix, emission_cov, residual, mask)
    hp = h @ cov
    chol = jnp.linalg.cholesky(hp @ h.T + r)  # S = L L^T (cholesky symmetrises its input)
    # One triangular solve serves the gain, the mean and the log-density:
    # with Z = L^{-1} H P and z = L^{-1} residual, K = (L^{-T} Z)^T, K residual = Z^T z
    # and K H P = Z^T Z.
    solved = solve_triangular(chol, jnp.concatenate([hp, res[:, None]], axis=1), lower=True)
    z_hp, z_res = solved[:, :-1], solved[:, -1]
    gain = solve_triangular(chol, z_hp, lower=True, trans=1).T
    # Joseph form without n^3 products: with (I - K H) P = P - Z^T Z,
    # (I - K H) P (I - K H)^T + K R K^T = (I - K H) P + (K R - (I - K H) P H^T) K^T;
    # the second term vanishes for the exact gain and absorbs the error of a computed one.
    i_kh_p = cov - z_hp.T @ z_hp
    new_cov = symmetrise(i_kh_p + (gain @ r - i_kh_p @ h.T) @ gain.T)
    log_lik = (
        -0.5 * z_res @ z_res - jnp.sum(jnp.log(jnp.diagonal(chol)))
        - 0.5 * (res.shape[-1] - num_missing) * LOG_2PI
    )
    return mean + z_hp.T @ z_res, new_cov, log_lik


def condition_moments(
    mean: Float[Array, " n"],
    cov: Float[Array, "n n"],
    predicted_y: Float[Array, " m"],
    innovation_cov: Float[Array, "m m"],
    cross_cov: Float[Array, "n m"],
    y: Float[Array, " m"],
    mask: Bool[Array, " m"] | None = None,
) -> tuple[Float[Array, " n"], Float[Array, "n n"], Float[Array, ""]]:
    """Condition on y [m] given the joint moments E[y] = predicted_y [m], Cov[y] = S [m, m] and
    Cov[x, y] = cross_cov [n, m] (the unscented update) of x ~ N(mean [n], cov [n, n]):

      K = Cov[x, y] S^{-1},  mean' = mean + K (y - E[y]),  P' = P - K S K^T.

    Missing dimensions are dropped as in ``mask_observation``. Returns
    (mean' [n], cov' [n, n], log N(y; E[y], S) []).
    """
    # Cov[x, y]^T plays the part of H in dropping the missing rows.
    cross_t, s, residual, num_missing = mask_observation(cross_cov.T, innovation_cov, y - predicted_y, mask)
    chol = jnp.linalg.cholesky(s)
    gain = cho_solve((chol, True), cross_t).T
    new_cov = symmetrise(cov - gain @ s @ gain.T)
    log_lik = log_density_chol(residual, chol) + 0.5 * LOG_2PI * num_missing
    return mean + gain @ residual, new_cov, log_lik


def smoother_gain(
    filtered_cov_or_cross: Float[Array, "n n"], predicted_cov: Float[Array, "n n"]
) -> Float[Array, "n n"]:
    """E = Cov[x_t, x_{t+1} | y_{1:t}] Cov[x_{t+1} | y_{1:t}]^{-1} by a Cholesky solve.

    ``filtered_cov_or_cross`` is that cross-covariance C [n, n] (P_t A^T for a
    linear transition) and ``predicted_cov`` is P [n, n]; the result [n, n] is
    C P^{-1}, computed as (P^{-1} C^T)^T.
    """
    chol = jnp.linalg.cholesky(predicted_cov)
    return cho_solve((chol, True), filtered_cov_or_cross.T).T


def rts_smoother(
    filtered_means: Float[Array, "T n"],
    filtered_covs: Float[Array, "T n n"],
    predicted_means: Float[Array, "T n"],
    predicted_covs: Float[Array, "T n n"],
    prediction_cross_covs: Float[Array, "T n n"],
) -> tuple[Float[Array, "T n"], Float[Array, "T n n"], Float[Array, "T n n"], Float[Array, "T n n"]]:
    """The Rauch-Tung-Striebel backward pass, for any Gaussian filter.

    Inputs have a leading time axis T (means [T, n], covariances [T, n, n]);
    ``predicted_*[t]`` are the moments of x_t given y_{1:t-1}, and
    ``prediction_cross_covs[t]`` = Cov[x_{t-1}, x_t | y_{1:t-1}]
    (index 0 unused). For t = T-1, ..., 1 (0-based, backwards):

      E_t = Cov[x_t, x_{t+1} | y_{1:t}] P^-_{t+1}^{-1}
      m^s_t = m_t + E_t (m^s_{t+1} - m^-_{t+1})
      P^s_t = P_t + E_t (P^s_{t+1} - P^-_{t+1}) E_t^T
      Cov[x_{t+1}, x_t | y_{1:T}] = P^s_{t+1} E_t^T

    Returns (smoothed_means [T, n], smoothed_covs [T, n, n], gains [T, n, n] with
    E_{T-1} = 0, smoothed_cross_covs [T, n, n] whose entry t is
    Cov[x_t, x_{t-1} | y_{1:T}] and entry 0 is zero).
    """

    def body(carry, inp):
        m_next, p_next = carry
        m, p, m_pred, p_pred, cross = inp
        gain = smoother_gain(cross, p_pred)
        m_s = m + gain @ (m_next - m_pred)
        p_s = symmetrise(p + gain @ (p_next - p_pred) @ gain.T)
        return (m_s, p_s), (m_s, p_s, gain, p_next @ gain.T)

    last = (filtered_means[-1], filtered_covs[-1])
    inputs = (
        filtered_means[:-1],
        filtered_covs[:-1],
        predicted_means[1:],
        predicted_covs[1:],
        prediction_cross_covs[1:],
    )
    _, (means, covs, gains, cross) = jax.lax.scan(body, last, inputs, reverse=True)
    zero = jnp.zeros_like(filtered_covs[:1])
    return (
        jnp.concatenate([means, filtered_means[-1:]]),
        jnp.concatenate([covs, filtered_covs[-1:]]),
        jnp.concatenate([gains, zero]),
        jnp.concatenate([zero, cross]),
    )


def backward_sample(
    key: jax.Array,
    filtered_means: Float[Array, "T n"],
    filtered_covs: Float[Array, "T n n"],
    predicted_means: Float[Array, "T n"],
    gains: Float[Array, "T n n"],
    predicted_covs: Float[Array, "T n n"],
) -> Float[Array, "T n"]:
    """Backward sampling of a path x_{1:T} ~ p(x_{1:T} | y_{1:T}) (FFBS).

    x_T ~ N(m_T, P_T); then x_t | x_{t+1} ~ N(m_t + E_t (x_{t+1} - m^-_{t+1}),
    P_t - E_t P^-_{t+1} E_t^T). The standard-normal draws are made up front
    (``key`` -> eps [T, n]) so the parallel sampler reproduces the same path.
    Means are [T, n], covariances and gains E_t [T, n, n] (as ``rts_smoother``'s).
    Returns [T, n].
    """
    eps = jax.random.normal(key, filtered_means.shape, filtered_means.dtype)
    cond_covs = backward_conditional_covs(filtered_covs, gains, predicted_covs)
    x_last = filtered_means[-1] + psd_sqrt(filtered_covs[-1]) @ eps[-1]

    def body(x_next, inp):
        m, m_pred_next, gain, cov, e = inp
        x = m + gain @ (x_next - m_pred_next) + psd_sqrt(cov) @ e
        return x, x

    inputs = (filtered_means[:-1], predicted_means[1:], gains[:-1], cond_covs[:-1], eps[:-1])
    _, xs = jax.lax.scan(body, x_last, inputs, reverse=True)
    return jnp.concatenate([xs, x_last[None]])


def backward_path_log_prob(
    path: Float[Array, "T n"],
    filtered_means: Float[Array, "T n"],
    filtered_covs: Float[Array, "T n n"],
    predicted_means: Float[Array, "T n"],
    gains: Float[Array, "T n n"],
    predicted_covs: Float[Array, "T n n"],
) -> Float[Array, ""]:
    """log p(x_{1:T} | y_{1:T}) of a path [T, n] through the backward factorisation
    that ``backward_sample`` draws from:

      log N(x_T; m_T, P_T) + sum_{t<T} log N(x_t; m_t + E_t (x_{t+1} - m^-_{t+1}), P_t - E_t P^-_{t+1} E_t^T).

    Moments as in ``backward_sample`` (means [T, n], covariances and gains [T, n, n]).
    The conditional covariances must be positive definite (Cholesky)."""
    cond_covs = backward_conditional_covs(filtered_covs, gains, predicted_covs)
    next_x = jnp.concatenate([path[1:], path[-1:]])
    next_pred = jnp.concatenate([predicted_means[1:], predicted_means[-1:]])
    means = filtered_means + jnp.einsum("tij,tj->ti", gains, next_x - next_pred)  # E_T = 0: m_T
    chols = jnp.linalg.cholesky(cond_covs)
    return jnp.sum(jax.vmap(log_density_chol)(path - means, chols))


def backward_conditional_covs(
    filtered_covs: Float[Array, "T n n"], gains: Float[Array, "T n n"], predicted_covs: Float[Array, "T n n"]
) -> Float[Array, "T n n"]:
    """Cov[x_t | x_{t+1}, y_{1:t}] = P_t - E_t P^-_{t+1} E_t^T for every t (the last
    entry, with E = 0, is P_T). [T, n, n], from P_t, E_t and P^-_t, each [T, n, n]."""
    next_pred = jnp.concatenate([predicted_covs[1:], predicted_covs[-1:]])
    return symmetrise(filtered_covs - gains @ next_pred @ jnp.swapaxes(gains, -1, -2))


def psd_sqrt(cov: Float[Array, "n n"]) -> Float[Array, "n n"]:
    """A square root S [n, n] with S S^T = cov for a PSD (possibly singular) matrix [n, n].

    Cholesky when it succeeds; otherwise (a singular covariance, such as the
    conditional of a noise-free state component) the symmetric eigen-root with
    negative round-off eigenvalues clipped to zero.
    """
    cov = symmetrise(cov)
    chol = jnp.linalg.cholesky(cov)

    def eig_root():
        w, v = jnp.linalg.eigh(cov)
        return v * jnp.sqrt(jnp.clip(w, 0.0))[..., None, :]

    return jax.lax.cond(jnp.all(jnp.isfinite(chol)), lambda: chol, eig_root)
