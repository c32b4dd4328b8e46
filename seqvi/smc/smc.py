"""The particle engine: one StepModel, one sequence, ``lax.scan`` over time and
``vmap`` over particles.

With N particles, incremental weights
  log w_t^i = log p(x_t | .) + beta (log p(z_t^i | .) - log q(z_t^i | .))
(beta = ``kl_weight``, 1 for every bound) accumulate into log-weights l^i. After
each step the running estimate of the log marginal likelihood is

  log Z_t = A_t + logsumexp_i(l_t^i) - log N,

where A_t sums the same quantity at every earlier resampling time. When
ESS(l_t) / N < ``ess_threshold`` the particles are resampled (ancestors from the
chosen scheme), A takes log Z_t and the log-weights reset to 0. log Z_T is
FIVO's log Z-hat; with ``ess_threshold=0`` (never resample) it is the IWAE
bound, and with N = 1 the ELBO.

Gradients are not propagated through the ancestor indices (``stop_gradient``),
as in FIVO (Maddison et al. 2017): the score-function term of resampling is
dropped. The randomness of step t is ``fold_in(key, t)``, so padding a sequence changes
no draw. Steps t >= ``length`` are padding: they add nothing to any log-weight,
do not move the particles and never trigger resampling.

Inside ``shard_map`` with ``axis_name`` set, each shard holds ``num_particles``
of the S * num_particles particles (S shards along the axis) and the run is the
same SMC as on one device: shard s moves particles s*n .. (s+1)*n - 1 with the
same per-particle keys, and log Z, the ESS and the ancestors come from the
all-gathered log-weights (``seqvi.smc.sharded``).
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from seqvi.models.base import StepModel
from seqvi.smc.resampling import Resampler, effective_sample_size


class SMCResult(NamedTuple):
    log_z: jax.Array  # [] log Z-hat
    log_z_increments: jax.Array  # [T] log Z_t - log Z_{t-1}; zero on padded steps
    ess: jax.Array  # [T] ESS of the log-weights after step t, before resampling
    resampled: jax.Array  # [T] bool
    ancestors: jax.Array  # [T, N] int32; identity where not resampled
    log_px: jax.Array  # [T] mean over particles of log p(x_t | .); zero when padded
    kl: jax.Array  # [T] mean over particles of log q(z_t|.) - log p(z_t|.); zero when padded
    final_states: Any  # particle states after the last valid step, leading axis N
    final_log_weights: jax.Array  # [N] log-weights after the last step
    trace: Any = None  # per-step trace_fn(states, log_weights), leading axis T; None without trace_fn


def _check_sequence(xs: jax.Array, num_particles: int, ess_threshold: float) -> None:
    if xs.ndim != 2:
        raise ValueError(f"xs must be one sequence of shape [T, D], got shape {xs.shape}")
    if not isinstance(num_particles, int) or num_particles < 1:
        raise ValueError(f"num_particles must be a positive int, got {num_particles!r}")
    if not 0.0 <= float(ess_threshold) <= 1.0:
        raise ValueError(f"ess_threshold must lie in [0, 1], got {ess_threshold}")


def run(
    model: StepModel,
    params: Any,
    xs: jax.Array,
    length: jax.Array,
    key: jax.Array,
    *,
    num_particles: int,
    resampler: Resampler | None = None,
    ess_threshold: float = 0.0,
    inputs: Any = None,
    kl_weight: float | jax.Array = 1.0,
    trace_fn: Callable[[Any, jax.Array], Any] | None = None,
    axis_name: str | None = None,
) -> SMCResult:
    """Sequential Monte Carlo over one padded sequence.

    Args:
      model: a StepModel. params: its parameters.
      xs: [T, D] observations, padded past ``length``.
      length: scalar int, number of valid steps (<= T).
      key: PRNG key.
      num_particles: N (static).
      resampler: a ``seqvi.smc.resampling`` scheme, or None to never resample.
      ess_threshold: resample when ESS / N < this (0: never; 1: every step).
      inputs: optional per-step inputs (leading axis T) passed to ``context``.
      kl_weight: beta multiplying log p(z) - log q(z) (KL annealing).
      trace_fn: optional ``(states [N, ...], log_weights [N]) -> pytree``, recorded
        after each move and before resampling (for example filtered means).
      axis_name: the mesh axis the particles are sharded over (inside
        ``shard_map``); ``num_particles`` is then the count per shard. The
        diagnostics' ancestors, final states and log-weights, and what
        ``trace_fn`` receives, are this shard's.
    """
    _check_sequence(xs, num_particles, ess_threshold)
    n = num_particles
    if axis_name is None:
        total, first = n, 0
        gather = lambda x: x  # noqa: E731
    else:
        total = n * jax.lax.axis_size(axis_name)
        first = jax.lax.axis_index(axis_name) * n
        gather = lambda x: jax.lax.all_gather(x, axis_name, tiled=True)  # noqa: E731
    mine = lambda x: jax.lax.dynamic_slice_in_dim(x, first, n)  # noqa: E731  this shard's rows
    mean = lambda x: gather(x).mean()  # noqa: E731  over all particles
    log_n = jnp.log(jnp.asarray(total, xs.dtype))
    ctx = model.context(params, xs, length, inputs)
    state0 = model.initial_state(params)
    states = jax.tree.map(lambda s: jnp.broadcast_to(s, (n,) + jnp.shape(s)), state0)
    identity = first + jnp.arange(n, dtype=jnp.int32)
    batched_step = jax.vmap(model.step, in_axes=(None, 0, 0, None, None))

    def body(carry, inp):
        states, log_w, log_z_acc = carry
        t, x_t, ctx_t = inp
        k_move, k_resample = jax.random.split(jax.random.fold_in(key, t))
        out = batched_step(params, states, mine(jax.random.split(k_move, total)), x_t, ctx_t)
        active = t < length
        kl = out.log_qz - out.log_pz
        inc = jnp.where(active, out.log_px - kl_weight * kl, 0.0)
        new_states = jax.tree.map(lambda a, b: jnp.where(active, a, b), out.state, states)
        log_w = log_w + inc
        all_log_w = gather(log_w)
        log_z_t = log_z_acc + jax.nn.logsumexp(all_log_w) - log_n
        ess = effective_sample_size(all_log_w)
        trace = None if trace_fn is None else trace_fn(new_states, log_w)
        if resampler is None:
            do_resample = jnp.zeros((), bool)
            ancestors = identity
        else:
            do_resample = active & (ess < ess_threshold * total)

            def resample(operands):
                new_states, log_w, _ = operands
                ancestors = mine(jax.lax.stop_gradient(resampler(k_resample, gather(log_w), total)))
                moved = jax.tree.map(lambda s: gather(s)[ancestors], new_states)
                return moved, jnp.zeros_like(log_w), log_z_t, ancestors

            def keep(operands):
                new_states, log_w, log_z_acc = operands
                return new_states, log_w, log_z_acc, identity

            # A real branch when unbatched: no draw and no gather on steps that keep.
            new_states, log_w, log_z_acc, ancestors = jax.lax.cond(
                do_resample, resample, keep, (new_states, log_w, log_z_acc)
            )
        diag = (
            log_z_t,
            ess,
            do_resample,
            ancestors,
            jnp.where(active, mean(out.log_px), 0.0),
            jnp.where(active, mean(kl), 0.0),
            trace,
        )
        return (new_states, log_w, log_z_acc), diag

    carry0 = (states, jnp.zeros((n,), xs.dtype), jnp.zeros((), xs.dtype))
    steps = jnp.arange(xs.shape[0])
    (final_states, final_log_w, _), diag = jax.lax.scan(
        body, carry0, (steps, xs, ctx)
    )
    log_z_path, ess, resampled, ancestors, log_px, kl, trace = diag
    increments = jnp.diff(log_z_path, prepend=jnp.zeros((1,), log_z_path.dtype))
    return SMCResult(
        log_z=log_z_path[-1],
        log_z_increments=increments,
        ess=ess,
        resampled=resampled,
        ancestors=ancestors,
        log_px=log_px,
        kl=kl,
        final_states=final_states,
        final_log_weights=final_log_w,
        trace=trace,
    )
