"""Extended and unscented Kalman filters and smoothers for

  x_1 ~ N(mu_0, Sigma_0),  x_t = f(x_{t-1}, u_t) + q_t,  q_t ~ N(0, Q)   (t >= 2)
  y_t = h(x_t) + r_t,       r_t ~ N(0, R)

with f and h given as JAX functions (``f(x, u)`` receives u = None when there
are no inputs). Both filters are Gaussian filters that differ only in how they
approximate the moments of f(x) and h(x):

  EKF: first-order Taylor expansion at the current mean (Jacobians by jacfwd),
       so on a linear model it IS the Kalman filter (same Joseph-form update).
  UKF: the unscented transform with 2n + 1 sigma points (Wan and van der Merwe's
       alpha, beta, kappa; defaults 1, 0, 0), exact for linear f and h.

Both record Cov[x_{t-1}, x_t | y_{1:t-1}], so one Rauch-Tung-Striebel pass
(``gaussian.rts_smoother``) smooths either. Missing data: ``mask`` as in
``seqvi.ssm.lgssm``, and the same validation: shapes eagerly (also under jit),
values (covariances symmetric PSD, ys finite where observed, a finite filter)
eagerly when concrete and as ``checkify`` debug checks when traced.

float32: the unscented transform with a small alpha puts the sigma points at
sqrt(n + lambda) = alpha sqrt(n + kappa) standard deviations and weights them by
about 1 / (n + lambda), so rounding in f and h is amplified by sum_i |w_i|; in
float32 with alpha = 1e-3 that is about 1e6 eps, errors of 0.1 to 1 in the filtered means.
``sigma_points`` warns (RuntimeWarning) when eps * sum_i |w_i| > 1e-3; use
float64 or a larger alpha there.
"""

import functools
import warnings
from collections.abc import Callable
from typing import NamedTuple

import flax.struct
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from seqvi.ssm import gaussian, lgssm


@flax.struct.dataclass
class Model:
    """A nonlinear Gaussian state-space model; the functions are static under jit."""

    initial_mean: jax.Array  # [n]
    initial_cov: jax.Array  # [n, n]
    transition_cov: jax.Array  # [n, n]
    emission_cov: jax.Array  # [m, m]
    transition_fn: Callable = flax.struct.field(pytree_node=False)  # (x [n], u [k] | None) -> [n]
    emission_fn: Callable = flax.struct.field(pytree_node=False)  # x [n] -> [m]


class FilterResult(NamedTuple):
    log_likelihood: jax.Array  # [] (approximate) log p(y_{1:T})
    filtered_means: jax.Array  # [T, n]
    filtered_covs: jax.Array  # [T, n, n]
    predicted_means: jax.Array  # [T, n] (index 0: mu_0)
    predicted_covs: jax.Array  # [T, n, n]
    prediction_cross_covs: jax.Array  # [T, n, n] Cov[x_{t-1}, x_t | y_{1:t-1}]; index 0 zero
    step_log_likelihoods: jax.Array  # [T]


def _check(model: Model, ys, inputs, mask):
    if not isinstance(model, Model):
        raise TypeError(f"expected seqvi.ssm.nonlinear.Model, got {type(model).__name__}")
    if jnp.ndim(ys) != 2 or jnp.shape(ys)[0] < 1:
        raise ValueError(f"ys must be one sequence of shape [T, m] with T >= 1, got {jnp.shape(ys)}")
    n, m = model.initial_mean.shape[0], model.emission_cov.shape[0]
    shapes = {"initial_cov": (n, n), "transition_cov": (n, n), "emission_cov": (m, m)}
    for name, shape in shapes.items():
        if getattr(model, name).shape != shape:
            raise ValueError(f"model.{name} has shape {getattr(model, name).shape}, expected {shape}")
    if ys.shape[1] != m:
        raise ValueError(f"ys has {ys.shape[1]} dimensions but emission_cov is {m} x {m}")
    x_out = jax.eval_shape(model.transition_fn, model.initial_mean, None if inputs is None else inputs[0])
    y_out = jax.eval_shape(model.emission_fn, model.initial_mean)
    if x_out.shape != (n,) or y_out.shape != (m,):
        raise ValueError(f"transition_fn must return [n] = ({n},) and emission_fn [m] = ({m},); "
                         f"got {x_out.shape} and {y_out.shape}")
    if inputs is not None and inputs.shape[0] != ys.shape[0]:
        raise ValueError(f"inputs must have a leading time axis T = {ys.shape[0]}, got {inputs.shape}")
    # Reuse the LGSSM mask normalisation: an LGSSM with the same dimensions.
    dummy = lgssm.Params(model.initial_mean, model.initial_cov, model.transition_cov, model.transition_cov,
                         jnp.zeros((m, n), model.initial_mean.dtype), model.emission_cov)
    return lgssm.check_inputs(dummy, ys, None, mask)


def _run(model: Model, ys, inputs, mask, predict, update) -> FilterResult:
    """The Gaussian-filter scan shared by the EKF and the UKF (``mask`` already
    normalised by ``_check``).

    predict(m, P, u) -> (m^-, P^-, Cov[x_{t-1}, x_t]); update(m^-, P^-, y, mask) -> (m, P, log p(y_t | .)).
    """
    m1, p1, ll1 = update(model.initial_mean, model.initial_cov, ys[0], None if mask is None else mask[0])

    def body(carry, inp):
        m, p = carry
        u_t, y_t, mask_t = inp
        m_pred, p_pred, cross = predict(m, p, u_t)
        m_f, p_f, ll = update(m_pred, p_pred, y_t, mask_t)
        return (m_f, p_f), (m_f, p_f, m_pred, p_pred, cross, ll)

    rest = (None if inputs is None else inputs[1:], ys[1:], None if mask is None else mask[1:])
    _, (ms, ps, m_pred, p_pred, cross, lls) = jax.lax.scan(body, (m1, p1), rest)
    cat = lambda first, others: jnp.concatenate([first[None], others])
    lls = cat(ll1, lls)
    return FilterResult(
        jnp.sum(lls), cat(m1, ms), cat(p1, ps), cat(model.initial_mean, m_pred),
        cat(model.initial_cov, p_pred), cat(jnp.zeros_like(p1), cross), lls,
    )


def ekf_filter(
    model: Model,
    ys: Float[Array, "T m"],
    inputs: Float[Array, "T k"] | None = None,
    mask: Bool[Array, " T"] | Bool[Array, "T m"] | None = None,
) -> FilterResult:
    """Extended Kalman filter: F = df/dx and H = dh/dx at the current mean.
    ys [T, m], inputs [T, k], mask [T] or [T, m]."""
    f = _ekf_filter(model, ys, inputs, _check(model, ys, inputs, mask))
    lgssm.check_filtered(f)
    return f


@jax.jit
def _ekf_filter(model: Model, ys, inputs, mask) -> FilterResult:
    def predict(m, p, u):
        f_jac = jax.jacfwd(model.transition_fn)(m, u)
        cross = p @ f_jac.T
        return model.transition_fn(m, u), gaussian.symmetrise(f_jac @ cross + model.transition_cov), cross

    def update(m, p, y, mask_t):
        h_jac = jax.jacfwd(model.emission_fn)(m)
        return gaussian.condition_linear(m, p, h_jac, model.emission_cov, y - model.emission_fn(m), mask_t)

    return _run(model, ys, inputs, mask, predict, update)


def sigma_points(
    mean: Float[Array, " n"], cov: Float[Array, "n n"], alpha: float = 1.0, beta: float = 0.0, kappa: float = 0.0
) -> tuple[Float[Array, "2*n+1 n"], Float[Array, " 2*n+1"], Float[Array, " 2*n+1"]]:
    """The 2n + 1 unscented sigma points and their weights, for N(mean [n], cov [n, n]).

    lambda = alpha^2 (n + kappa) - n; points m and m +- sqrt(n + lambda) S_i with
    S S^T = P; mean weights w_0 = lambda / (n + lambda), w_i = 1 / (2 (n + lambda));
    covariance weights equal except w_0 + (1 - alpha^2 + beta).
    Returns (points [2n+1, n], mean weights [2n+1], covariance weights [2n+1]).
    """
    n = mean.shape[0]
    lam = alpha**2 * (n + kappa) - n
    if n + lam <= 0:
        raise ValueError(f"unscented transform needs n + lambda > 0; got alpha={alpha}, kappa={kappa}, n={n}")
    amplification = (abs(lam) + n) / (n + lam)  # sum_i |w_i| of the mean weights
    eps = float(jnp.finfo(jnp.result_type(mean.dtype, jnp.float32)).eps)
    if eps * amplification > 1e-3:
        warnings.warn(
            f"unscented transform in {jnp.dtype(mean.dtype).name} with alpha={alpha}, kappa={kappa}, n={n}: "
            f"the sigma-point weights amplify rounding by {amplification:.3g} (eps * that = "
            f"{eps * amplification:.2g}), so means and log-likelihoods may be off; use float64 or a larger alpha",
            RuntimeWarning,
            stacklevel=2,
        )
    root = jnp.sqrt(n + lam) * gaussian.psd_sqrt(cov)
    points = jnp.concatenate([mean[None], mean + root.T, mean - root.T])
    w = jnp.full((2 * n + 1,), 0.5 / (n + lam), mean.dtype)
    w_mean = w.at[0].set(lam / (n + lam))
    w_cov = w_mean.at[0].add(1.0 - alpha**2 + beta)
    return points, w_mean, w_cov


def unscented_transform(
    fn: Callable[[Float[Array, " n"]], Float[Array, " m"]],
    mean: Float[Array, " n"],
    cov: Float[Array, "n n"],
    alpha=1.0,
    beta=0.0,
    kappa=0.0,
) -> tuple[Float[Array, " m"], Float[Array, "m m"], Float[Array, "n m"]]:
    """Moments of fn(x) [m] for x ~ N(mean [n], cov [n, n]): the mean E[fn(x)] of
    shape [m], the covariance Cov[fn(x)] of shape [m, m] and the cross-covariance
    Cov[x, fn(x)] of shape [n, m]."""
    points, w_mean, w_cov = sigma_points(mean, cov, alpha, beta, kappa)
    values = jax.vmap(fn)(points)
    out_mean = w_mean @ values
    dv, dx = values - out_mean, points - mean
    return out_mean, gaussian.symmetrise((w_cov[:, None] * dv).T @ dv), (w_cov[:, None] * dx).T @ dv


def ukf_filter(
    model: Model,
    ys: Float[Array, "T m"],
    inputs: Float[Array, "T k"] | None = None,
    mask: Bool[Array, " T"] | Bool[Array, "T m"] | None = None,
    *,
    alpha=1.0,
    beta=0.0,
    kappa=0.0,
) -> FilterResult:
    """Unscented Kalman filter (see ``sigma_points`` for alpha, beta, kappa, and
    the module docstring for float32 with a small alpha). ys [T, m], inputs [T, k],
    mask [T] or [T, m]."""
    f = _ukf_filter(model, ys, inputs, _check(model, ys, inputs, mask), alpha=alpha, beta=beta, kappa=kappa)
    lgssm.check_filtered(f)
    return f


@functools.partial(jax.jit, static_argnames=("alpha", "beta", "kappa"))
def _ukf_filter(model: Model, ys, inputs, mask, *, alpha, beta, kappa) -> FilterResult:
    def predict(m, p, u):
        m_pred, p_f, cross = unscented_transform(lambda x: model.transition_fn(x, u), m, p, alpha, beta, kappa)
        return m_pred, p_f + model.transition_cov, cross

    def update(m, p, y, mask_t):
        y_pred, s, cross = unscented_transform(model.emission_fn, m, p, alpha, beta, kappa)
        return gaussian.condition_moments(m, p, y_pred, s + model.emission_cov, cross, y, mask_t)

    return _run(model, ys, inputs, mask, predict, update)


def smooth(f: FilterResult) -> lgssm.SmootherResult:
    """Rauch-Tung-Striebel smoothing of an EKF or UKF pass."""
    means, covs, _, cross = gaussian.rts_smoother(
        f.filtered_means, f.filtered_covs, f.predicted_means, f.predicted_covs, f.prediction_cross_covs
    )
    lgssm.check_smoothed(means, covs)
    return lgssm.SmootherResult(f.log_likelihood, f.filtered_means, f.filtered_covs, means, covs, cross)


def ekf_smoother(
    model: Model,
    ys: Float[Array, "T m"],
    inputs: Float[Array, "T k"] | None = None,
    mask: Bool[Array, " T"] | Bool[Array, "T m"] | None = None,
) -> lgssm.SmootherResult:
    """Extended RTS smoother: the EKF, then ``smooth``. ys [T, m], inputs [T, k], mask [T] or [T, m]."""
    return smooth(ekf_filter(model, ys, inputs, mask))


def ukf_smoother(
    model: Model,
    ys: Float[Array, "T m"],
    inputs: Float[Array, "T k"] | None = None,
    mask: Bool[Array, " T"] | Bool[Array, "T m"] | None = None,
    **unscented,
) -> lgssm.SmootherResult:
    """Unscented RTS smoother: the UKF (its cross-covariances from sigma points), then ``smooth``.
    ys [T, m], inputs [T, k], mask [T] or [T, m]."""
    return smooth(ukf_filter(model, ys, inputs, mask, **unscented))
