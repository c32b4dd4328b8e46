"""Linear-Gaussian state-space models: Kalman filter, RTS smoother, sampling.

The model (1-based time t = 1..T, stored at 0-based index t-1):

  x_1 ~ N(mu_0, Sigma_0)
  x_t = A_t x_{t-1} + B_t u_t + b_t + q_t,   q_t ~ N(0, Q_t),   t >= 2
  y_t = C_t x_t + d_t + r_t,                  r_t ~ N(0, R_t)

Every matrix or bias in ``Params`` is either fixed (``A`` of shape [n, n]) or
time-varying with a leading time axis (``A`` of shape [T, n, n]); the entry at
index t of a transition quantity is the one that maps x_{t-1} to x_t, so index 0
of A, B, b, Q and u is never used (x_1 comes from the initial distribution).
This is the indexing of dynamax and of the KVAE, whose A_t depends on a_{1:t-1}.

Missing data: ``mask`` is boolean [T] (whole steps) or [T, m] (single entries),
True where observed. Unobserved entries are dropped exactly from the update
(``gaussian.mask_observation``), may hold any value (NaN included), and a fully
missing step is a pure prediction. All functions are for one sequence; ``vmap``
them over a batch.

Validation. Shapes are checked eagerly, also under jit (they are static). Values
(every field finite, covariances symmetric positive semi-definite, ``ys`` finite
where observed, ``inputs`` finite) and the conditions the results need (each
innovation covariance C_t P^-_t C_t^T + R_t of an observed step positive
definite, the predicted covariances positive definite for smoothing, a
non-degenerate posterior for ``posterior_draw``'s density) raise ValueError when
the arguments are concrete. Under a trace (jit, vmap, grad) they are
``checkify`` debug checks: ``checkify.checkify(jax.jit(lgssm.filter),
errors=checkify.user_checks)`` returns an error that names the argument, and
plain jit drops them at no cost (``_require``).
"""

import functools
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify
from jaxtyping import Array, Bool, Float, Int

from seqvi.ssm import gaussian


class Params(NamedTuple):
    """LGSSM parameters; see the module docstring for the model and shapes."""

    initial_mean: jax.Array  # [n]
    initial_cov: jax.Array  # [n, n]
    transition_matrix: jax.Array  # [n, n] or [T, n, n]
    transition_cov: jax.Array  # [n, n] or [T, n, n]
    emission_matrix: jax.Array  # [m, n] or [T, m, n]
    emission_cov: jax.Array  # [m, m] or [T, m, m]
    input_matrix: jax.Array | None = None  # [n, k] or [T, n, k]
    transition_bias: jax.Array | None = None  # [n] or [T, n]
    emission_bias: jax.Array | None = None  # [m] or [T, m]


class FilterResult(NamedTuple):
    log_likelihood: jax.Array  # [] log p(y_{1:T})
    filtered_means: jax.Array  # [T, n] E[x_t | y_{1:t}]
    filtered_covs: jax.Array  # [T, n, n]
    predicted_means: jax.Array  # [T, n] E[x_t | y_{1:t-1}] (index 0: mu_0)
    predicted_covs: jax.Array  # [T, n, n]
    step_log_likelihoods: jax.Array  # [T] log p(y_t | y_{1:t-1}) (0 on a fully missing step)


class SmootherResult(NamedTuple):
    log_likelihood: jax.Array  # []
    filtered_means: jax.Array  # [T, n]
    filtered_covs: jax.Array  # [T, n, n]
    smoothed_means: jax.Array  # [T, n] E[x_t | y_{1:T}]
    smoothed_covs: jax.Array  # [T, n, n]
    smoothed_cross_covs: jax.Array  # [T, n, n] Cov[x_t, x_{t-1} | y_{1:T}]; index 0 is zero


# The number of axes of each field when it is fixed in time.
_FIXED_NDIM = {
    "initial_mean": 1,
    "initial_cov": 2,
    "transition_matrix": 2,
    "transition_cov": 2,
    "emission_matrix": 2,
    "emission_cov": 2,
    "input_matrix": 2,
    "transition_bias": 1,
    "emission_bias": 1,
}
_COVARIANCES = ("initial_cov", "transition_cov", "emission_cov")


def symmetric_covariances(params: Params) -> Params:
    """``params`` with every covariance S (``initial_cov``, ``transition_cov``,
    ``emission_cov``) as (S + S^T) / 2: the same values for the symmetric
    covariances the filters accept, and the gradient of anything computed from
    them with respect to S in the symmetric form (G + G^T) / 2. Every filter,
    smoother and sampler starts with it, so the sequential and parallel filters
    give the same gradients (the raw G of each one's arithmetic is not symmetric,
    and differs between them) and a gradient step keeps a covariance symmetric."""
    return params._replace(**{name: 0.5 * (x + jnp.swapaxes(x, -1, -2)) for name in _COVARIANCES
                              if (x := getattr(params, name)) is not None})


def at(params: Params, name: str, t: int | Int[Array, ""]) -> jax.Array | None:
    """Field ``name`` at 0-based time index ``t`` (the field itself when fixed)."""
    x = getattr(params, name)
    if x is None or x.ndim == _FIXED_NDIM[name]:
        return x
    return x[t]


def dims(params: Params) -> tuple[int, int]:
    """(state dimension n, observation dimension m)."""
    return params.initial_mean.shape[-1], params.emission_matrix.shape[-2]


def transition_at(
    params: Params, t: int | Int[Array, ""], inputs: Float[Array, "T k"] | None
) -> tuple[Float[Array, "n n"], Float[Array, " n"], Float[Array, "n n"]]:
    """(A_t [n, n], offset B_t u_t + b_t [n], Q_t [n, n]) for the move x_{t-1} -> x_t;
    ``inputs`` [T, k] or None."""
    n = params.initial_mean.shape[-1]
    offset = jnp.zeros((n,), params.initial_mean.dtype)
    if params.input_matrix is not None:
        offset = offset + at(params, "input_matrix", t) @ inputs[t]
    if params.transition_bias is not None:
        offset = offset + at(params, "transition_bias", t)
    return at(params, "transition_matrix", t), offset, at(params, "transition_cov", t)


def emission_at(
    params: Params, t: int | Int[Array, ""]
) -> tuple[Float[Array, "m n"], Float[Array, " m"], Float[Array, "m m"]]:
    """(C_t [m, n], d_t [m], R_t [m, m]) at time index t (d_t = 0 when there is no emission bias)."""
    bias = at(params, "emission_bias", t)
    if bias is None:
        bias = jnp.zeros((params.emission_matrix.shape[-2],), params.initial_mean.dtype)
    return at(params, "emission_matrix", t), bias, at(params, "emission_cov", t)


def _require(ok, message: str, **values) -> None:
    """Check ``ok`` (a boolean scalar): raise ValueError(message) when it is
    concretely False; when it is traced (jit, vmap, grad), a ``checkify`` debug
    check, which raises inside ``checkify.checkify(f, errors=checkify.user_checks)``
    and is dropped otherwise. ``message`` is a format string over ``values``
    (and must hold no other braces)."""
    if isinstance(ok, jax.core.Tracer) or any(isinstance(v, jax.core.Tracer) for v in values.values()):
        checkify.check(ok, message, debug=True, **values)
    elif not bool(ok):
        raise ValueError(message.format(**{k: np.asarray(v).tolist() for k, v in values.items()}))


def _first(bad: jax.Array) -> jax.Array:
    """The first index along the leading axis where ``bad`` (any trailing axes) is True."""
    return jnp.argmax(jnp.any(bad.reshape(bad.shape[0], -1), axis=1))


def check_inputs(
    params: Params,
    ys: Float[Array, "T m"],
    inputs: Float[Array, "T k"] | None = None,
    mask: Bool[Array, " T"] | Bool[Array, "T m"] | None = None,
) -> Bool[Array, "T m"] | None:
    """Validate shapes (eagerly) and values (``check_params``; ``ys`` finite where
    observed, ``inputs`` finite: eagerly when concrete, ``checkify`` debug checks
    when traced) with errors that name the argument; return the mask as bool
    [T, m] or None."""
    if jnp.ndim(ys) != 2:
        raise ValueError(f"ys must be one sequence of shape [T, m], got shape {jnp.shape(ys)}; vmap over a batch")
    if ys.shape[0] < 1:
        raise ValueError(f"ys must have at least one time step, got shape {ys.shape}")
    check_params(params, num_timesteps=ys.shape[0])
    n, m = dims(params)
    num_steps = ys.shape[0]
    if ys.shape[1] != m:
        raise ValueError(f"ys has {ys.shape[1]} dimensions but emission_matrix gives m = {m}")
    dtype = dtype_of(params)
    for name, x in (("ys", ys), ("inputs", inputs)):
        if x is not None and jnp.issubdtype(jnp.result_type(x), jnp.floating):
            if jax.dtypes.canonicalize_dtype(jnp.result_type(x)) != dtype:
                raise TypeError(f"{name} has dtype {jnp.result_type(x)} but params are {dtype}: "
                                f"cast one to the other (for example {name}.astype(jnp.{dtype}))")
    if params.input_matrix is not None:
        k = params.input_matrix.shape[-1]
        if inputs is None or inputs.shape != (num_steps, k):
            got = None if inputs is None else inputs.shape
            raise ValueError(f"params.input_matrix needs inputs of shape [T, k] = {(num_steps, k)}, got {got}")
    elif inputs is not None:
        raise ValueError("inputs were given but params.input_matrix is None")
    if inputs is not None:
        bad = ~jnp.isfinite(inputs)
        _require(~jnp.any(bad), "inputs must be finite, but inputs[{t}] holds NaN or inf", t=_first(bad))
    if mask is not None:
        mask = jnp.asarray(mask)
        if mask.shape == (num_steps,):
            mask = jnp.broadcast_to(mask[:, None], (num_steps, m))
        if mask.shape != (num_steps, m):
            raise ValueError(
                f"mask must have shape [T] = ({num_steps},) or [T, m] = {(num_steps, m)}, got {mask.shape}"
            )
        mask = mask.astype(bool)
    bad = ~jnp.isfinite(ys) if mask is None else ~jnp.isfinite(ys) & mask
    _require(
        ~jnp.any(bad),
        "ys must be finite where observed, but ys[{t}] holds NaN or inf (mark missing entries False in mask)",
        t=_first(bad),
    )
    return mask


def dtype_of(params: Params):
    """The floating dtype of the parameters (that of ``initial_mean``), as JAX will use it."""
    return jax.dtypes.canonicalize_dtype(jnp.result_type(params.initial_mean))


def check_params(params: Params, num_timesteps: int | None = None) -> None:
    """Raise ValueError on a shape mismatch (eagerly), a non-finite field or a
    covariance that is not symmetric PSD (eagerly when concrete, a ``checkify``
    debug check when traced; see the module docstring)."""
    if not isinstance(params, Params):
        raise TypeError(f"expected seqvi.ssm.lgssm.Params, got {type(params).__name__}")
    if jnp.ndim(params.initial_mean) != 1:
        raise ValueError(f"params.initial_mean must have shape [n], got {jnp.shape(params.initial_mean)}")
    if jnp.ndim(params.emission_matrix) not in (2, 3):
        raise ValueError(f"params.emission_matrix must be [m, n] or [T, m, n], got {jnp.shape(params.emission_matrix)}")
    dtype = dtype_of(params)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"params.initial_mean must be floating point, got dtype {dtype}")
    for name, x in params._asdict().items():
        if x is not None and jax.dtypes.canonicalize_dtype(jnp.result_type(x)) != dtype:
            raise TypeError(f"params.{name} has dtype {jnp.result_type(x)} but params.initial_mean has {dtype}: "
                            "every field must share one floating dtype")
    n = params.initial_mean.shape[0]
    m = params.emission_matrix.shape[-2]
    k = None if params.input_matrix is None else params.input_matrix.shape[-1]
    expected = {
        "initial_mean": (n,),
        "initial_cov": (n, n),
        "transition_matrix": (n, n),
        "transition_cov": (n, n),
        "emission_matrix": (m, n),
        "emission_cov": (m, m),
        "input_matrix": (n, k),
        "transition_bias": (n,),
        "emission_bias": (m,),
    }
    for name, shape in expected.items():
        x = getattr(params, name)
        if x is None:
            if name in _COVARIANCES or name.endswith(("_mean", "_matrix")) and name != "input_matrix":
                raise ValueError(f"params.{name} is required")
            continue
        time_varying = name not in ("initial_mean", "initial_cov") and x.ndim == len(shape) + 1
        want = ((num_timesteps if num_timesteps is not None else x.shape[0]),) + shape if time_varying else shape
        if x.shape != want:
            what = f"[T, {', '.join(map(str, shape))}]" if time_varying else str(shape)
            raise ValueError(
                f"params.{name} has shape {x.shape}; with n = {n} states and m = {m} observed "
                f"dimensions it must be {shape} or time-varying with T = {num_timesteps} leading ({what})"
            )
    for name, x in params._asdict().items():
        if x is not None:
            _require(jnp.all(jnp.isfinite(x)), f"params.{name} has non-finite entries (NaN or inf)")
    for name in _COVARIANCES:
        x = getattr(params, name)
        finfo = jnp.finfo(jnp.result_type(x.dtype, jnp.float32))
        scale = jnp.maximum(jnp.max(jnp.abs(x)), finfo.tiny)
        asymmetry = jnp.max(jnp.abs(x - jnp.swapaxes(x, -1, -2)))
        _require(asymmetry <= 1e-6 * scale,
                 f"params.{name} is not symmetric (largest |P - P^T| is {{asymmetry}})", asymmetry=asymmetry)
        smallest = jnp.min(jnp.linalg.eigvalsh(x))
        tolerance = max(1e-6, 100 * float(finfo.eps))
        _require(smallest >= -tolerance * scale,
                 f"params.{name} is not positive semi-definite (smallest eigenvalue {{smallest}})", smallest=smallest)


def predict(
    params: Params,
    mean: Float[Array, " n"],
    cov: Float[Array, "n n"],
    t: int | Int[Array, ""],
    inputs: Float[Array, "T k"] | None = None,
) -> tuple[Float[Array, " n"], Float[Array, "n n"]]:
    """Moments of x_t given those (mean [n], cov [n, n]) of x_{t-1}: (A m + B u_t + b, A P A^T + Q);
    ``inputs`` [T, k] or None."""
    a, offset, q = transition_at(params, t, inputs)
    return a @ mean + offset, gaussian.symmetrise(a @ cov @ a.T + q)


def update(
    params: Params,
    mean: Float[Array, " n"],
    cov: Float[Array, "n n"],
    y_t: Float[Array, " m"],
    t: int | Int[Array, ""],
    mask_t: Bool[Array, " m"] | None = None,
) -> tuple[Float[Array, " n"], Float[Array, "n n"], Float[Array, ""]]:
    """Condition the predicted N(mean [n], cov [n, n]) of x_t on y_t [m] (Joseph form;
    ``mask_t`` [m] True where observed). Returns (filtered mean [n], filtered cov [n, n],
    log p(y_t | y_{1:t-1}) [])."""
    c, d, r = emission_at(params, t)
    return gaussian.condition_linear(mean, cov, c, r, y_t - c @ mean - d, mask_t)


def filter(  # noqa: A001
    params: Params,
    ys: Float[Array, "T m"],
    inputs: Float[Array, "T k"] | None = None,
    mask: Bool[Array, " T"] | Bool[Array, "T m"] | None = None,
) -> FilterResult:
    """The Kalman filter over one sequence ys [T, m] (``lax.scan``); inputs [T, k],
    mask [T] or [T, m]."""
    mask = check_inputs(params, ys, inputs, mask)
    f = _filter(params, ys, inputs, mask)
    check_filtered(f)
    check_precision(params, ys, f, mask)
    return f


def check_filtered(f: "FilterResult | SmootherResult") -> None:
    """Require a finite filter result (see the module docstring on validation):
    a non-finite step means an innovation covariance that is not positive definite."""
    bad = ~jnp.all(jnp.isfinite(f.filtered_means), axis=1) | ~jnp.all(jnp.isfinite(f.filtered_covs), axis=(1, 2))
    if isinstance(f, FilterResult):
        bad = bad | ~jnp.isfinite(f.step_log_likelihoods)
    _require(
        ~jnp.any(bad) & jnp.isfinite(f.log_likelihood),
        "the Kalman filter is not finite at step {t} (0-based): the innovation covariance "
        "C_t P^-_t C_t^T + R_t of an observed entry is not positive definite (for example initial_cov, "
        "transition_cov and emission_cov all zero there) or the moments overflowed; give emission_cov "
        "positive variances or mark such entries missing in mask",
        t=_first(bad),
    )


class PrecisionWarning(UserWarning):
    """A float32 Kalman filter whose result float32 cannot resolve (``check_precision``)."""


# The relative rounding error of an innovation or of a covariance update beyond which a
# float32 filter warns: past it, the log-likelihood drifts by whole nats over long sequences.
PRECISION_LIMIT = 1e-3


def check_precision(params: Params, ys: Float[Array, "T m"], f: "FilterResult | SmootherResult",
                    mask: Bool[Array, "T m"] | None = None) -> None:
    """Warn once (``PrecisionWarning``) when a float32 filter loses the digits its
    result needs, naming the first such step and suggesting float64:

    * innovations: float32 holds y_t only to eps |y_t|, which against the
      innovation's standard deviation sqrt(S_tii), S_t = C_t P^-_t C_t^T + R_t, is a
      relative error eps |y_ti| / sqrt(S_tii) (a constant-velocity track near 1e4
      with R = 1e-2 and T = 5000: 1e-2 per step, 21 nats in all);
    * covariance updates: P_t = P^-_t - K_t S_t K_t^T cancels from P^-_tii down to
      P_tii, a relative error eps max_i P^-_tii / P_tii (diffuse priors).

    Nothing for float64 or under a trace. ``mask`` [T, m] (True where observed).
    """
    if jnp.finfo(f.filtered_covs.dtype).bits > 32 or isinstance(f.filtered_covs, jax.core.Tracer):
        return
    observed = jnp.isfinite(ys) if mask is None else mask & jnp.isfinite(ys)
    predicted = f.predicted_covs if isinstance(f, FilterResult) else None
    innovation, update = _rounding_errors(params, ys, observed, f.filtered_covs, predicted)
    bad = np.asarray((innovation > PRECISION_LIMIT) | (update > PRECISION_LIMIT))
    if bad.any():
        t = int(np.argmax(bad))
        warnings.warn(
            f"float32 cannot resolve this Kalman filter from step {t} (0-based): the relative rounding error of "
            f"the innovation is {float(innovation[t]):.1e} and of the covariance update {float(update[t]):.1e} "
            f"(above {PRECISION_LIMIT:g}), so the log-likelihood may be off by whole nats; run it in float64 "
            "(jax.config.update('jax_enable_x64', True) and float64 arrays), or centre and scale the data",
            PrecisionWarning, stacklevel=3)


@jax.jit
def _rounding_errors(params: Params, ys: Float[Array, "T m"], observed: Bool[Array, "T m"],
                     filtered_covs: Float[Array, "T n n"], predicted_covs: Float[Array, "T n n"] | None
                     ) -> tuple[Float[Array, " T"], Float[Array, " T"]]:
    """``check_precision``'s relative rounding errors per step, of the innovation
    (eps |y_ti| / sqrt(S_tii), largest over i) and of the covariance update
    (eps P^-_tii / P_tii, largest over i); P^-_t recomputed when not given."""
    eps = jnp.finfo(filtered_covs.dtype).eps
    predicted = _predicted_covs(params, filtered_covs) if predicted_covs is None else predicted_covs
    c, r = params.emission_matrix, params.emission_cov
    c_t = c if c.ndim == 3 else jnp.broadcast_to(c, (predicted.shape[0],) + c.shape)
    innovation_var = jnp.einsum("tij,tjk,tik->ti", c_t, predicted, c_t) + jnp.diagonal(r, axis1=-2, axis2=-1)
    innovation = jnp.where(observed, eps * jnp.abs(ys) / jnp.sqrt(jnp.maximum(innovation_var, 1e-30)), 0.0).max(1)
    prior, posterior = jnp.diagonal(predicted, axis1=1, axis2=2), jnp.diagonal(filtered_covs, axis1=1, axis2=2)
    return innovation, (eps * prior / jnp.maximum(posterior, 1e-30)).max(1)


def _predicted_covs(params: Params, filtered_covs: Float[Array, "T n n"]) -> Float[Array, "T n n"]:
    """P^-_t = A_t P_{t-1} A_t^T + Q_t (P^-_0 = Sigma_0) from the filtered covariances."""
    steps = jnp.arange(1, filtered_covs.shape[0])
    later = jax.vmap(lambda t, p: at(params, "transition_matrix", t) @ p @ at(params, "transition_matrix", t).T
                     + at(params, "transition_cov", t))(steps, filtered_covs[:-1])
    return jnp.concatenate([params.initial_cov[None], later])


def _last(bad: jax.Array) -> jax.Array:
    """The last index along the leading axis where ``bad`` (any trailing axes) is True."""
    flat = jnp.any(bad.reshape(bad.shape[0], -1), axis=1)
    return flat.shape[0] - 1 - jnp.argmax(flat[::-1])


def check_smoothed(means: Float[Array, "T n"], covs: Float[Array, "T n n"] | None = None) -> None:
    """Require finite smoothed moments (means [T, n], covs [T, n, n]) or a finite
    backward-sampled path [T, n]: the backward pass inverts every predicted covariance P^-_(t+1)."""
    bad = ~jnp.all(jnp.isfinite(means), axis=1)
    if covs is not None:
        bad = bad | ~jnp.all(jnp.isfinite(covs), axis=(1, 2))
    _require(
        ~jnp.any(bad),
        "the backward (smoothing) pass is not finite at step {t} (0-based): the predicted covariance "
        "A P_t A^T + Q of the next step is singular (for example transition_cov zero where the filtered "
        "covariance is zero too), so the smoother gain is undefined",
        t=_last(bad),
    )


@jax.jit
def _filter(params, ys, inputs, mask) -> FilterResult:
    params = symmetric_covariances(params)  # gradients in the symmetric form
    num_steps = ys.shape[0]

    def body(carry, inp):
        m_pred, p_pred = carry
        t, y_t, mask_t = inp
        m, p, ll = update(params, m_pred, p_pred, y_t, t, mask_t)
        # Predict step t + 1 now (the last prediction is unused), so one body does both.
        m_next, p_next = predict(params, m, p, jnp.minimum(t + 1, num_steps - 1), inputs)
        return (m_next, p_next), (m, p, ll, m_pred, p_pred)

    carry0 = (params.initial_mean, params.initial_cov)
    _, (ms, ps, lls, m_preds, p_preds) = jax.lax.scan(body, carry0, (jnp.arange(num_steps), ys, mask))
    return FilterResult(jnp.sum(lls), ms, ps, m_preds, p_preds, lls)


def log_likelihood(
    params: Params,
    ys: Float[Array, "T m"],
    inputs: Float[Array, "T k"] | None = None,
    mask: Bool[Array, " T"] | Bool[Array, "T m"] | None = None,
) -> Float[Array, ""]:
    """log p(y_{1:T}) (observed entries only) by the Kalman filter; ys [T, m],
    inputs [T, k], mask [T] or [T, m]."""
    return filter(params, ys, inputs, mask).log_likelihood


def prediction_cross_covs(params: Params, filtered_covs: Float[Array, "T n n"]) -> Float[Array, "T n n"]:
    """Cov[x_{t-1}, x_t | y_{1:t-1}] = P_{t-1} A_t^T for every t (index 0 unused): [T, n, n],
    from the filtered covariances P_t [T, n, n]."""
    num_steps = filtered_covs.shape[0]
    a = jnp.broadcast_to(params.transition_matrix, (num_steps,) + params.transition_matrix.shape[-2:])
    prev = jnp.concatenate([jnp.zeros_like(filtered_covs[:1]), filtered_covs[:-1]])
    return prev @ jnp.swapaxes(a, -1, -2)


def smoother(
    params: Params,
    ys: Float[Array, "T m"],
    inputs: Float[Array, "T k"] | None = None,
    mask: Bool[Array, " T"] | Bool[Array, "T m"] | None = None,
) -> SmootherResult:
    """Kalman filter then the Rauch-Tung-Striebel smoother (see ``gaussian.rts_smoother``);
    ys [T, m], inputs [T, k], mask [T] or [T, m]."""
    mask = check_inputs(params, ys, inputs, mask)
    s = _smoother(params, ys, inputs, mask)
    check_filtered(s)
    check_precision(params, ys, s, mask)
    check_smoothed(s.smoothed_means, s.smoothed_covs)
    return s


@jax.jit
def _smoother(params, ys, inputs, mask) -> SmootherResult:
    params = symmetric_covariances(params)  # gradients in the symmetric form
    f = _filter(params, ys, inputs, mask)
    means, covs, _, cross = gaussian.rts_smoother(
        f.filtered_means, f.filtered_covs, f.predicted_means, f.predicted_covs,
        prediction_cross_covs(params, f.filtered_covs),
    )
    return SmootherResult(f.log_likelihood, f.filtered_means, f.filtered_covs, means, covs, cross)


def posterior_sample(
    key: jax.Array,
    params: Params,
    ys: Float[Array, "T m"],
    inputs: Float[Array, "T k"] | None = None,
    mask: Bool[Array, " T"] | Bool[Array, "T m"] | None = None,
) -> Float[Array, "T n"]:
    """One path x_{1:T} ~ p(x_{1:T} | y_{1:T}) by forward filtering, backward sampling. [T, n].
    ys [T, m], inputs [T, k], mask [T] or [T, m]."""
    path = _posterior_sample(key, params, ys, inputs, check_inputs(params, ys, inputs, mask))
    check_smoothed(path)
    return path


@jax.jit
def _posterior_sample(key, params, ys, inputs, mask) -> jax.Array:
    params = symmetric_covariances(params)  # gradients in the symmetric form
    f = _filter(params, ys, inputs, mask)
    gains = smoother_gains(params, f)
    return gaussian.backward_sample(
        key, f.filtered_means, f.filtered_covs, f.predicted_means, gains, f.predicted_covs
    )


class PosteriorDraw(NamedTuple):
    path: jax.Array  # [T, n] x_{1:T} ~ p(x_{1:T} | y_{1:T})
    log_prob: jax.Array  # [] log p(path | y_{1:T})
    log_likelihood: jax.Array  # [] log p(y_{1:T})


def posterior_draw(
    key: jax.Array,
    params: Params,
    ys: Float[Array, "T m"],
    inputs: Float[Array, "T k"] | None = None,
    mask: Bool[Array, " T"] | Bool[Array, "T m"] | None = None,
) -> PosteriorDraw:
    """One FFBS path (the one ``posterior_sample`` draws for ``key``), its density
    under the posterior (``gaussian.backward_path_log_prob``) and log p(y), all
    from one Kalman filter. The density needs a non-degenerate posterior: with a
    singular initial_cov or transition_cov (a noise-free state component), or a
    singular emission_cov that pins part of x_t, p(x_{1:T} | y) has no density
    and this raises (use ``posterior_sample`` for the path). ys [T, m], inputs [T, k],
    mask [T] or [T, m]; the path is [T, n]."""
    draw = _posterior_draw(key, params, ys, inputs, check_inputs(params, ys, inputs, mask))
    _require(jnp.isfinite(draw.log_likelihood),
             "the Kalman filter is not finite (log p(ys) = {ll}); lgssm.filter names the step",
             ll=draw.log_likelihood)
    check_smoothed(draw.path)
    _require(
        jnp.isfinite(draw.log_prob),
        "log p(path | ys) is {lp}: the posterior of x_1..x_T is degenerate (a conditional covariance "
        "of x_t given x_t+1 and the data is singular: a singular initial_cov or transition_cov, or an "
        "emission_cov that pins part of the state), so it has no density; the path is a valid draw "
        "(posterior_sample)",
        lp=draw.log_prob,
    )
    return draw


@jax.jit
def _posterior_draw(key, params, ys, inputs, mask) -> PosteriorDraw:
    params = symmetric_covariances(params)  # gradients in the symmetric form
    f = _filter(params, ys, inputs, mask)
    moments = (f.filtered_means, f.filtered_covs, f.predicted_means, smoother_gains(params, f), f.predicted_covs)
    path = gaussian.backward_sample(key, *moments)
    return PosteriorDraw(path, gaussian.backward_path_log_prob(path, *moments), f.log_likelihood)


def smoother_gains(params: Params, f: FilterResult) -> Float[Array, "T n n"]:
    """E_t = P_t A_{t+1}^T (P^-_{t+1})^{-1} for t < T, and E_T = 0: [T, n, n]."""
    cross = prediction_cross_covs(params, f.filtered_covs)[1:]
    gains = jax.vmap(gaussian.smoother_gain)(cross, f.predicted_covs[1:])
    # E_T = 0 from the filtered covariances, so that T = 1 gives [1, n, n] (gains is empty then).
    return jnp.concatenate([gains, jnp.zeros_like(f.filtered_covs[:1])])


def sample(
    key: jax.Array, params: Params, num_timesteps: int, inputs: Float[Array, "T k"] | None = None
) -> tuple[Float[Array, "T n"], Float[Array, "T m"]]:
    """Ancestral sample (states [T, n], observations [T, m]) from the model, with
    T = ``num_timesteps`` and inputs [T, k] or None."""
    if not isinstance(num_timesteps, (int, np.integer)) or isinstance(num_timesteps, bool) or num_timesteps < 1:
        raise ValueError(f"num_timesteps must be a positive int, got {num_timesteps!r}")
    check_params(params, num_timesteps)
    if params.input_matrix is not None:
        want = (num_timesteps, params.input_matrix.shape[-1])
        if inputs is None or jnp.shape(inputs) != want:
            got = None if inputs is None else jnp.shape(inputs)
            raise ValueError(f"params.input_matrix needs inputs of shape [T, k] = {want}, got {got}")
    elif inputs is not None:
        raise ValueError("inputs were given but params.input_matrix is None")
    return _sample(key, params, num_timesteps, inputs)


@functools.partial(jax.jit, static_argnums=2)
def _sample(key, params, num_timesteps, inputs):
    n, m = dims(params)
    k_x1, k_q, k_r = jax.random.split(key, 3)
    dtype = params.initial_mean.dtype
    x1 = params.initial_mean + gaussian.psd_sqrt(params.initial_cov) @ jax.random.normal(k_x1, (n,), dtype)
    eps_q = jax.random.normal(k_q, (num_timesteps, n), dtype)
    eps_r = jax.random.normal(k_r, (num_timesteps, m), dtype)

    def move(x_prev, inp):
        t, e = inp
        a, offset, q = transition_at(params, t, inputs)
        x = a @ x_prev + offset + gaussian.psd_sqrt(q) @ e
        return x, x

    _, xs = jax.lax.scan(move, x1, (jnp.arange(1, num_timesteps), eps_q[1:]))
    xs = jnp.concatenate([x1[None], xs])

    def emit(t, x, e):
        c, d, r = emission_at(params, t)
        return c @ x + d + gaussian.psd_sqrt(r) @ e

    ys = jax.vmap(emit)(jnp.arange(num_timesteps), xs, eps_r)
    return xs, ys


def random_params(
    key: jax.Array,
    state_dim: int,
    obs_dim: int,
    *,
    num_timesteps: int | None = None,
    input_dim: int | None = None,
    biases: bool = False,
    dtype=jnp.float32,
) -> Params:
    """A random stable LGSSM (spectral radius of each A_t at most 0.95) with
    well-conditioned covariances; time-varying A_t, Q_t, C_t, R_t (and biases)
    when ``num_timesteps`` is given. For tests, examples and benchmarks."""
    sizes = {"state_dim": state_dim, "obs_dim": obs_dim, "num_timesteps": num_timesteps, "input_dim": input_dim}
    for name, size in sizes.items():
        if size is not None and (not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1):
            raise ValueError(f"{name} must be a positive int, got {size!r}")
    keys = iter(jax.random.split(key, 12))
    lead = () if num_timesteps is None else (num_timesteps,)

    def spd(d, scale):
        x = jax.random.normal(next(keys), lead + (d, d), dtype)
        return scale * (x @ jnp.swapaxes(x, -1, -2) / d + 0.5 * jnp.eye(d, dtype=dtype))

    a = jax.random.normal(next(keys), lead + (state_dim, state_dim), dtype)
    radius = jnp.max(jnp.abs(jnp.linalg.eigvals(a)), axis=-1)[..., None, None]
    x0 = jax.random.normal(next(keys), (state_dim, state_dim), dtype)
    return Params(
        initial_mean=jax.random.normal(next(keys), (state_dim,), dtype),
        initial_cov=x0 @ x0.T / state_dim + 0.5 * jnp.eye(state_dim, dtype=dtype),
        transition_matrix=(0.95 * a / radius).astype(dtype),
        transition_cov=spd(state_dim, 0.2),
        emission_matrix=jax.random.normal(next(keys), lead + (obs_dim, state_dim), dtype),
        emission_cov=spd(obs_dim, 0.5),
        input_matrix=None if input_dim is None else jax.random.normal(next(keys), lead + (state_dim, input_dim), dtype),
        transition_bias=jax.random.normal(next(keys), lead + (state_dim,), dtype) if biases else None,
        emission_bias=jax.random.normal(next(keys), lead + (obs_dim,), dtype) if biases else None,
    )
