"""Denoising and imputation of sequences with missing time steps.

* ``smc_impute`` (any StepModel whose ``imputable`` is True): SMC targeting
  p(z_{1:T}, x_miss | x_obs). On an observed step a particle moves with the
  proposal and is weighted by p(x_t|.) p(z_t|.) / q(z_t|.), as in FIVO; on a
  missing step it moves with the prior, draws x_t from the emission, feeds that
  x_t to its recursion and keeps its weight (the bootstrap move for the unobserved
  block). Each particle carries its filled-in sequence, so resampling keeps paths
  coherent; the weighted particles approximate p(x_miss | x_obs).
* ``iterative_impute`` (models with ``reconstruct``: STORN's VRAE and VOSP): the
  missing steps start at the training mean and are replaced, K times, by the
  reconstruction of the current sequence (the mode of q, then the mean of p),
  the observed steps staying clamped (Bayer & Osendorfer, section 4).
* Denoising is ``model.reconstruct`` of the noisy sequence; ``corrupt_binary``
  makes the noise for binary rolls.

The recognition networks that run in ``context`` see the missing steps filled
with the training mean; they only shape proposals, so the SMC weights stay exact.

Validation: shapes eagerly; ``length`` in [0, T] and xs finite on the observed
valid steps (missing steps and padding may hold anything, NaN included) eagerly
when concrete, as ``checkify`` debug checks when traced. With every step missing
the log-likelihood is 0 and the samples come from the model; when every
particle's weight is zero it is -inf, the log-weights are all -inf and
``Imputation.mean`` is NaN.
"""

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from seqvi.core import Reconstructs, StepModel, StepOutput
from seqvi.smc import smc
from seqvi.smc.resampling import get_resampler


def _check_mask(xs: jax.Array, observed: jax.Array, length: Any) -> jax.Array:
    """Validate (see the module docstring) and return ``observed`` as bool [T]."""
    from jax.experimental import checkify  # only for traced values

    if jnp.ndim(xs) != 2 or jnp.shape(xs)[0] < 1:
        raise ValueError(f"xs must be one sequence [T, D] with T >= 1, got shape {jnp.shape(xs)}")
    observed = jnp.asarray(observed)
    if observed.shape != xs.shape[:1]:
        raise ValueError(f"observed must be a [T] mask of time steps (T={xs.shape[0]}), got shape {observed.shape}")
    if jnp.ndim(length) != 0 or not jnp.issubdtype(jnp.result_type(length), jnp.integer):
        raise ValueError(f"length must be a scalar int, got {length!r}")
    observed = observed.astype(bool)
    num_steps = xs.shape[0]
    checks = [
        ((length >= 0) & (length <= num_steps), f"length must lie in [0, T] = [0, {num_steps}], got {{v}}", length),
    ]
    if jnp.issubdtype(xs.dtype, jnp.inexact):
        bad = ~jnp.all(jnp.isfinite(xs), axis=1) & observed & (jnp.arange(num_steps) < length)
        checks.append((~jnp.any(bad), "xs must be finite on its observed valid steps, but step {v} "
                       "(0-based) holds NaN or inf (mark it False in observed)", jnp.argmax(bad)))
    for ok, message, value in checks:
        if isinstance(ok, jax.core.Tracer):
            checkify.check(ok, message, v=value, debug=True)
        elif not ok:
            raise ValueError(message.format(v=int(value)))
    return observed


def fill_missing(params: dict, xs: jax.Array, observed: jax.Array) -> jax.Array:
    """xs with the unobserved steps set to the training mean (zeros without one)."""
    mean = params.get("constants", {}).get("input_mean", jnp.zeros(xs.shape[-1], xs.dtype))
    return jnp.where(observed[:, None], xs, mean.astype(xs.dtype))


@dataclasses.dataclass(frozen=True)
class _Conditioned(StepModel):
    """``model`` with missing steps sampled from the generative model; the state
    is (model state, filled sequence [T, D])."""

    model: StepModel
    num_steps: int
    data_dim: int

    def initial_state(self, params):
        return self.model.initial_state(params), jnp.zeros((self.num_steps, self.data_dim))

    def context(self, params, xs, length, inputs=None):
        observed, inner_inputs = inputs
        inner = self.model.context(params, fill_missing(params, xs, observed), length, inner_inputs)
        return observed, jnp.arange(self.num_steps), inner

    def step(self, params, state, key, x_t, ctx_t) -> StepOutput:
        inner_state, filled = state
        observed, t, ctx = ctx_t
        k_obs, k_z, k_x = jax.random.split(key, 3)
        out = self.model.step(params, inner_state, k_obs, x_t, ctx)
        z = self.model.prior(params, inner_state, ctx).sample(seed=k_z)
        x_new = self.model.emission(params, inner_state, z, ctx).sample(seed=k_x).astype(x_t.dtype)
        moved = self.model.update(params, inner_state, z, x_new, ctx)
        new_inner = jax.tree.map(lambda a, b: jnp.where(observed, a, b), out.state, moved)
        filled = filled.at[t].set(jnp.where(observed, x_t, x_new))
        zero = jnp.zeros_like(out.log_px)
        return StepOutput(
            (new_inner, filled),
            jnp.where(observed, out.log_px, zero),
            jnp.where(observed, out.log_pz, zero),
            jnp.where(observed, out.log_qz, zero),
        )


class Imputation(NamedTuple):
    samples: jax.Array  # [N, T, D] particle sequences, observed steps as given
    log_weights: jax.Array  # [N] normalised log-weights of the samples
    log_likelihood: jax.Array  # [] log Z-hat, an estimate of log p(x_obs)

    def mean(self) -> jax.Array:
        """[T, D] the weighted mean of the samples (posterior predictive mean); NaN
        when every weight is zero (log_likelihood = -inf)."""
        mean = jnp.einsum("n,ntd->td", jnp.exp(self.log_weights), self.samples)
        return jnp.where(jnp.isneginf(self.log_likelihood), jnp.nan, mean)


def smc_impute(
    model: StepModel,
    params: Any,
    xs: jax.Array,
    observed: jax.Array,
    length: jax.Array,
    key: jax.Array,
    *,
    num_particles: int = 64,
    resampling: str = "systematic",
    ess_threshold: float = 0.5,
    inputs: Any = None,
) -> Imputation:
    """Impute the steps of xs [T, D] where ``observed`` [T] is False (values there
    are ignored) by SMC; see the module docstring."""
    if not isinstance(model, StepModel):
        raise TypeError(f"smc_impute needs a StepModel, got {type(model).__name__}; use iterative_impute")
    if not model.imputable:
        raise ValueError(
            f"{type(model).__name__} computes parts of its generative model from x in context(), "
            "so missing steps cannot be sampled per particle; see its docstring"
        )
    observed = _check_mask(xs, observed, length)
    wrapped = _Conditioned(model, xs.shape[0], xs.shape[1])
    # The missing steps are never scored; filling them keeps NaN there out of the engine and its gradients.
    r = smc.run(
        wrapped, params, fill_missing(params, xs, observed), length, key,
        num_particles=num_particles, resampler=get_resampler(resampling),
        ess_threshold=ess_threshold, inputs=(observed, inputs),
    )
    lse = jax.nn.logsumexp(r.final_log_weights)
    log_w = jnp.where(jnp.isneginf(lse), r.final_log_weights, r.final_log_weights - lse)
    return Imputation(r.final_states[1], log_w, r.log_z)


def iterative_impute(
    model: Any, params: Any, xs: jax.Array, observed: jax.Array, length: jax.Array, num_iterations: int = 10
) -> jax.Array:
    """x^(0) = xs with missing steps at the training mean; x^(k+1) = xs where
    observed, else model.reconstruct(x^(k)). Returns x^(num_iterations) [T, D]."""
    if not isinstance(model, Reconstructs):
        raise TypeError(f"{type(model).__name__} has no reconstruct(); use smc_impute for StepModels")
    if not isinstance(num_iterations, int) or num_iterations < 0:
        raise ValueError(f"num_iterations must be a non-negative int, got {num_iterations!r}")
    observed = _check_mask(xs, observed, length)
    xs = fill_missing(params, xs, observed)

    def body(_, current):
        return jnp.where(observed[:, None], xs, model.reconstruct(params, current, length))

    return jax.lax.fori_loop(0, num_iterations, body, fill_missing(params, xs, observed))


def corrupt_binary(key: jax.Array, xs: jax.Array, flip_prob: float) -> jax.Array:
    """Flip each entry of a binary array independently with probability ``flip_prob``."""
    if not 0.0 <= flip_prob <= 1.0:
        raise ValueError(f"flip_prob must lie in [0, 1], got {flip_prob}")
    flips = jax.random.bernoulli(key, flip_prob, xs.shape)
    return jnp.where(flips, 1.0 - xs, xs).astype(xs.dtype)


def incorrect_fraction(truth: jax.Array, estimate: jax.Array, where: jax.Array, threshold: float = 0.5) -> jax.Array:
    """Fraction of entries with (estimate > threshold) != truth among the entries
    selected by ``where`` (broadcast against truth): the imputation error of binary data."""
    where = jnp.broadcast_to(where, truth.shape)
    wrong = ((estimate > threshold) != (truth > 0.5)) & where
    return wrong.sum() / jnp.maximum(where.sum(), 1)
