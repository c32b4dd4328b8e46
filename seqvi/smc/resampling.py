"""Resampling schemes for particle methods.

Each scheme maps ``(key, log_weights[N], num_samples) -> ancestors[num_samples]``
(int32 indices into the N particles), takes unnormalised log-weights, and is
jit-able: ``num_samples`` is static and every shape is fixed. Every scheme is
unbiased: E[#{j : a_j = i}] = num_samples * w_i with w = softmax(log_weights).
Systematic and stratified resampling have lower variance than multinomial;
residual resampling copies floor(num_samples * w_i) deterministically and draws
the rest multinomially from the residual weights.

No scheme ever returns an ancestor of weight zero (log-weight -inf, or a weight
that underflows to zero against the largest; a NaN log-weight counts as zero),
in float32 or float64, under jit.
Inverting the CDF needs care for this: a floating-point cumulative sum need not
end at 1 (in float32 it can end at 1 - 7e-7, so a uniform above it would fall
off the end) nor even be monotone (XLA may sum each prefix in its own order), so
``_invert_cdf`` makes it monotone, divides it by its last entry, and moves an
index that lands on a zero weight to the next positive one (the last positive
one past the end). When every weight is zero (all log-weights -inf) there is no
distribution to draw from; every scheme then returns ``arange(num_samples) % N``
(with num_samples = N: every particle its own ancestor), and
``effective_sample_size`` is 0.
"""

from typing import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

Resampler = Callable[[jax.Array, jax.Array, int], jax.Array]


def _check(log_weights: jax.Array, num_samples: int) -> None:
    if log_weights.ndim != 1:
        raise ValueError(f"log_weights must have shape [N], got shape {log_weights.shape}")
    if not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")


def normalise(log_weights: Float[Array, " N"]) -> Float[Array, " N"]:
    """w = exp(l - logsumexp(l)), the normalised weights [N] of log_weights l [N]."""
    return jnp.exp(log_weights - jax.nn.logsumexp(log_weights))


def effective_sample_size(log_weights: Float[Array, " N"]) -> Float[Array, ""]:
    """ESS = (sum w)^2 / sum w^2 = exp(2 lse(l) - lse(2 l)) of log_weights l [N], in [1, N]; 0 (not NaN)
    when every weight is zero (all log-weights -inf)."""
    none = _all_zero(log_weights)
    # Substitute zeros on the all-zero branch so neither the value nor its gradient is NaN.
    safe = jnp.where(none, jnp.zeros_like(log_weights), log_weights)
    ess = jnp.exp(2.0 * jax.nn.logsumexp(safe) - jax.nn.logsumexp(2.0 * safe))
    return jnp.where(none, jnp.zeros_like(ess), ess)


def _sanitise(log_weights: jax.Array) -> jax.Array:
    """A NaN log-weight counts as a weight of zero (-inf): it is never drawn."""
    return jnp.where(jnp.isnan(log_weights), -jnp.inf, log_weights)


def _all_zero(log_weights: jax.Array) -> jax.Array:
    """True when every weight is zero (all log-weights -inf)."""
    return ~jnp.any(log_weights > -jnp.inf)


def _identity(num_particles: int, num_samples: int) -> jax.Array:
    """arange(num_samples) % N: the ancestors returned when every weight is zero."""
    return (jnp.arange(num_samples) % num_particles).astype(jnp.int32)


def _invert_cdf(log_weights: jax.Array, uniforms: jax.Array) -> jax.Array:
    """a_j = min{i : F_i > u_j} with F the CDF of the normalised weights, for
    u_j in [0, 1], never landing on a weight of zero.

    F is computed as cummax(cumsum(w)) / its last entry with w = exp(l - max l),
    so it is monotone and ends at exactly 1; an index i with w_i = 0 (possible
    only through the rounding of the sum) moves to the next positive weight, and
    an index past the end to the last positive weight.
    """
    n = log_weights.shape[0]
    top = jnp.max(log_weights)
    w = jnp.exp(log_weights - jnp.where(jnp.isfinite(top), top, 0.0))
    cdf = jax.lax.cummax(jnp.cumsum(w), axis=0)
    cdf = cdf / cdf[-1]
    idx = jnp.searchsorted(cdf, uniforms, side="right")
    positive = w > 0
    position = jnp.arange(n)
    next_positive = jax.lax.cummin(jnp.where(positive, position, n), axis=0, reverse=True)
    last_positive = jnp.max(jnp.where(positive, position, -1))
    idx = next_positive[jnp.minimum(idx, n - 1)]
    idx = jnp.where(idx < n, idx, last_positive)
    return jnp.where(_all_zero(log_weights), _identity(n, uniforms.shape[0]), idx).astype(jnp.int32)


def multinomial(key: jax.Array, log_weights: Float[Array, " N"], num_samples: int) -> Int[Array, " num_samples"]:
    """a_j ~ Categorical(w) independently: a_j = F^{-1}(u_j) for independent u_j ~ U[0, 1)
    (a -inf log-weight is never drawn). O(M log N) work: Gumbel-max over all N logits per
    draw is O(M N), 16 million Gumbel draws a step at N = M = 4000.
    log_weights [N] -> ancestors [num_samples] (int32)."""
    _check(log_weights, num_samples)
    log_weights = _sanitise(log_weights)
    return _invert_cdf(log_weights, jax.random.uniform(key, (num_samples,), dtype=log_weights.dtype))


def systematic(key: jax.Array, log_weights: Float[Array, " N"], num_samples: int) -> Int[Array, " num_samples"]:
    """One uniform u ~ U[0, 1); u_j = (j + u) / M; a_j = F^{-1}(u_j).
    log_weights [N] -> ancestors [M] (int32), M = num_samples."""
    _check(log_weights, num_samples)
    log_weights = _sanitise(log_weights)
    u = jax.random.uniform(key, (), dtype=log_weights.dtype)
    return _invert_cdf(log_weights, (jnp.arange(num_samples, dtype=log_weights.dtype) + u) / num_samples)


def stratified(key: jax.Array, log_weights: Float[Array, " N"], num_samples: int) -> Int[Array, " num_samples"]:
    """u_j ~ U[j/M, (j+1)/M) independently; a_j = F^{-1}(u_j).
    log_weights [N] -> ancestors [M] (int32), M = num_samples."""
    _check(log_weights, num_samples)
    log_weights = _sanitise(log_weights)
    u = jax.random.uniform(key, (num_samples,), dtype=log_weights.dtype)
    return _invert_cdf(log_weights, (jnp.arange(num_samples, dtype=log_weights.dtype) + u) / num_samples)


def residual(key: jax.Array, log_weights: Float[Array, " N"], num_samples: int) -> Int[Array, " num_samples"]:
    """floor(M w_i) copies of i, then M - sum floor(M w) draws from the
    residual weights r_i = M w_i - floor(M w_i) (multinomially).
    log_weights [N] -> ancestors [M] (int32), M = num_samples."""
    _check(log_weights, num_samples)
    log_weights = _sanitise(log_weights)
    n = log_weights.shape[0]
    all_zero = _all_zero(log_weights)
    w = normalise(jnp.where(all_zero, 0.0, log_weights))
    scaled = num_samples * w
    copies = jnp.floor(scaled).astype(jnp.int32)
    num_det = copies.sum()
    det = jnp.repeat(jnp.arange(n, dtype=jnp.int32), copies, total_repeat_length=num_samples)
    res = scaled - copies
    # With no residual mass every slot is deterministic (up to rounding); draw the
    # leftovers, if any, among the positive weights only.
    positive = jnp.where(w > 0, 0.0, -jnp.inf)
    log_res = jnp.where(res.sum() > 0, jnp.log(jnp.maximum(res, 0.0)), positive)
    rand = _invert_cdf(log_res, jax.random.uniform(key, (num_samples,), dtype=w.dtype))  # O(M log N)
    out = jnp.where(jnp.arange(num_samples) < num_det, det, rand)
    return jnp.where(all_zero, _identity(n, num_samples), out)


RESAMPLERS: dict[str, Resampler] = {
    "multinomial": multinomial,
    "systematic": systematic,
    "stratified": stratified,
    "residual": residual,
}


def get_resampler(name: str) -> Resampler:
    """The scheme called ``name`` (one of RESAMPLERS)."""
    try:
        return RESAMPLERS[name]
    except KeyError:
        raise ValueError(
            f"resampling must be one of {sorted(RESAMPLERS)}, got {name!r}"
        ) from None
