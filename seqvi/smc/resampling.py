"""Resampling schemes for particle methods.

Each scheme maps ``(key, log_weights[N], num_samples) -> ancestors[num_samples]``
(int32 indices into the N particles), takes unnormalised log-weights, and is
jit-able: ``num_samples`` is static and every shape is fixed. Every scheme is
unbiased: E[#{j : a_j = i}] = num_samples * w_i with w = softmax(log_weights).
Systematic and stratified resampling have lower variance than multinomial;
residual resampling copies floor(num_samples * w_i) deterministically and draws
the rest multinomially from the residual weights.
"""

from typing import Callable

import jax
import jax.numpy as jnp

Resampler = Callable[[jax.Array, jax.Array, int], jax.Array]


def _check(log_weights: jax.Array, num_samples: int) -> None:
    if log_weights.ndim != 1:
        raise ValueError(f"log_weights must have shape [N], got shape {log_weights.shape}")
    if not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")


def normalise(log_weights: jax.Array) -> jax.Array:
    """w = exp(l - logsumexp(l)), the normalised weights."""
    return jnp.exp(log_weights - jax.nn.logsumexp(log_weights))


def effective_sample_size(log_weights: jax.Array) -> jax.Array:
    """ESS = (sum w)^2 / sum w^2 = exp(2 lse(l) - lse(2 l)), in [1, N]."""
    return jnp.exp(2.0 * jax.nn.logsumexp(log_weights) - jax.nn.logsumexp(2.0 * log_weights))


def _invert_cdf(log_weights: jax.Array, uniforms: jax.Array) -> jax.Array:
    """a_j = min{i : F_i > u_j} with F the CDF of the normalised weights."""
    cdf = jnp.cumsum(normalise(log_weights))
    idx = jnp.searchsorted(cdf, uniforms, side="right")
    return jnp.clip(idx, 0, log_weights.shape[0] - 1).astype(jnp.int32)


def multinomial(key: jax.Array, log_weights: jax.Array, num_samples: int) -> jax.Array:
    """a_j ~ Categorical(w) independently."""
    _check(log_weights, num_samples)
    return jax.random.categorical(key, log_weights, shape=(num_samples,)).astype(jnp.int32)


def systematic(key: jax.Array, log_weights: jax.Array, num_samples: int) -> jax.Array:
    """One uniform u ~ U[0, 1); u_j = (j + u) / M; a_j = F^{-1}(u_j)."""
    _check(log_weights, num_samples)
    u = jax.random.uniform(key, (), dtype=log_weights.dtype)
    return _invert_cdf(log_weights, (jnp.arange(num_samples, dtype=log_weights.dtype) + u) / num_samples)


def stratified(key: jax.Array, log_weights: jax.Array, num_samples: int) -> jax.Array:
    """u_j ~ U[j/M, (j+1)/M) independently; a_j = F^{-1}(u_j)."""
    _check(log_weights, num_samples)
    u = jax.random.uniform(key, (num_samples,), dtype=log_weights.dtype)
    return _invert_cdf(log_weights, (jnp.arange(num_samples, dtype=log_weights.dtype) + u) / num_samples)


def residual(key: jax.Array, log_weights: jax.Array, num_samples: int) -> jax.Array:
    """floor(M w_i) copies of i, then M - sum floor(M w) draws from the
    residual weights r_i = M w_i - floor(M w_i) (multinomially)."""
    _check(log_weights, num_samples)
    scaled = num_samples * normalise(log_weights)
    copies = jnp.floor(scaled).astype(jnp.int32)
    num_det = copies.sum()
    det = jnp.repeat(
        jnp.arange(log_weights.shape[0], dtype=jnp.int32), copies, total_repeat_length=num_samples
    )
    res = scaled - copies
    # With no residual mass every slot is deterministic; use uniform logits then.
    log_res = jnp.where(res.sum() > 0, jnp.log(jnp.maximum(res, 0.0)), 0.0)
    rand = jax.random.categorical(key, log_res, shape=(num_samples,)).astype(jnp.int32)
    return jnp.where(jnp.arange(num_samples) < num_det, det, rand)


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
