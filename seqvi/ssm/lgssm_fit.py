"""Learning LGSSM parameters: exact EM, and gradient ascent on the exact
log-likelihood with optax.

Both take a batch of sequences ys [B, T, m] (or one sequence [T, m]) with
optional inputs [B, T, k] and a missing-data mask [B, T] or [B, T, m], and only
fixed-in-time parameters. ``learn`` names the groups to update:
'initial' (mu_0, Sigma_0), 'transition' (A, B, b, Q) and 'emission' (C, d, R);
the optional fields B, b, d are learnt only where present (not None).

A group the data carry no information about is left unchanged, with a
RuntimeWarning that names it: 'transition' when T = 1 (no pair x_{t-1}, x_t),
every group when no entry is observed, and in EM any group whose M-step comes
out non-finite (a singular regression, such as inputs that are all zero).
Fitting never returns NaN parameters.
"""

import warnings
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Bool, Float

from seqvi.ssm import gaussian, lgssm

GROUPS = {
    "initial": ("initial_mean", "initial_cov"),
    "transition": ("transition_matrix", "input_matrix", "transition_bias", "transition_cov"),
    "emission": ("emission_matrix", "emission_bias", "emission_cov"),
}
ALL_GROUPS = tuple(GROUPS)


def _refuse_tracing(fitter: str, alternative: str, *trees) -> None:
    """TypeError when ``fitter`` (a Python loop with early stopping and callbacks)
    is called under ``jax.jit``, ``vmap`` or ``grad`` (its arguments are tracers)."""
    if any(isinstance(leaf, jax.core.Tracer) for tree in trees for leaf in jax.tree.leaves(tree)):
        raise TypeError(f"lgssm_fit.{fitter} runs its iterations as a Python loop (early stopping, callbacks) and "
                        f"cannot be traced by jax.jit, vmap or grad: call it outside them (each iteration is "
                        f"compiled inside), or trace {alternative}, which is a pure function")


def _as_batch(params, ys, inputs, mask):
    ys = jnp.asarray(ys)
    if ys.ndim == 2:
        ys = ys[None]
        inputs = None if inputs is None else jnp.asarray(inputs)[None]
        mask = None if mask is None else jnp.asarray(mask)[None]
    if ys.ndim != 3:
        raise ValueError(f"ys must be [T, m] or [B, T, m], got shape {ys.shape}")
    for name, x in params._asdict().items():
        if x is not None and name not in ("initial_mean", "initial_cov") and x.ndim > lgssm._FIXED_NDIM[name]:
            raise ValueError(f"fitting needs fixed-in-time parameters; params.{name} is time-varying {x.shape}")
    if inputs is not None:
        inputs = jnp.asarray(inputs)
        if inputs.ndim != 3 or inputs.shape[0] != ys.shape[0]:
            raise ValueError(f"inputs must be [B, T, k] with B = {ys.shape[0]} like ys {ys.shape}, got {inputs.shape}")
    lgssm.check_inputs(params, ys[0], None if inputs is None else inputs[0], None if mask is None else mask[0])
    if mask is not None:
        mask = jnp.asarray(mask)
        if mask.shape not in (ys.shape[:2], ys.shape):
            raise ValueError(f"mask must have shape [B, T] or [B, T, m] = {ys.shape}, got {mask.shape}")
        mask = jnp.broadcast_to(mask.reshape(ys.shape[:2] + (-1,)), ys.shape).astype(bool)
    # check_inputs saw the first sequence; the values of every sequence must be finite too.
    bad = ~jnp.isfinite(ys) if mask is None else ~jnp.isfinite(ys) & mask
    if bool(jnp.any(bad)):
        b, t, _ = np.argwhere(np.asarray(bad))[0]
        raise ValueError(f"ys must be finite where observed, but ys[{b}, {t}] holds NaN or inf "
                         "(mark missing entries False in mask)")
    if inputs is not None and not bool(jnp.all(jnp.isfinite(inputs))):
        b, t = np.argwhere(~np.all(np.isfinite(np.asarray(inputs)), axis=-1))[0]
        raise ValueError(f"inputs must be finite, but inputs[{b}, {t}] holds NaN or inf")
    return ys, inputs, mask


def _check_learn(learn: Sequence[str]) -> None:
    if isinstance(learn, str):
        raise TypeError(f"learn must be a sequence of group names such as ('emission',), got the string {learn!r}")
    unknown = set(learn) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown parameter groups {sorted(unknown)}; choose from {ALL_GROUPS}")


def _informed(learn: Sequence[str], ys: jax.Array, mask: jax.Array | None) -> tuple[str, ...]:
    """The groups of ``learn`` the data carry information about; warn about the rest
    (left unchanged). ys [B, T, m]; mask [B, T, m] or None."""
    if mask is not None and not bool(jnp.any(mask)):
        uninformed, why = tuple(learn), "no entry of ys is observed (mask is all False)"
    elif ys.shape[1] == 1:
        uninformed, why = tuple(g for g in learn if g == "transition"), "T = 1: there is no pair (x_t-1, x_t)"
    else:
        uninformed, why = (), ""
    if uninformed:
        warnings.warn(f"the data carry no information about the {', '.join(map(repr, uninformed))} parameters "
                      f"({why}); they are left unchanged", RuntimeWarning, stacklevel=3)
    return tuple(group for group in learn if group not in uninformed)


def _outer(a, b):
    return a[:, None] * b[None, :]


def _sufficient_stats(params: lgssm.Params, ys, inputs, mask):
    """Expected sufficient statistics of one sequence under p(x_{1:T} | y_obs).

    Transition regressor phi_t = [x_{t-1}; u_t; 1] and emission regressor
    psi_t = [x_t; 1] (the u and 1 blocks only where B, b, d exist). Missing
    entries of y_t are latent too: given x_t and the observed entries,
    y_t = a_t + M_t x_t + nu_t with nu_t ~ N(0, V_t) (the Gaussian conditional
    of the missing block of r_t given the observed block), so E[y y^T] and
    E[y psi^T] are exact expectations and EM stays exact with a full R.
    """
    s = lgssm.smoother(params, ys, inputs, mask)
    m, p, cross = s.smoothed_means, s.smoothed_covs, s.smoothed_cross_covs
    num_steps = ys.shape[0]
    exx = p + jnp.einsum("ti,tj->tij", m, m)

    # Transition: regress x_t (t >= 2) on phi_t.
    blocks_prev = [m[:-1]]
    if params.input_matrix is not None:
        blocks_prev.append(inputs[1:])
    if params.transition_bias is not None:
        blocks_prev.append(jnp.ones((num_steps - 1, 1), m.dtype))
    mean_phi = jnp.concatenate(blocks_prev, axis=1)  # [T-1, r]
    n = m.shape[1]
    cov_phi = jnp.zeros((num_steps - 1,) + (mean_phi.shape[1],) * 2, m.dtype).at[:, :n, :n].set(p[:-1])
    e_phiphi = cov_phi + jnp.einsum("ti,tj->tij", mean_phi, mean_phi)
    e_xphi = jnp.einsum("ti,tj->tij", m[1:], mean_phi).at[:, :, :n].add(cross[1:])

    # Emission: regress y_t on psi_t, with missing entries imputed in expectation.
    c, d, r = params.emission_matrix, lgssm.emission_at(params, 0)[1], params.emission_cov
    if mask is None:
        e_y = ys
        lin = jnp.zeros((num_steps,) + c.shape, m.dtype)  # M_t
        extra = jnp.zeros((num_steps,) + r.shape, m.dtype)  # V_t
    else:
        def conditional(y_t, o_t):
            of = o_t.astype(m.dtype)
            d_o, d_m = jnp.diag(of), jnp.diag(1.0 - of)
            r_obs = d_o @ r @ d_o + d_m
            g = d_m @ r @ d_o @ jnp.linalg.solve(r_obs, d_o)
            a = jnp.where(o_t, y_t, d) + g @ jnp.where(o_t, y_t - d, 0.0)
            return a, d_m @ c - g @ c, gaussian.symmetrise(d_m @ r @ d_m - g @ r @ d_m)

        a, lin, extra = jax.vmap(conditional)(ys, mask)
        e_y = a + jnp.einsum("tij,tj->ti", lin, m)
    e_yx = jnp.einsum("ti,tj->tij", e_y, m) + lin @ p
    e_yy = jnp.einsum("ti,tj->tij", e_y, e_y) + lin @ p @ jnp.swapaxes(lin, -1, -2) + extra
    if params.emission_bias is not None:
        e_ypsi = jnp.concatenate([e_yx, e_y[:, :, None]], axis=2)
        ones = jnp.ones((num_steps, 1), m.dtype)
        mean_psi = jnp.concatenate([m, ones], axis=1)
        e_psipsi = jnp.einsum("ti,tj->tij", mean_psi, mean_psi).at[:, :n, :n].add(p)
    else:
        e_ypsi, e_psipsi = e_yx, exx
    stats = {
        "x1": m[0],
        "x1x1": exx[0],
        "xx_next": exx[1:].sum(0),
        "xphi": e_xphi.sum(0),
        "phiphi": e_phiphi.sum(0),
        "yy": e_yy.sum(0),
        "ypsi": e_ypsi.sum(0),
        "psipsi": e_psipsi.sum(0),
    }
    return stats, s.log_likelihood


def _regress(cross, gram):
    """W = cross gram^{-1} by a Cholesky solve (gram is symmetric PD)."""
    chol = jnp.linalg.cholesky(gaussian.symmetrise(gram))
    return jax.scipy.linalg.cho_solve((chol, True), cross.T).T


def m_step(params: lgssm.Params, stats: dict, num_sequences: int, num_steps: int, learn=ALL_GROUPS) -> lgssm.Params:
    """Closed-form maximiser of the expected complete-data log-likelihood. A group
    without information (transition at T = 1) or whose maximiser is not finite
    (a singular regression) is left unchanged."""
    return _m_step(params, stats, num_sequences, num_steps, learn)[0]


def _m_step(params, stats, num_sequences, num_steps, learn):
    """``m_step`` and, per group of ``learn``, whether it was kept unchanged
    because its update was not finite (a bool scalar)."""
    new = params._asdict()
    n = params.initial_mean.shape[0]
    if num_steps < 2:
        learn = tuple(group for group in learn if group != "transition")
    if "initial" in learn:
        mu = stats["x1"] / num_sequences
        new["initial_mean"] = mu
        new["initial_cov"] = gaussian.symmetrise(stats["x1x1"] / num_sequences - jnp.outer(mu, mu))
    if "transition" in learn:
        w = _regress(stats["xphi"], stats["phiphi"])
        new["transition_matrix"] = w[:, :n]
        col = n
        if params.input_matrix is not None:
            k = params.input_matrix.shape[1]
            new["input_matrix"] = w[:, col:col + k]
            col += k
        if params.transition_bias is not None:
            new["transition_bias"] = w[:, col]
        q = (stats["xx_next"] - w @ stats["xphi"].T) / (num_sequences * (num_steps - 1))
        new["transition_cov"] = gaussian.symmetrise(q)
    if "emission" in learn:
        w = _regress(stats["ypsi"], stats["psipsi"])
        new["emission_matrix"] = w[:, :n]
        if params.emission_bias is not None:
            new["emission_bias"] = w[:, n]
        rr = (stats["yy"] - w @ stats["ypsi"].T) / (num_sequences * num_steps)
        new["emission_cov"] = gaussian.symmetrise(rr)
    kept = {}
    for group in learn:
        names = [name for name in GROUPS[group] if new[name] is not None]
        ok = jnp.all(jnp.stack([jnp.all(jnp.isfinite(new[name])) for name in names]))
        for name in names:
            new[name] = jnp.where(ok, new[name], getattr(params, name))
        kept[group] = ~ok
    return lgssm.Params(**new), kept


def em_step(
    params: lgssm.Params,
    ys: Float[Array, "B T m"],
    inputs: Float[Array, "B T k"] | None = None,
    mask: Bool[Array, "B T"] | Bool[Array, "B T m"] | None = None,
    learn=ALL_GROUPS,
) -> tuple[lgssm.Params, Float[Array, ""]]:
    """One EM iteration on a batch [B, T, m] (inputs [B, T, k], mask [B, T] or [B, T, m]):
    returns (new params, log p(ys) [] under the OLD params)."""
    new, _, ll = _em_step(params, ys, inputs, mask, learn)
    return new, ll


def _em_step(params, ys, inputs, mask, learn):
    stats, lls = jax.vmap(_sufficient_stats, in_axes=(None, 0, 0 if inputs is not None else None,
                                                     0 if mask is not None else None))(params, ys, inputs, mask)
    stats = jax.tree.map(lambda s: s.sum(0), stats)
    new, kept = _m_step(params, stats, ys.shape[0], ys.shape[1], learn)
    return new, kept, lls.sum()


def em(
    params: lgssm.Params,
    ys: Float[Array, "*B T m"],
    inputs: Float[Array, "*B T k"] | None = None,
    mask: Bool[Array, "*B T"] | Bool[Array, "*B T m"] | None = None,
    *,
    num_iters: int = 100,
    tol: float = 0.0,
    learn: Sequence[str] = ALL_GROUPS,
    callback: Callable[[int, float], None] | None = None,
) -> tuple[lgssm.Params, Float[Array, " I"]]:
    """Expectation-maximisation; stops early when the log-likelihood gains less than ``tol``.

    ys [B, T, m] or [T, m]; inputs [B, T, k] or [T, k]; mask [B, T] or [B, T, m]
    (or [T] or [T, m] for one sequence).
    Returns (params, log_likelihoods) where log_likelihoods [I] (I <= num_iters, the
    iterations run) holds at i log p(ys) under the parameters before iteration i
    (EM never decreases it, up to round-off).
    ``callback(i, log_likelihood)`` is called after every iteration. TypeError
    under ``jax.jit`` or ``vmap`` (it is a Python loop; ``em_step`` traces).
    """
    _refuse_tracing("em", "em_step", params, ys, inputs, mask)
    _check_learn(learn)
    ys, inputs, mask = _as_batch(params, ys, inputs, mask)
    learn = _informed(learn, ys, mask)
    step = jax.jit(lambda p: _em_step(p, ys, inputs, mask, learn))
    history = []
    warned = set()
    for i in range(num_iters):
        new_params, kept, ll = step(params)
        for group in sorted(group for group, flag in kept.items() if bool(flag) and group not in warned):
            warned.add(group)
            warnings.warn(f"EM iteration {i}: the M-step for the {group!r} parameters is not finite (a singular "
                          "regression: the data do not identify them); they are left unchanged",
                          RuntimeWarning, stacklevel=2)
        history.append(float(ll))
        if callback is not None:
            callback(i, float(ll))
        if not jnp.isfinite(ll):
            raise FloatingPointError(f"EM log-likelihood became {float(ll)} at iteration {i}")
        if i > 0 and history[-1] - history[-2] < tol:
            break
        params = new_params
    return params, jnp.asarray(history)


# Gradient fitting: covariances through a lower Cholesky factor with a softplus diagonal.

def _cov_to_raw(cov):
    chol = jnp.linalg.cholesky(cov)
    diag = jnp.diagonal(chol)
    inv_softplus = diag + jnp.log(-jnp.expm1(-diag))
    return jnp.tril(chol, -1) + jnp.diag(inv_softplus)


def _raw_to_cov(raw):
    chol = jnp.tril(raw, -1) + jnp.diag(jax.nn.softplus(jnp.diagonal(raw)))
    return chol @ chol.T


def to_unconstrained(params: lgssm.Params) -> dict:
    """Params -> dict of unconstrained arrays (covariances as raw Cholesky factors)."""
    return {k: (_cov_to_raw(v) if k in lgssm._COVARIANCES else v)
            for k, v in params._asdict().items() if v is not None}


def from_unconstrained(raw: dict) -> lgssm.Params:
    return lgssm.Params(**{k: (_raw_to_cov(v) if k in lgssm._COVARIANCES else v) for k, v in raw.items()})


def fit_gradient(
    params: lgssm.Params,
    ys: Float[Array, "*B T m"],
    inputs: Float[Array, "*B T k"] | None = None,
    mask: Bool[Array, "*B T"] | Bool[Array, "*B T m"] | None = None,
    *,
    num_steps: int = 500,
    optimizer: optax.GradientTransformation | None = None,
    learn: Sequence[str] = ALL_GROUPS,
    callback: Callable[[int, float], None] | None = None,
) -> tuple[lgssm.Params, Float[Array, " num_steps"]]:
    """Maximise log p(ys) by gradient ascent (default Adam, learning rate 1e-2).

    ys [B, T, m] or [T, m]; inputs [B, T, k] or [T, k]; mask [B, T] or [B, T, m]
    (or [T] or [T, m] for one sequence).
    Returns (params, log_likelihoods [num_steps] per step, before each update).
    TypeError under ``jax.jit`` or ``vmap`` (it is a Python loop; trace
    ``seqvi.ssm.lgssm.filter``'s log-likelihood and its gradient instead).
    """
    _refuse_tracing("fit_gradient", "lgssm.filter(...).log_likelihood", params, ys, inputs, mask)
    _check_learn(learn)
    ys, inputs, mask = _as_batch(params, ys, inputs, mask)
    learn = _informed(learn, ys, mask)
    optimizer = optimizer or optax.adam(1e-2)
    raw = to_unconstrained(params)
    names = {name for g in learn for name in GROUPS[g]}
    trainable = {k: v for k, v in raw.items() if k in names}
    frozen = {k: v for k, v in raw.items() if k not in names}

    def neg_log_lik(trainable):
        p = from_unconstrained({**frozen, **trainable})
        ll = jax.vmap(lgssm._filter, in_axes=(None, 0, 0 if inputs is not None else None,
                                               0 if mask is not None else None))(p, ys, inputs, mask)
        return -ll.log_likelihood.sum()

    @jax.jit
    def update(trainable, opt_state):
        loss, grads = jax.value_and_grad(neg_log_lik)(trainable)
        updates, opt_state = optimizer.update(grads, opt_state, trainable)
        return optax.apply_updates(trainable, updates), opt_state, -loss

    opt_state = optimizer.init(trainable)
    history = []
    for i in range(num_steps):
        trainable, opt_state, ll = update(trainable, opt_state)
        history.append(float(ll))
        if callback is not None:
            callback(i, float(ll))
    fitted = from_unconstrained({**frozen, **trainable})._asdict()
    # Frozen fields come back exactly as given (not through the Cholesky round trip).
    fitted.update({name: getattr(params, name) for name in frozen})
    return lgssm.Params(**fitted), jnp.asarray(history)
