"""The contracts: what the engine, the bounds and the trainer ask of a model.

This module imports nothing else from seqvi (an import-linter contract in
pyproject.toml checks it), so every other layer can depend on it:
core <- smc <- bounds <- models <- train <- experiments.

**StepModel** (every state-space-shaped model): four pure functions over an
explicit ``params`` pytree, for ONE sequence and ONE particle,

  prior(params, state, ctx_t)             -> p(z_t | state)            (transition)
  proposal(params, state, ctx_t, x_t)     -> q(z_t | state, x_t, ctx)   (posterior)
  emission(params, state, z_t, ctx_t)     -> p(x_t | state, z_t)
  update(params, state, z_t, x_t, ctx_t)  -> next state                 (deterministic)

plus ``initial_state(params)`` and ``context(params, xs, length, inputs)``, which
runs once per sequence before the time scan and returns a pytree with a leading
time axis (or None); ``chunk_context`` is its form for one chunk of a longer
sequence, carrying what the next chunk needs (truncated BPTT). ``step`` combines them into one particle's move and the
three log-densities of its incremental importance weight

  log w_t = log p(x_t | .) + log p(z_t | .) - log q(z_t | .).

The engine (``seqvi.smc``) only calls ``initial_state``, ``context`` and
``step``, so a model may override ``step`` when it can share work.

**SequenceModel**: a model whose likelihood of x_t depends on the whole latent
sequence (STORN's VRAE); it gives the bounds per-step terms of whole-sequence
samples, so ELBO and IWAE (not FIVO) apply.

**Objective**: what the trainer and the evaluators see of any trainable thing:
a pure ``loss(params, batch, key, step) -> (loss, metrics)`` and pure
per-example evaluation terms that ``summarise`` turns into the figures it
reports. Step-dependent weights (KL annealing) are schedules inside the
objective. Every model builds its objectives (``model.objective(...)``), so
nothing outside a model branches on what kind of model it is.

**generate** has one meaning across models: ancestral sampling from the
generative model, returning ``(xs [num_steps, D], zs [num_steps, Z])`` where xs
are draws of x_t (``emission_mode='sample'``) or the emission means E[x_t]
(``'mean'``, fed back where the model conditions on past x).
"""

import abc
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

Params = Any
State = Any
Batch = Mapping[str, Any]
Schedule = Callable[[jax.Array], jax.Array]  # step -> weight (for example KL annealing)

EMISSION_MODES = ("sample", "mean")


def check_emission_mode(emission_mode: str) -> None:
    """Raise ValueError unless ``emission_mode`` is 'sample' or 'mean'."""
    if emission_mode not in EMISSION_MODES:
        raise ValueError(f"emission_mode must be 'sample' or 'mean', got {emission_mode!r}")


class StepOutput(NamedTuple):
    state: State
    log_px: Float[Array, ""]  # log p(x_t | state, z_t)
    log_pz: Float[Array, ""]  # log p(z_t | state)
    log_qz: Float[Array, ""]  # log q(z_t | state, x_t)


class StepModel:
    """Base class: subclasses implement the four functions and ``initial_state``.

    ``imputable`` says whether ``context`` feeds only the proposal, so that SMC
    can impute missing steps by sampling x_t from the emission (see
    ``seqvi.imputation``); a model whose context holds parts of the generative
    model computed from x (SRNN's d_t) sets it False.
    """

    imputable: ClassVar[bool] = True

    def initial_state(self, params: Params) -> State:
        raise NotImplementedError

    def context(self, params: Params, xs: Float[Array, "T D"], length: Int[Array, ""], inputs=None) -> Any:
        """Per-sequence context with a leading time axis; the inputs by default."""
        del params, xs, length
        return inputs

    def initial_context_carry(self, params: Params) -> Any:
        """What ``chunk_context`` carries into a sequence's first chunk (None by default)."""
        del params
        return None

    def chunk_context(self, params: Params, xs: Float[Array, "T D"], length: Int[Array, ""], inputs: Any,
                      carry: Any) -> tuple[Any, Any]:
        """(context of one chunk of a longer sequence, carry for the next chunk), for
        truncated backpropagation through time (``seqvi.smc.run(carry=...)``).

        Default: the chunk's own ``context`` and nothing carried, which is exact
        for contexts that read only their step's inputs and truncates a backward
        RNN's summary of the future at the chunk's end. A model whose context holds
        a forward recursion over x (SRNN's d_t) carries its final state."""
        del carry
        return self.context(params, xs, length, inputs), None

    def bound_batch(self, batch: Batch) -> Batch:
        """A task's batch as the bounds' {'xs': [B, T, D], 'lengths': [B], optional
        'inputs'} (unchanged by default)."""
        return batch

    def generation_context(self, params: Params, inputs: Any, num_steps: int) -> Any:
        """The context ``generate`` feeds the prior and emission when there are no
        observations: the inputs u_{1:num_steps} (or None) by default."""
        del params, num_steps
        return inputs

    def prior(self, params: Params, state: State, ctx_t: Any):
        raise NotImplementedError

    def proposal(self, params: Params, state: State, ctx_t: Any, x_t: Float[Array, " D"]):
        raise NotImplementedError

    def emission(self, params: Params, state: State, z_t: Float[Array, " Z"], ctx_t: Any):
        raise NotImplementedError

    def update(self, params: Params, state: State, z_t: Float[Array, " Z"], x_t: Float[Array, " D"],
               ctx_t: Any) -> State:
        raise NotImplementedError

    def step(self, params: Params, state: State, key: jax.Array, x_t: Float[Array, " D"], ctx_t: Any) -> StepOutput:
        """z_t ~ q(. | state, x_t); the three log-densities at z_t; the next state."""
        z, log_qz = self.proposal(params, state, ctx_t, x_t).sample_and_log_prob(seed=key)
        log_pz = self.prior(params, state, ctx_t).log_prob(z)
        log_px = self.emission(params, state, z, ctx_t).log_prob(x_t)
        return StepOutput(self.update(params, state, z, x_t, ctx_t), log_px, log_pz, log_qz)

    def continuation_state(self, params: Params, state: State, xs: Float[Array, "T D"],
                           length: Int[Array, ""], inputs: Any = None) -> State:
        """The state ``generate`` continues from after a particle filter over
        ``xs[:length]`` (with its ``inputs``) ended in particle state ``state`` (the
        particle state itself by default; SRNN adds its deterministic d_length and
        x_length)."""
        del params, xs, length, inputs
        return state

    def generate(self, params: Params, key: jax.Array, num_steps: int, *, inputs: Any = None,
                 emission_mode: str = "sample", state: State | None = None
                 ) -> tuple[Float[Array, "num_steps D"], Float[Array, "num_steps Z"]]:
        """Ancestral sampling z_t ~ p(z_t | state), x_t ~ p(x_t | state, z_t).

        Starts from ``state`` (default: ``initial_state``). ``emission_mode``:
        'sample' draws x_t, 'mean' uses E[x_t] (and feeds it back). ``inputs``:
        per-step inputs u_t with leading axis ``num_steps`` for models that take them.
        Returns (xs [num_steps, D], zs [num_steps, Z]).
        """
        check_emission_mode(emission_mode)
        if state is None:
            state = self.initial_state(params)
        ctx = self.generation_context(params, inputs, num_steps)

        def body(state, inp):
            key, ctx_t = inp
            kz, kx = jax.random.split(key)
            z = self.prior(params, state, ctx_t).sample(seed=kz)
            px = self.emission(params, state, z, ctx_t)
            x = px.sample(seed=kx) if emission_mode == "sample" else px.mean()
            x = x.astype(jnp.result_type(float))
            return self.update(params, state, z, x, ctx_t), (x, z)

        keys = jax.random.split(key, num_steps)
        _, (xs, zs) = jax.lax.scan(body, state, (keys, ctx))
        return xs, zs


class SequenceTerms(NamedTuple):
    """Per-step terms of ``num_particles`` whole-sequence samples z^n ~ q(z_{1:T} | x),
    each zero on padded steps."""

    log_px: Float[Array, "N T"]  # log p(x_t | z^n)
    log_pz: Float[Array, "N T"]  # log p(z_t^n | z_{<t}^n)
    log_qz: Float[Array, "N T"]  # log q(z_t^n | x)
    kl: Float[Array, " T"]  # the exact KL(q || p) split over steps (sums to the whole KL)


class SequenceModel:
    """A latent-variable model over a whole sequence with an explicit KL.

    Subclasses implement ``sequence_terms(params, xs, length, key, num_particles,
    inputs=None) -> SequenceTerms``; ``seqvi.bounds.elbo`` and ``iwae`` accept
    them like StepModels.
    """

    def bound_batch(self, batch: Batch) -> Batch:
        """A task's batch as the bounds' batch (unchanged by default)."""
        return batch

    def sequence_terms(
        self, params: Params, xs: Float[Array, "T D"], length: Int[Array, ""], key: jax.Array,
        num_particles: int, inputs=None,
    ) -> SequenceTerms:
        raise NotImplementedError


class Objective(abc.ABC):
    """One trainable thing as the trainer and evaluators see it.

    ``loss`` is pure and jit-compatible; ``eval_terms`` gives per-example
    values of one batch (each a [B] array, summed over the split in float64 on
    the host), and ``summarise`` turns the split's sums into the reported
    figures (ratios of sums). ``target`` names the summary the trainer keeps the
    best parameters by (higher is better).
    """

    @abc.abstractmethod
    def loss(self, params: Params, batch: Batch, key: jax.Array, step: Int[Array, ""]
             ) -> tuple[Float[Array, ""], dict[str, jax.Array]]:
        """(scalar loss to minimise, metrics) on one training batch at ``step``."""

    @abc.abstractmethod
    def eval_terms(self, params: Params, batch: Batch, key: jax.Array) -> dict[str, Float[Array, " B"]]:
        """Per-example terms of one evaluation batch; padded rows must be zero."""

    @abc.abstractmethod
    def summarise(self, sums: dict[str, float]) -> dict[str, float]:
        """The reported figures from the split's sums of ``eval_terms``."""

    @property
    @abc.abstractmethod
    def target(self) -> str:
        """The key of ``summarise`` that is higher for better parameters."""

    #: The bound an evaluation with this objective reports ('elbo', 'iwae' or
    #: 'fivo', as ``--bounds`` names them), or None for a model's own figures.
    eval_name: ClassVar[str | None] = None

    @property
    def label(self) -> str:
        """How reports name this objective's figures (default: its class name)."""
        return type(self).__name__

    def evaluation_objectives(self, num_particles: int) -> list["Objective"]:
        """What an evaluation binary reports for this model with ``num_particles``
        particles (default: this objective alone)."""
        del num_particles
        return [self]


# ---- optional capabilities of a model: the pipeline asks for them with isinstance ----------
@runtime_checkable
class ChecksLength(Protocol):
    """A model that needs sequences of a least length (GTM-SM memorises its first
    ``memory_length`` steps and predicts the rest)."""

    def check_length(self, num_steps: int) -> None:
        """ValueError unless sequences of ``num_steps`` steps can be trained on."""


@runtime_checkable
class Reconstructs(Protocol):
    """A model that denoises a whole sequence through its recognition model
    (STORN's VRAE and VOSP; Bayer & Osendorfer, section 5.2)."""

    def reconstruct(self, params: Params, xs: Float[Array, "T D"], length: Int[Array, ""],
                    mode: str = "mean") -> Float[Array, "T D"]:
        """[T, D]: the mean (or mode) of p(x | z*), z* the mode of the recognition model."""


@runtime_checkable
class FitsToData(Protocol):
    """A dialogue model with constants set from the training pairs before training
    (LocalGAN's word vectors, standardisation and DBM)."""

    def fit_to_data(self, params: Params, key: jax.Array, word_vectors: Float[Array, "V E"],
                    pairs: dict) -> Params:
        """``params`` with the constants fitted to ``pairs`` (encoded 'context',
        'context_length', 'response_out', 'response_length' [N, ...]) and the
        vocabulary's ``word_vectors``. ValueError for vectors of the wrong shape."""


@runtime_checkable
class HasDiscriminator(Protocol):
    """An adversarial model: its discriminator's parameter groups can step at
    their own learning rate (``config.discriminator_learning_rate``)."""

    discriminator_groups: tuple[str, ...]


class ConfigError(ValueError):
    """A user error in an experiment's config or its data (a missing or malformed
    file, a value no run can use): the binaries print it as one line."""


@dataclasses.dataclass(frozen=True)
class ObjectiveOptions:
    """What every model's ``objective(options)`` receives (from a config's flat
    fields); each model uses what applies to it and raises ValueError, naming
    what it supports, for a ``bound`` it cannot train with.

    bound: 'elbo' | 'iwae' | 'fivo' for models with a bound, or a model's own
      objective ('nll' for Seq2Seq, 'dvar' for VMED's paper loss...).
    num_particles, resampling, ess_threshold: of IWAE / FIVO while training.
    free_bits: lambda of the ELBO's free bits. kl_anneal_steps / kl_anneal_start:
      the KL weight beta(step) rises linearly from the start to 1.
    eval_num_particles: K of the periodic evaluation's bound.
    tbptt_length: train on chunks of this many steps with the particles' states
      carried from chunk to chunk and gradients truncated between them (thesis,
      section 5.4); 0: whole sequences. Evaluation always scores whole sequences.
    """

    bound: str = "fivo"
    num_particles: int = 4
    resampling: str = "systematic"
    ess_threshold: float = 0.5
    free_bits: float = 0.0
    kl_anneal_steps: int = 0
    kl_anneal_start: float = 0.0
    eval_num_particles: int = 16
    tbptt_length: int = 0
