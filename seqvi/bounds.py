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

``fivo`` given a ``mesh`` shards one sequence's particles over a device axis
(``shard_map``): each device moves N / S particles, the log-weights are
all-gathered every step, and the result equals the one-device FIVO with the
same key up to floating-point summation order.

``elbo`` and ``iwae`` also take a ``SequenceModel`` (a whole-sequence posterior,
such as STORN's VRAE): the ELBO then uses the model's exact KL, and IWAE the
importance weights of whole-sequence samples, with per-step increments
log mean_n exp(sum_{s<=t} log w_s^n) differenced over t (what the SMC engine
reports when it never resamples).
"""

import dataclasses
import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, Float, Int, Shaped

from seqvi.core import Objective, ObjectiveOptions, SequenceModel, SequenceTerms, StepModel
from seqvi.smc import smc
from seqvi.smc.resampling import effective_sample_size, get_resampler


class BoundResult(NamedTuple):
    bound: Float[Array, ""]  # the bound on log p(x_{1:length}) (nats)
    increments: Float[Array, " T"]  # per-step contributions; sum = bound
    diagnostics: smc.SMCResult


def elbo(
    model: StepModel,
    params: Any,
    xs: Shaped[Array, "T D"],
    length: int | Int[Array, ""],
    key: jax.Array,
    *,
    num_particles: int = 1,
    inputs: Any = None,
    kl_weight: float | Float[Array, ""] = 1.0,
    free_bits: float = 0.0,
    carry: smc.SMCCarry | None = None,
    time_offset: int | Int[Array, ""] = 0,
) -> BoundResult:
    """ELBO averaged over ``num_particles`` independent samples, in nats:
    sum_{t < length} E_q[log p(x_t | .) - KL_t] (thesis section 4.2; STORN, VRNN).

    Args: xs [T, D] one padded sequence with ``length`` valid steps; key a PRNG
    key; inputs optional per-step inputs [T, ...] for the model's ``context``.
    Returns ``BoundResult``: the bound [], its per-step increments [T] (zero past
    ``length``) and the SMC diagnostics. Raises ValueError on shapes or lengths
    that do not fit (``seqvi.smc.check_sequence``).

    Training options (the result is then an objective, not a bound): ``kl_weight``
    beta scales the KL term (annealing); ``free_bits`` lambda replaces the
    per-step KL estimate by max(KL_t, lambda) (Kingma et al. 2016), so the
    objective is sum_t [log p(x_t|.) - beta max(KL_t, lambda)].

    Chunks of a longer sequence (truncated BPTT, StepModels only): ``carry`` and
    ``time_offset`` as in ``seqvi.smc.run``; the result is the chunk's share and
    its diagnostics' ``carry`` starts the next chunk.
    """
    if isinstance(model, SequenceModel):
        terms = _sequence_terms(model, params, xs, length, key, num_particles, inputs, carry)
        r = _sequence_diagnostics(terms, terms.log_px + terms.log_pz - terms.log_qz)
        r = r._replace(kl=terms.kl)
    else:
        r = smc.run(model, params, xs, length, key, num_particles=num_particles, inputs=inputs, carry=carry,
                    time_offset=time_offset)
    kl = r.kl
    if free_bits > 0.0:
        active = jnp.arange(xs.shape[0]) < length
        kl = jnp.where(active, jnp.maximum(kl, free_bits), 0.0)
    increments = r.log_px - kl_weight * kl
    return BoundResult(increments.sum(), increments, r)


def iwae(
    model: StepModel,
    params: Any,
    xs: Shaped[Array, "T D"],
    length: int | Int[Array, ""],
    key: jax.Array,
    *,
    num_particles: int,
    inputs: Any = None,
    kl_weight: float | Float[Array, ""] = 1.0,
    carry: smc.SMCCarry | None = None,
    time_offset: int | Int[Array, ""] = 0,
) -> BoundResult:
    """IWAE (Burda et al. 2016): log (1/N) sum_i prod_t w_t^i, in nats (SMC that
    never resamples). Arguments, result and errors as ``elbo``; N = ``num_particles``."""
    if isinstance(model, SequenceModel):
        terms = _sequence_terms(model, params, xs, length, key, num_particles, inputs, carry)
        r = _sequence_diagnostics(terms, terms.log_px + kl_weight * (terms.log_pz - terms.log_qz))
        return BoundResult(r.log_z, r.log_z_increments, r)
    r = smc.run(model, params, xs, length, key, num_particles=num_particles, inputs=inputs, kl_weight=kl_weight,
                carry=carry, time_offset=time_offset)
    return BoundResult(r.log_z, r.log_z_increments, r)


def fivo(
    model: StepModel,
    params: Any,
    xs: Shaped[Array, "T D"],
    length: int | Int[Array, ""],
    key: jax.Array,
    *,
    num_particles: int,
    resampling: str = "systematic",
    ess_threshold: float = 0.5,
    inputs: Any = None,
    kl_weight: float | Float[Array, ""] = 1.0,
    mesh: Mesh | None = None,
    axis: str = "particles",
    carry: smc.SMCCarry | None = None,
    time_offset: int | Int[Array, ""] = 0,
) -> BoundResult:
    """FIVO (Maddison et al. 2017): log Z-hat of SMC resampling with
    ``resampling`` whenever ESS / N < ``ess_threshold``, in nats; gradients skip
    the ancestor indices. Arguments and result as ``elbo``; raises TypeError for
    a model that is not a StepModel.

    With ``mesh``, the ``num_particles`` (divisible by ``mesh.shape[axis]``) are
    sharded over ``mesh[axis]`` (see ``particle_mesh``); the diagnostics'
    ancestors [T, N], final states and final log-weights come back sharded along
    their particle axis, the rest replicated. ``carry`` and ``time_offset`` (one
    chunk of a longer sequence) as in ``elbo``, on one device only (ValueError
    with a ``mesh``)."""
    if not isinstance(model, StepModel):
        raise TypeError(
            f"fivo needs a StepModel with sequential importance weights; {type(model).__name__} "
            "scores x_t with the whole latent sequence: use elbo or iwae"
        )
    resampler = get_resampler(resampling)
    if mesh is None:
        r = smc.run(model, params, xs, length, key, num_particles=num_particles, resampler=resampler,
                    ess_threshold=ess_threshold, inputs=inputs, kl_weight=kl_weight, carry=carry,
                    time_offset=time_offset)
        return BoundResult(r.log_z, r.log_z_increments, r)
    if carry is not None:
        raise ValueError("fivo runs chunks with a carry on one device; pass mesh=None")
    shards = mesh.shape[axis]
    if num_particles % shards:
        raise ValueError(f"num_particles={num_particles} is not divisible by the {shards} devices of axis {axis!r}")

    def per_shard(params, xs, length, key, inputs):
        r = smc.run(model, params, xs, length, key, num_particles=num_particles // shards, resampler=resampler,
                    ess_threshold=ess_threshold, inputs=inputs, kl_weight=kl_weight, axis_name=axis)
        return BoundResult(r.log_z, r.log_z_increments, r)

    replicated, sharded = P(), P(axis)
    specs = {name: replicated for name in smc.SMCResult._fields}
    specs.update(ancestors=P(None, axis), final_states=sharded, final_log_weights=sharded, trace=None)
    out_specs = BoundResult(replicated, replicated, smc.SMCResult(**specs))
    run = jax.shard_map(per_shard, mesh=mesh, in_specs=(replicated,) * 5, out_specs=out_specs, check_vma=False)
    return run(params, xs, length, key, inputs)


def _sequence_terms(model: SequenceModel, params, xs, length, key, num_particles: int, inputs, carry) -> SequenceTerms:
    """``model.sequence_terms`` of the checked sequence with its padding zeroed (no
    gradient reaches it); ValueError for a carry (chunks need a StepModel) or
    shapes that do not fit (``seqvi.smc.check_sequence``)."""
    if carry is not None:
        raise ValueError(f"{type(model).__name__} scores whole sequences; chunks with a carry (truncated BPTT) "
                         "need a StepModel")
    smc.check_sequence(model, xs, length, num_particles, 0.0, inputs)
    xs, inputs = smc.zero_padding((xs, inputs), length)
    return model.sequence_terms(params, xs, length, key, num_particles, inputs)


def particle_mesh(devices=None, axis: str = "particles") -> Mesh:
    """A 1-D mesh over ``devices`` (default: all) named ``axis``, for ``fivo(mesh=...)``."""
    return Mesh(np.asarray(jax.devices() if devices is None else devices), (axis,))


def _sequence_diagnostics(terms: SequenceTerms, log_w: jax.Array) -> smc.SMCResult:
    """The engine's diagnostics for whole-sequence samples with per-step log-weights
    log_w [N, T] (zero on padding), never resampled."""
    n, num_steps = log_w.shape
    cumulative = jnp.cumsum(log_w, axis=1)
    log_z_path = jax.nn.logsumexp(cumulative, axis=0) - jnp.log(n)
    previous = jnp.concatenate([jnp.zeros((1,), log_z_path.dtype), log_z_path[:-1]])
    return smc.SMCResult(
        log_z=log_z_path[-1],
        log_z_increments=jnp.where(jnp.isneginf(previous), 0.0, log_z_path - previous),  # 0 once -inf, not NaN
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
    batch: dict[str, Array],
    key: jax.Array,
    **kwargs,
) -> BoundResult:
    """``bound_fn`` vmapped over a batch {'xs': [B, T, D], 'lengths': [B],
    optional 'inputs': [B, T, ...]}; sequence b uses key ``split(key, B)[b]``.
    Every field of the result gains a leading axis B (bound [B], increments [B, T])."""
    xs, lengths = batch["xs"], batch["lengths"]
    keys = jax.random.split(key, xs.shape[0])
    inputs = batch.get("inputs")

    def one(x, length, k, u):
        return bound_fn(model, params, x, length, k, inputs=u, **kwargs)

    return jax.vmap(one)(xs, lengths, keys, inputs)


class ChunkedBounds(NamedTuple):
    """Per-sequence sums over the chunks of ``chunked_batch_bounds``."""

    bound: Float[Array, " B"]  # sum of the chunks' bounds
    kl: Float[Array, " B"]  # sum over steps of the mean KL estimate
    resampled: Int[Array, " B"]  # resampling events


def chunked_batch_bounds(
    bound_fn: Callable[..., BoundResult],
    model: StepModel,
    params: Any,
    batch: dict[str, Array],
    key: jax.Array,
    *,
    chunk_length: int,
    num_particles: int,
    **kwargs,
) -> ChunkedBounds:
    """Truncated backpropagation through time (thesis, section 5.4's speech
    training): each sequence of {'xs': [B, T, D], 'lengths': [B], optional
    'inputs'} is cut into chunks of ``chunk_length`` steps (the last padded), and
    ``bound_fn`` scores them in order, each chunk starting from the particles,
    log-weights and context carry the previous one ended with
    (``seqvi.smc.SMCCarry``; the first from ``initial_carry`` with
    ``num_particles``). Gradients stop at chunk boundaries (the carry enters the
    next chunk as a constant). Sequence b uses key ``split(key, B)[b]`` and its
    true step indices, so the forward values equal ``batch_bounds``'s whenever
    the model's ``chunk_context`` carries everything its context reads (a
    filtering model; a backward RNN sees only its chunk's future).

    Returns ``ChunkedBounds`` of [B] sums over the chunks."""
    if not isinstance(chunk_length, int) or chunk_length < 1:
        raise ValueError(f"chunk_length must be a positive int, got {chunk_length!r}")
    xs, lengths = batch["xs"], batch["lengths"]
    size, num_steps = xs.shape[:2]
    num_chunks = -(-num_steps // chunk_length)
    pad = num_chunks * chunk_length - num_steps

    def chunked(a):  # [B, T, ...] -> [C, B, L, ...]
        a = jnp.pad(a, [(0, 0), (0, pad)] + [(0, 0)] * (a.ndim - 2))
        return jnp.swapaxes(a.reshape((size, num_chunks, chunk_length) + a.shape[2:]), 0, 1)

    starts = jnp.arange(num_chunks) * chunk_length
    chunk_lengths = jnp.clip(lengths[None, :] - starts[:, None], 0, chunk_length).astype(lengths.dtype)
    keys = jax.random.split(key, size)
    carry0 = jax.vmap(lambda _: smc.initial_carry(model, params, num_particles, xs.dtype))(jnp.arange(size))

    def body(carry, inp):
        x, length, start, u = inp

        def one(x1, length1, k, u1, c):
            return bound_fn(model, params, x1, length1, k, inputs=u1, carry=c, time_offset=start, **kwargs)

        r = jax.vmap(one)(x, length, keys, u, carry)
        sums = ChunkedBounds(r.bound, r.diagnostics.kl.sum(-1), r.diagnostics.resampled.sum(-1))
        return jax.lax.stop_gradient(r.diagnostics.carry), sums

    inputs = jax.tree.map(chunked, batch.get("inputs"))
    _, per_chunk = jax.lax.scan(body, carry0, (chunked(xs), chunk_lengths, starts, inputs))
    return jax.tree.map(lambda v: v.sum(0), per_chunk)


def batch_loss(
    bound_fn: Callable[..., BoundResult], model: StepModel, *, chunk_length: int = 0, num_particles: int = 1,
) -> Callable[..., tuple[jax.Array, dict]]:
    """The trainer's loss: -(sum_b bound_b) / (sum_b length_b), the negative
    bound per time step as a ratio of sums over the batch; with ``chunk_length``
    > 0, over chunks with truncated gradients (``chunked_batch_bounds``, whose
    first carry has ``num_particles`` particles: the bound's own count). A batch
    with no steps to score (every length 0) gives loss 0, metrics 0 and zero
    gradients, not 0 / 0.

    Returns ``loss(params, batch, key, step=None, **kwargs) -> (loss, metrics)``
    where kwargs (for example kl_weight) are passed to ``bound_fn``; ``step`` is
    accepted for the trainer and unused (annealing is ``seqvi.models.objectives``'s).
    """

    def loss(params, batch, key, step=None, **kwargs):
        del step
        if chunk_length:
            r = chunked_batch_bounds(bound_fn, model, params, batch, key, chunk_length=chunk_length,
                                     num_particles=num_particles, **kwargs)
            bound, kl, resampled = r.bound, r.kl.sum(), r.resampled.sum()
        else:
            r = batch_bounds(bound_fn, model, params, batch, key, **kwargs)
            bound, kl, resampled = r.bound, r.diagnostics.kl.sum(), r.diagnostics.resampled.sum()
        num_steps = jnp.maximum(batch["lengths"].sum(), 1)  # a batch with no steps: loss and metrics 0
        total = bound.sum()
        metrics = {
            "bound_per_step": total / num_steps,
            "bound_per_sequence": bound.mean(),
            "kl_per_step": kl / num_steps,
            "resample_rate": resampled / num_steps,
        }
        return -total / num_steps, metrics

    return loss


def kl_weight_schedule(anneal_steps: int, start: float = 0.0) -> Callable[[jax.Array], jax.Array]:
    """beta(step) rising linearly from ``start`` to 1 over ``anneal_steps`` (1 if 0)."""
    if anneal_steps <= 0:
        return lambda step: jnp.asarray(1.0)
    return lambda step: jnp.minimum(1.0, start + (1.0 - start) * step / anneal_steps)


def annealed_loss(loss_fn, params, batch, key, step, anneal_steps: int, anneal_start: float = 0.0):
    """``loss_fn(params, batch, key)``, or with ``kl_weight=beta(step)`` of
    ``kl_weight_schedule`` when ``anneal_steps`` > 0 (beta then in the metrics)."""
    if anneal_steps <= 0:
        return loss_fn(params, batch, key)
    beta = kl_weight_schedule(anneal_steps, anneal_start)(step)
    loss, metrics = loss_fn(params, batch, key, kl_weight=beta)
    return loss, dict(metrics, kl_weight=beta)


@dataclasses.dataclass(frozen=True)
class BoundObjective(Objective):
    """A StepModel (or SequenceModel) trained on a bound: the loss is the negative
    bound per time step over the batch (a ratio of sums, ``batch_loss``) under
    ``options`` (``seqvi.core.ObjectiveOptions``: the bound, its particles and
    resampling, free bits), with the KL term weighted by beta(step) when
    ``options.kl_anneal_steps`` > 0 (linear from ``kl_anneal_start`` to 1), and
    over chunks of ``options.tbptt_length`` steps with states carried between
    them when it is > 0 (truncated BPTT, ``chunked_batch_bounds``).
    Batches: {'xs': [B, T, D], 'lengths': [B], optional 'inputs': [B, T, ...]}.

    Evaluation reports ``eval_bound`` (default: the training bound) with
    ``options.eval_num_particles`` particles per time step (``<bound><K>_per_step``,
    total over the split / scored steps), per sequence, and the mean over
    sequences of bound / length.

    Raises:
      ValueError: an unknown bound, FIVO for a model that is not a StepModel, a
        non-positive particle count, free bits with a bound other than the ELBO.
    """

    model: Any
    options: ObjectiveOptions = ObjectiveOptions()
    eval_bound: str | None = None

    def __post_init__(self):
        o = self.options
        if o.bound not in BOUNDS:
            raise ValueError(f"bound must be one of {sorted(BOUNDS)}, got {o.bound!r}")
        if o.bound == "fivo" and not isinstance(self.model, StepModel):
            raise ValueError(f"bound 'fivo' needs a StepModel; {type(self.model).__name__} trains with 'elbo' or "
                             "'iwae'")
        if not isinstance(o.num_particles, int) or o.num_particles < 1:
            raise ValueError(f"num_particles must be a positive int, got {o.num_particles!r}")
        if o.free_bits and o.bound != "elbo":
            raise ValueError(f"free_bits applies to the 'elbo' bound only, got bound {o.bound!r}")
        if not isinstance(o.tbptt_length, int) or o.tbptt_length < 0:
            raise ValueError(f"tbptt_length must be a non-negative int (0: whole sequences), got {o.tbptt_length!r}")
        if o.tbptt_length and not isinstance(self.model, StepModel):
            raise ValueError(f"tbptt_length needs a StepModel; {type(self.model).__name__} scores whole sequences")

    def _bound_fn(self, name: str, num_particles: int, training: bool):
        if name == "elbo":
            kwargs = {"free_bits": self.options.free_bits} if training else {}
            if not training and num_particles != 1:
                kwargs["num_particles"] = num_particles
            return get_bound("elbo", **kwargs)
        kwargs = {"num_particles": num_particles}
        if name == "fivo":
            kwargs.update(resampling=self.options.resampling, ess_threshold=self.options.ess_threshold)
        return get_bound(name, **kwargs)

    def loss(self, params, batch, key, step):
        o = self.options
        particles = 1 if o.bound == "elbo" else o.num_particles  # the ELBO trains on one sample
        loss_fn = batch_loss(self._bound_fn(o.bound, o.num_particles, True), self.model,
                             chunk_length=o.tbptt_length, num_particles=particles)
        return annealed_loss(loss_fn, params, self.model.bound_batch(batch), key, step, o.kl_anneal_steps,
                             o.kl_anneal_start)

    @property
    def eval_name(self) -> str:
        """The bound the evaluation reports ('elbo', 'iwae' or 'fivo')."""
        return self.eval_bound or self.options.bound

    @property
    def eval_num_particles(self) -> int:
        """K, the particles of the evaluation's bound."""
        return self.options.eval_num_particles

    def eval_terms(self, params, batch, key):
        bound_fn = self._bound_fn(self.eval_name, self.eval_num_particles, False)
        batch = self.model.bound_batch(batch)
        values = batch_bounds(bound_fn, self.model, params, batch, key).bound
        lengths = batch["lengths"]
        real = lengths > 0
        return {"bound": jnp.where(real, values, 0.0), "num_steps": lengths, "num_sequences": real.astype(jnp.int32),
                "ratio": jnp.where(real, values / jnp.maximum(lengths, 1), 0.0)}

    @property
    def label(self) -> str:
        """'FIVO(16)', 'ELBO(1)'... the bound and its particles."""
        return f"{self.eval_name.upper()}({self.eval_num_particles})"

    @property
    def target(self) -> str:
        return f"{self.eval_name}{self.eval_num_particles}_per_step"

    def summarise(self, sums):
        name = f"{self.eval_name}{self.eval_num_particles}"
        return {f"{name}_per_step": sums["bound"] / sums["num_steps"],
                f"{name}_per_sequence": sums["bound"] / sums["num_sequences"],
                f"{name}_per_step_sequence_mean": sums["ratio"] / sums["num_sequences"],
                "num_steps": sums["num_steps"], "num_sequences": sums["num_sequences"]}

    def evaluation_objectives(self, num_particles):
        """ELBO(1), IWAE(K) and, for a StepModel, FIVO(K) on the same parameters."""
        names = ("elbo", "iwae", "fivo") if isinstance(self.model, StepModel) else ("elbo", "iwae")
        return [dataclasses.replace(self, eval_bound=n, options=dataclasses.replace(
            self.options, eval_num_particles=1 if n == "elbo" else num_particles)) for n in names]
