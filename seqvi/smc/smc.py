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

A long sequence can run as consecutive chunks (truncated backpropagation through
time, thesis section 5.4): ``run(..., carry=c, time_offset=s)`` starts from the
particles, log-weights and model context carry ``c`` that the previous chunk
ended with (``SMCResult.carry``; the first chunk's is ``initial_carry``), and
reports log Z of the chunk alone, log Z_end - log Z_start. With the same key and
offsets equal to the chunks' starting steps, the chunks' log Z-hats sum to the
one of the whole sequence: the same draws, weights and resampling decisions
(for models whose ``chunk_context`` carries everything ``context`` reads).

Inside ``shard_map`` with ``axis_name`` set, each shard holds ``num_particles``
of the S * num_particles particles (S shards along the axis) and the run is the
same SMC as on one device: shard s moves particles s*n .. (s+1)*n - 1 with the
same per-particle keys, and log Z, the ESS and the ancestors come from the
all-gathered log-weights (``seqvi.bounds.fivo`` with a ``mesh``).
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int, Shaped

from seqvi.core import StepModel
from seqvi.smc.resampling import Resampler, effective_sample_size, systematic


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
    final_context_carry: Any = None  # the model's chunk_context carry after the last valid step

    @property
    def carry(self) -> "SMCCarry":
        """Where the next chunk of the sequence starts (``run(..., carry=...)``)."""
        return SMCCarry(self.final_states, self.final_log_weights, self.final_context_carry)

    @property
    def all_weights_zero(self) -> Bool[Array, " T"]:
        """[T] bool, the diagnostic flag of a collapsed run: True after every step
        at which every particle's weight is zero (all log-weights -inf, so ESS = 0).
        From the first such step on, log Z-hat is -inf, its increments after that
        step are 0, and the particles are kept as they are (no resampling).
        Derived from ``ess``, so it holds for every producer of an SMCResult."""
        return self.ess == 0


class SMCCarry(NamedTuple):
    """What one chunk of a sequence hands the next (truncated BPTT)."""

    states: Any  # particle states, leading axis N
    log_weights: jax.Array  # [N] log-weights since the last resampling
    context: Any  # the model's ``chunk_context`` carry (None for models that carry nothing)


def initial_carry(model: StepModel, params: Any, num_particles: int, dtype=jnp.float32) -> SMCCarry:
    """The carry before a sequence's first chunk: ``num_particles`` copies of the
    initial state, zero log-weights and ``model.initial_context_carry``."""
    state0 = model.initial_state(params)
    states = jax.tree.map(lambda s: jnp.broadcast_to(s, (num_particles,) + jnp.shape(s)), state0)
    return SMCCarry(states, jnp.zeros((num_particles,), dtype), model.initial_context_carry(params))


def check_sequence(
    model: StepModel,
    xs: Shaped[Array, "T D"],
    length: int | Int[Array, ""],
    num_particles: int,
    ess_threshold: float,
    inputs: Any = None,
) -> None:
    """Validate ``run``'s arguments: shapes and types eagerly (also under jit, where
    they are static); the values of ``length`` and ``xs`` eagerly when they are
    concrete, and as ``checkify`` debug checks when traced (they raise inside
    ``checkify.checkify(f, errors=checkify.user_checks)`` and vanish otherwise).

    Shapes: xs [T, D] with T >= 1 (D = ``model.data_dim`` when the model has one),
    every leaf of ``inputs`` with leading axis T, ``length`` a scalar int.
    Values: 0 <= length <= T (a length past the end of xs would read padding as
    data), and xs finite on the valid steps t < length (padding may hold anything).
    """
    from jax.experimental import checkify  # only for traced values

    if jnp.ndim(xs) != 2:
        raise ValueError(f"xs must be one sequence of shape [T, D], got shape {jnp.shape(xs)}; vmap over a batch")
    num_steps, width = xs.shape
    if num_steps < 1:
        raise ValueError(f"xs must have at least one time step, got shape {xs.shape}")
    data_dim = getattr(model, "data_dim", None)
    if isinstance(data_dim, int) and width != data_dim:
        raise ValueError(
            f"xs has width D = {width} (shape {xs.shape}) but {type(model).__name__} was built for "
            f"data_dim = {data_dim}"
        )
    if not isinstance(num_particles, int) or num_particles < 1:
        raise ValueError(f"num_particles must be a positive int, got {num_particles!r}")
    if not 0.0 <= float(ess_threshold) <= 1.0:
        raise ValueError(f"ess_threshold must lie in [0, 1], got {ess_threshold}")
    for leaf in jax.tree.leaves(inputs):
        if jnp.ndim(leaf) < 1 or jnp.shape(leaf)[0] != num_steps:
            raise ValueError(f"inputs must have a leading time axis T = {num_steps} like xs, got a leaf of "
                             f"shape {jnp.shape(leaf)}")
    if jnp.ndim(length) != 0:
        raise ValueError(f"length must be a scalar (one sequence; vmap over a batch), got shape {jnp.shape(length)}")
    if not jnp.issubdtype(jnp.result_type(length), jnp.integer):
        raise TypeError(f"length must be an integer, got dtype {jnp.result_type(length)}")
    range_msg = f"length must lie in [0, T] = [0, {num_steps}] (the steps of xs [T, D]), got {{length}}"
    in_range = (length >= 0) & (length <= num_steps)
    if isinstance(in_range, jax.core.Tracer):
        checkify.check(in_range, range_msg, length=length, debug=True)
    elif not in_range:
        raise ValueError(range_msg.format(length=int(length)))
    if jnp.issubdtype(xs.dtype, jnp.inexact):
        bad = ~jnp.all(jnp.isfinite(xs), axis=1) & (jnp.arange(num_steps) < length)
        finite_msg = "xs must be finite on its valid steps t < length, but step {t} (0-based) holds NaN or inf"
        if isinstance(bad, jax.core.Tracer):
            checkify.check(~jnp.any(bad), finite_msg, t=jnp.argmax(bad), debug=True)
        elif jnp.any(bad):
            raise ValueError(finite_msg.format(t=int(jnp.argmax(bad))))


def zero_padding(tree: Any, length: Int[Array, ""]) -> Any:
    """``tree`` (arrays with a leading time axis T, or None) with every step
    t >= ``length`` set to 0: whatever the padding held (other numbers, NaN, inf)
    reaches neither a model nor a gradient, and a padded sequence is scored as if
    it were zero-padded (``jnp.where`` selects, so no NaN leaks into the gradient)."""

    def zero(a):
        a = jnp.asarray(a)
        valid = (jnp.arange(a.shape[0]) < length).reshape((a.shape[0],) + (1,) * (a.ndim - 1))
        return jnp.where(valid, a, jnp.zeros_like(a))

    return jax.tree.map(zero, tree)


def run(
    model: StepModel,
    params: Any,
    xs: Shaped[Array, "T D"],
    length: Int[Array, ""],
    key: jax.Array,
    *,
    num_particles: int,
    resampler: Resampler | None = None,
    ess_threshold: float = 0.0,
    inputs: Any = None,
    kl_weight: float | Float[Array, ""] = 1.0,
    trace_fn: Callable[[Any, jax.Array], Any] | None = None,
    axis_name: str | None = None,
    carry: SMCCarry | None = None,
    time_offset: int | Int[Array, ""] = 0,
) -> SMCResult:
    """Sequential Monte Carlo over one padded sequence.

    Args:
      model: a StepModel. params: its parameters.
      xs: [T, D] observations (T >= 1), finite on the valid steps; padding past
        ``length`` may hold anything (it is replaced by 0, as are the inputs' steps
        past ``length``: ``zero_padding``), so it reaches neither the model nor a
        gradient.
      length: scalar int in [0, T], the number of valid steps; 0 gives log Z-hat = 0.
      key: PRNG key.
      num_particles: N (static).
      resampler: a ``seqvi.smc.resampling`` scheme, or None to never resample.
      ess_threshold: resample when ESS / N < this (0: never; 1: every step).
      inputs: optional per-step inputs (leading axis T) passed to ``context``.
      kl_weight: beta multiplying log p(z) - log q(z) (KL annealing); a float or scalar.
      trace_fn: optional ``(states [N, ...], log_weights [N]) -> pytree``, recorded
        after each move and before resampling (for example filtered means).
      axis_name: the mesh axis the particles are sharded over (inside
        ``shard_map``); ``num_particles`` is then the count per shard. The
        diagnostics' ancestors, final states and log-weights, and what
        ``trace_fn`` receives, are this shard's.
      carry: where this chunk of a longer sequence starts (``SMCResult.carry``
        of the previous chunk, or ``initial_carry``, whose particle count must be
        ``num_particles``); None: from the initial state (``initial_carry``).
        The result's ``carry`` continues the sequence either way.
      time_offset: the chunk's first step in the whole sequence (the draws of
        step t use ``fold_in(key, t + time_offset)``).

    Shapes, ``num_particles`` and ``ess_threshold`` are checked eagerly (also
    under jit). The values of ``length`` (0 <= length <= T) and ``xs`` (finite on
    the valid steps) raise ValueError when concrete; when traced they are
    ``checkify`` debug checks: ``checkify.checkify(jax.jit(f),
    errors=checkify.user_checks)`` reports them, plain jit drops them.

    When every particle's weight is zero at some step (all log-weights -inf),
    the result is defined: log Z-hat = -inf, ESS = 0 from that step on, the
    increments after it are 0, nothing is resampled, and
    ``SMCResult.all_weights_zero`` flags those steps.
    """
    check_sequence(model, xs, length, num_particles, ess_threshold, inputs)
    xs, inputs = zero_padding((xs, inputs), length)
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
    if carry is not None and jnp.shape(carry.log_weights) != (n,):
        raise ValueError(f"the carry holds {jnp.shape(carry.log_weights)} log-weights but this run moves "
                         f"num_particles={n}: a chunk continues with the particles the previous one ended with")
    try:
        carried = model.initial_context_carry(params) if carry is None else carry.context
        ctx, context_carry = model.chunk_context(params, xs, length, inputs, carried)
    except (TypeError, ValueError) as err:
        err.add_note(f"(in {type(model).__name__}.context on xs of shape {xs.shape}: is D = {xs.shape[1]} "
                     "the data width the model and its params were built for?)")
        raise
    if carry is None:
        states = initial_carry(model, params, n, xs.dtype).states
        log_w0 = log_z0 = jnp.zeros((), xs.dtype)
    else:
        states, log_w0 = carry.states, carry.log_weights
        # log Z of this chunk alone: minus the estimate the carried weights already hold
        # (nothing to remove after a collapse, when every carried weight is zero).
        carried = jax.nn.logsumexp(gather(log_w0)) - log_n
        log_z0 = jnp.where(jnp.isfinite(carried), -carried, 0.0)
    identity = first + jnp.arange(n, dtype=jnp.int32)
    batched_step = jax.vmap(model.step, in_axes=(None, 0, 0, None, None))

    def body(carry, inp):
        states, log_w, log_z_acc = carry
        t, x_t, ctx_t = inp
        k_move, k_resample = jax.random.split(jax.random.fold_in(key, t + time_offset))
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
            # ESS = 0: every weight is zero, there is nothing to draw from.
            do_resample = active & (ess < ess_threshold * total) & (ess > 0)

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

    scan_carry0 = (states, jnp.broadcast_to(log_w0, (n,)).astype(xs.dtype), log_z0.astype(xs.dtype))
    steps = jnp.arange(xs.shape[0])
    try:
        (final_states, final_log_w, _), diag = jax.lax.scan(
            body, scan_carry0, (steps, xs, ctx)
        )
    except (TypeError, ValueError) as err:
        err.add_note(f"(in {type(model).__name__}.step on x_t of shape {xs.shape[1:]}: is D = {xs.shape[1]} "
                     "the data width the model and its params were built for?)")
        raise
    log_z_path, ess, resampled, ancestors, log_px, kl, trace = diag
    previous = jnp.concatenate([jnp.zeros((1,), log_z_path.dtype), log_z_path[:-1]])
    # Once log Z is -inf (every weight zero) it stays -inf: those increments are 0, not NaN.
    increments = jnp.where(jnp.isneginf(previous), 0.0, log_z_path - previous)
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
        final_context_carry=context_carry,
    )


def continue_sequence(
    model: StepModel,
    params: Any,
    key: jax.Array,
    prefix: Shaped[Array, "T D"],
    length: Int[Array, ""],
    num_steps: int,
    *,
    num_particles: int = 16,
    emission_mode: str = "sample",
    resampler: Resampler = systematic,
    inputs: Any = None,
    future_inputs: Any = None,
) -> Float[Array, "num_steps D"]:
    """Continue ``prefix`` [T, D] (valid up to ``length``) by ``num_steps`` steps.

    A particle filter (proposal q, resampling at ESS < N/2) conditions the state
    on the prefix (with its ``inputs`` [T, k] for a model that takes inputs); one
    particle is drawn by its final weight, and the model's ``generate`` continues
    from ``model.continuation_state`` of it, with ``future_inputs`` [num_steps, k]
    (an agent's actions after the prefix, for example).
    Returns [num_steps, D] (draws, or means with ``emission_mode='mean'``).
    """
    try:
        concrete = int(length)
    except (jax.errors.ConcretizationTypeError, TypeError):
        concrete = None  # traced: the caller's to keep >= 1
    if concrete is not None and concrete < 1:
        raise ValueError(f"continue_sequence needs a prefix of length >= 1 to condition on, got length {concrete}; "
                         "use model.generate to sample without one")
    k_filter, k_pick, k_gen = jax.random.split(key, 3)
    r = run(model, params, prefix, length, k_filter, num_particles=num_particles, resampler=resampler,
            ess_threshold=0.5, inputs=inputs)
    i = jax.random.categorical(k_pick, r.final_log_weights)
    state = model.continuation_state(params, jax.tree.map(lambda s: s[i], r.final_states), prefix, length,
                                     inputs=inputs)
    xs, _ = model.generate(params, k_gen, num_steps, state=state, emission_mode=emission_mode, inputs=future_inputs)
    return xs
