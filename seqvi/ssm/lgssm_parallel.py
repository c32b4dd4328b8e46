"""Parallel-in-time Kalman filtering, smoothing and sampling (Sarkka and
Garcia-Fernandez, 2021) with ``lax.associative_scan``: O(log T) depth.

Filtering. Each step k is an element (A, b, C, eta, J) that represents
p(x_k | x_{k-1}, y_k) = N(A x_{k-1} + b, C) together with the likelihood
information N_I(x_{k-1}; eta, J) that y_k carries about x_{k-1}. With the
transition (F, u, Q) into step k and the emission (H, d, R) at step k:

  S = H Q H^T + R,  K = Q H^T S^{-1},  e = y_k - H u - d
  A = (I - K H) F,  b = u + K e,  C = (I - K H) Q (I - K H)^T + K R K^T
  eta = (H F)^T S^{-1} e,  J = (H F)^T S^{-1} H F

and the first element is the filtered N(m_1, P_1) itself (A = 0, eta = J = 0).
Two elements i (earlier) and j (later) combine as

  A = A_j M A_i,  b = A_j M (b_i + C_i eta_j) + b_j,  C = A_j M C_i A_j^T + C_j,
  eta = A_i^T M^T (eta_j - J_j b_i) + eta_i,  J = A_i^T M^T J_j A_i + J_i,

with M = (I + C_i J_j)^{-1} applied by one LU factorisation. The prefix
combination up to k has A = 0, b = m_k, C = P_k.

The log-likelihood is NOT read off the elements: the one-step predictions
(m^-_k, P^-_k) follow in parallel from the filtered moments, and
log p(y_{1:T}) = sum_k log N(y_k; H m^-_k + d, H P^-_k H^T + R) exactly as in the
sequential filter, so both agree to round-off.

Smoothing and sampling are affine backward recursions
x_k = E_k x_{k+1} + g_k + noise(L_k), which compose associatively.
"""

import jax
import jax.numpy as jnp
from jax.scipy.linalg import cho_solve, lu_factor, lu_solve
from jaxtyping import Array, Bool, Float

from seqvi.ssm import gaussian, lgssm


def _filter_element(params, t, y_t, mask_t, inputs):
    """The element (A, b, C, eta, J) of step t >= 1 (0-based)."""
    f, u, q = lgssm.transition_at(params, t, inputs)
    h, d, r = lgssm.emission_at(params, t)
    h, r, e, _ = gaussian.mask_observation(h, r, y_t - h @ u - d, mask_t)
    hq, hf = h @ q, h @ f
    n = u.shape[0]
    chol = jnp.linalg.cholesky(hq @ h.T + r)  # symmetrises its input
    # One solve with S for the gain K = (S^{-1} H Q)^T, S^{-1} e and S^{-1} H F.
    solved = cho_solve((chol, True), jnp.concatenate([hq, e[:, None], hf], axis=1))
    gain, s_inv_e, s_inv_hf = solved[:, :n].T, solved[:, n], solved[:, n + 1:]
    i_kh = jnp.eye(n, dtype=u.dtype) - gain @ h
    return (
        i_kh @ f,
        u + gain @ e,
        gaussian.symmetrise(i_kh @ q @ i_kh.T + gain @ r @ gain.T),
        hf.T @ s_inv_e,
        gaussian.symmetrise(hf.T @ s_inv_hf),
    )


def _combine_filter(elem_i, elem_j):
    """Combine element i (earlier) with element j (later); see the module docstring."""
    a_i, b_i, c_i, eta_i, j_i = elem_i
    a_j, b_j, c_j, eta_j, j_j = elem_j
    n = b_i.shape[0]
    lu = lu_factor(jnp.eye(n, dtype=b_i.dtype) + c_i @ j_j)
    rhs = jnp.concatenate([a_i, (b_i + c_i @ eta_j)[:, None], c_i], axis=1)
    x = lu_solve(lu, rhs)
    m_a, m_b, m_c = x[:, :n], x[:, n], x[:, n + 1:]
    y = lu_solve(lu, jnp.concatenate([(eta_j - j_j @ b_i)[:, None], j_j @ a_i], axis=1), trans=1)
    return (
        a_j @ m_a,
        a_j @ m_b + b_j,
        gaussian.symmetrise(a_j @ m_c @ a_j.T + c_j),
        a_i.T @ y[:, 0] + eta_i,
        gaussian.symmetrise(a_i.T @ y[:, 1:] + j_i),
    )


def filter(  # noqa: A001
    params: lgssm.Params,
    ys: Float[Array, "T m"],
    inputs: Float[Array, "T k"] | None = None,
    mask: Bool[Array, " T"] | Bool[Array, "T m"] | None = None,
) -> lgssm.FilterResult:
    """Parallel Kalman filter; same result as ``lgssm.filter``, and the same
    validation (see ``seqvi.ssm.lgssm``). ys [T, m], inputs [T, k], mask [T] or [T, m]."""
    mask = lgssm.check_inputs(params, ys, inputs, mask)
    f = _filter(params, ys, inputs, mask)
    lgssm.check_filtered(f)
    lgssm.check_precision(params, ys, f, mask)
    return f


@jax.jit
def _filter(params, ys, inputs, mask) -> lgssm.FilterResult:
    params = lgssm.symmetric_covariances(params)  # gradients in the symmetric form
    num_steps = ys.shape[0]
    n = params.initial_mean.shape[0]
    dtype = params.initial_mean.dtype
    mask_first = None if mask is None else mask[0]
    m1, p1, _ = lgssm.update(params, params.initial_mean, params.initial_cov, ys[0], 0, mask_first)
    first = (jnp.zeros((1, n, n), dtype), m1[None], p1[None], jnp.zeros((1, n), dtype), jnp.zeros((1, n, n), dtype))
    steps = jnp.arange(1, num_steps)
    rest_mask = None if mask is None else mask[1:]
    rest = jax.vmap(_filter_element, in_axes=(None, 0, 0, 0 if mask is not None else None, None))(
        params, steps, ys[1:], rest_mask, inputs
    )
    elems = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), first, rest)
    _, means, covs, _, _ = jax.lax.associative_scan(jax.vmap(_combine_filter), elems)
    return _with_predictions(params, ys, inputs, mask, means, covs)


def _with_predictions(params, ys, inputs, mask, means, covs) -> lgssm.FilterResult:
    """Add the one-step predictions and the exact log-likelihood to filtered moments."""
    num_steps = ys.shape[0]
    steps = jnp.arange(1, num_steps)
    m_pred, p_pred = jax.vmap(lgssm.predict, in_axes=(None, 0, 0, 0, None))(params, means[:-1], covs[:-1], steps, inputs)
    m_pred = jnp.concatenate([params.initial_mean[None], m_pred])
    p_pred = jnp.concatenate([params.initial_cov[None], p_pred])

    def step_ll(t, m, p, y_t, mask_t):
        return lgssm.update(params, m, p, y_t, t, mask_t)[2]

    lls = jax.vmap(step_ll, in_axes=(0, 0, 0, 0, 0 if mask is not None else None))(
        jnp.arange(num_steps), m_pred, p_pred, ys, mask
    )
    return lgssm.FilterResult(jnp.sum(lls), means, covs, m_pred, p_pred, lls)


def _combine_backward(later, earlier):
    """Affine maps x_k = E x_{k+1} + g (+ noise L) composed backwards in time."""
    e_j, g_j, l_j = later
    e_i, g_i, l_i = earlier
    return e_i @ e_j, e_i @ g_j + g_i, gaussian.symmetrise(e_i @ l_j @ e_i.T + l_i)


def _combine_backward_mean(later, earlier):
    e_j, g_j = later
    e_i, g_i = earlier
    return e_i @ e_j, e_i @ g_j + g_i


def _backward_elements(params, f: lgssm.FilterResult):
    """(E_k, g_k = m_k - E_k m^-_{k+1}, L_k = P_k - E_k P^-_{k+1} E_k^T), and at T: (0, m_T, P_T)."""
    gains = lgssm.smoother_gains(params, f)
    next_pred_means = jnp.concatenate([f.predicted_means[1:], jnp.zeros_like(f.predicted_means[:1])])
    offsets = f.filtered_means - jnp.einsum("tij,tj->ti", gains, next_pred_means)
    covs = gaussian.backward_conditional_covs(f.filtered_covs, gains, f.predicted_covs)
    return gains, offsets, covs


def smoother(
    params: lgssm.Params,
    ys: Float[Array, "T m"],
    inputs: Float[Array, "T k"] | None = None,
    mask: Bool[Array, " T"] | Bool[Array, "T m"] | None = None,
) -> lgssm.SmootherResult:
    """Parallel filter, then the parallel RTS smoother; same result as ``lgssm.smoother``.
    ys [T, m], inputs [T, k], mask [T] or [T, m]."""
    mask = lgssm.check_inputs(params, ys, inputs, mask)
    s = _smoother(params, ys, inputs, mask)
    lgssm.check_precision(params, ys, s, mask)
    lgssm.check_filtered(s)
    lgssm.check_smoothed(s.smoothed_means, s.smoothed_covs)
    return s


@jax.jit
def _smoother(params, ys, inputs, mask) -> lgssm.SmootherResult:
    params = lgssm.symmetric_covariances(params)  # gradients in the symmetric form
    f = _filter(params, ys, inputs, mask)
    gains, offsets, covs = _backward_elements(params, f)
    _, means, smoothed_covs = jax.lax.associative_scan(
        jax.vmap(_combine_backward), (gains, offsets, covs), reverse=True
    )
    cross = smoothed_covs[1:] @ jnp.swapaxes(gains[:-1], -1, -2)
    cross = jnp.concatenate([jnp.zeros_like(cross[:1]), cross])
    return lgssm.SmootherResult(f.log_likelihood, f.filtered_means, f.filtered_covs, means, smoothed_covs, cross)


def posterior_sample(
    key: jax.Array,
    params: lgssm.Params,
    ys: Float[Array, "T m"],
    inputs: Float[Array, "T k"] | None = None,
    mask: Bool[Array, " T"] | Bool[Array, "T m"] | None = None,
) -> Float[Array, "T n"]:
    """Parallel backward sampling; the same path [T, n] as ``lgssm.posterior_sample`` for the same key.
    ys [T, m], inputs [T, k], mask [T] or [T, m]."""
    path = _posterior_sample(key, params, ys, inputs, lgssm.check_inputs(params, ys, inputs, mask))
    lgssm.check_smoothed(path)
    return path


@jax.jit
def _posterior_sample(key, params, ys, inputs, mask) -> jax.Array:
    params = lgssm.symmetric_covariances(params)  # gradients in the symmetric form
    f = _filter(params, ys, inputs, mask)
    gains, offsets, covs = _backward_elements(params, f)
    eps = jax.random.normal(key, f.filtered_means.shape, f.filtered_means.dtype)
    noise = jnp.einsum("tij,tj->ti", jax.vmap(gaussian.psd_sqrt)(covs), eps)
    _, xs = jax.lax.associative_scan(jax.vmap(_combine_backward_mean), (gains, offsets + noise), reverse=True)
    return xs
