"""ELBO, IWAE and FIVO for any StepModel, for one sequence, as pure functions.

For a sequence x_{1:T} and N particles with incremental weights
w_t^i = p(x_t | .) p(z_t^i | .) / q(z_t^i | .):

  ELBO = 1/N sum_i sum_t log w_t^i                        (E_q log p(x, z)/q(z))
  IWAE = log 1/N sum_i prod_t w_t^i                       (Burda et al. 2016)
  FIVO = log Z-hat of SMC with resampling when ESS/N < threshold
                                                          (Maddison et al. 2017)

All three are lower bounds in expectation on log p(x_{1:T}); ELBO <= IWAE in
expectation, and IWAE with one particle is the ELBO. Each function returns a
``BoundResult``: the bound, its per-step increments (summing to the bound, zero
on padded steps) and the engine's diagnostics. ``batch_loss`` turns any of them
into the trainer's ``loss(params, batch, key) -> (loss, metrics)``.

``elbo`` and ``iwae`` also take a ``SequenceModel`` (a whole-sequence posterior,
such as STORN's VRAE): the ELBO then uses the model's exact KL, and IWAE the
importance weights of whole-sequence samples, with per-step increments
log mean_n exp(sum_{s<=t} log w_s^n) differenced over t (what the SMC engine
reports when it never resamples).
"""

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from seqvi.models.base import SequenceModel, SequenceTerms, StepModel
from seqvi.smc.resampling import effective_sample_size
from seqvi.smc import smc
from seqvi.smc.resampling import get_resampler


class BoundResult(NamedTuple):
    bound: jax.Array  # [] the bound on log p(x_{1:length})
    increments: jax.Array  # [T] per-step contributions; sum = bound
    diagnostics: smc.SMCResult


def elbo(
    model: StepModel,
    params: Any,
    xs: jax.Array,
    length: jax.Array,
    key: jax.Array,
    *,
    num_particles: int = 1,
    inputs: Any = None,
    kl_weight: float | jax.Array = 1.0,
    free_bits: float = 0.0,
) -> BoundResult:
    """ELBO averaged over ``num_particles`` independent samples.

    Training options (the result is then an objective, not a bound): ``kl_weight``
    beta scales the KL term (annealing); ``free_bits`` lambda replaces the
    per-step KL estimate by max(KL_t, lambda) (Kingma et al. 2016), so the
    objective is sum_t [log p(x_t|.) - beta max(KL_t, lambda)].
    """
    if isinstance(model, SequenceModel):
        terms = model.sequence_terms(params, xs, length, key, num_particles, inputs)
        r = _sequence_diagnostics(terms, terms.log_px + terms.log_pz - terms.log_qz)
        r = r._replace(kl=terms.kl)
    else:
        r = smc.run(model, params, xs, length, key, num_particles=num_particles, inputs=inputs)
    kl = r.kl
    if free_bits > 0.0:
        active = jnp.arange(xs.shape[0]) < length
        kl = jnp.where(active, jnp.maximum(kl, free_bits), 0.0)
    increments = r.log_px - kl_weight * kl
    return BoundResult(increments.sum(), increments, r)


def iwae(
    model: StepModel,
    params: Any,
    xs: jax.Array,
    length: jax.Array,
    key: jax.Array,
    *,
    num_particles: int,
    inputs: Any = None,
    kl_weight: float | jax.Array = 1.0,
) -> BoundResult:
    """IWAE: log (1/N) sum_i prod_t w_t^i (SMC that never resamples)."""
    if isinstance(model, SequenceModel):
        terms = model.sequence_terms(params, xs, length, key, num_particles, inputs)
        r = _sequence_diagnostics(terms, terms.log_px + kl_weight * (terms.log_pz - terms.log_qz))
        return BoundResult(r.log_z, r.log_z_increments, r)
    r = smc.run(
        model, params, xs, length, key, num_particles=num_particles, inputs=inputs, kl_weight=kl_weight
    )
    return BoundResult(r.log_z, r.log_z_increments, r)


def fivo(
    model: StepModel,
    params: Any,
    xs: jax.Array,
    length: jax.Array,
    key: jax.Array,
    *,
    num_particles: int,
    resampling: str = "systematic",
    ess_threshold: float = 0.5,
    inputs: Any = None,
    kl_weight: float | jax.Array = 1.0,
) -> BoundResult:
    """FIVO: log Z-hat of SMC resampling with ``resampling`` whenever
    ESS / N < ``ess_threshold``; gradients skip the ancestor indices."""
    if not isinstance(model, StepModel):
        raise TypeError(
            f"fivo needs a StepModel with sequential importance weights; {type(model).__name__} "
            "scores x_t with the whole latent sequence: use elbo or iwae"
        )
    r = smc.run(
        model,
        params,
        xs,
        length,
        key,
        num_particles=num_particles,
        resampler=get_resampler(resampling),
        ess_threshold=ess_threshold,
        inputs=inputs,
        kl_weight=kl_weight,
    )
    return BoundResult(r.log_z, r.log_z_increments, r)


def _sequence_diagnostics(terms: SequenceTerms, log_w: jax.Array) -> smc.SMCResult:
    """The engine's diagnostics for whole-sequence samples with per-step log-weights
    log_w [N, T] (zero on padding), never resampled."""
    n, num_steps = log_w.shape
    cumulative = jnp.cumsum(log_w, axis=1)
    log_z_path = jax.nn.logsumexp(cumulative, axis=0) - jnp.log(n)
    return smc.SMCResult(
        log_z=log_z_path[-1],
        log_z_increments=jnp.diff(log_z_path, prepend=jnp.zeros((1,), log_z_path.dtype)),
        ess=jax.vmap(effective_sample_size, in_axes=1)(cumulative),
        resampled=jnp.zeros((num_steps,), bool),
        ancestors=jnp.broadcast_to(jnp.arange(n, dtype=jnp.int32), (num_steps, n)),
        log_px=terms.log_px.mean(0),
        kl=(terms.log_qz - terms.log_pz).mean(0),
        final_states=None,
        final_log_weights=cumulative[:, -1],
    )


BOUNDS: dict[str, Callable[..., BoundResult]] = {"elbo": elbo, "iwae": iwae, "fivo": fivo}


def get_bound(name: str, **options) -> Callable[..., BoundResult]:
    """``BOUNDS[name]`` with keyword ``options`` bound (for example num_particles)."""
    if name not in BOUNDS:
        raise ValueError(f"bound must be one of {sorted(BOUNDS)}, got {name!r}")
    return functools.partial(BOUNDS[name], **options)


def batch_bounds(
    bound_fn: Callable[..., BoundResult],
    model: StepModel,
    params: Any,
    batch: dict,
    key: jax.Array,
    **kwargs,
) -> BoundResult:
    """``bound_fn`` vmapped over a batch {'xs': [B, T, D], 'lengths': [B],
    optional 'inputs': [B, T, ...]}; sequence b uses key ``split(key, B)[b]``."""
    xs, lengths = batch["xs"], batch["lengths"]
    keys = jax.random.split(key, xs.shape[0])
    inputs = batch.get("inputs")

    def one(x, length, k, u):
        return bound_fn(model, params, x, length, k, inputs=u, **kwargs)

    return jax.vmap(one)(xs, lengths, keys, inputs)


def batch_loss(
    bound_fn: Callable[..., BoundResult], model: StepModel
) -> Callable[..., tuple[jax.Array, dict]]:
    """The trainer's loss: -(sum_b bound_b) / (sum_b length_b), the negative
    bound per time step as a ratio of sums over the batch.

    Returns ``loss(params, batch, key, **kwargs) -> (loss, metrics)`` where
    kwargs (for example kl_weight) are passed to ``bound_fn``.
    """

    def loss(params, batch, key, **kwargs):
        r = batch_bounds(bound_fn, model, params, batch, key, **kwargs)
        num_steps = batch["lengths"].sum()
        total = r.bound.sum()
        metrics = {
            "bound_per_step": total / num_steps,
            "bound_per_sequence": r.bound.mean(),
            "kl_per_step": r.diagnostics.kl.sum() / num_steps,
            "resample_rate": r.diagnostics.resampled.sum() / num_steps,
        }
        return -total / num_steps, metrics

    return loss
