"""The StepModel contract shared by every state-space-shaped model.

A StepModel is four pure functions over an explicit ``params`` pytree, for ONE
sequence and ONE particle:

  prior(params, state, ctx_t)             -> p(z_t | state)            (transition)
  proposal(params, state, ctx_t, x_t)     -> q(z_t | state, x_t, ctx)   (posterior)
  emission(params, state, z_t, ctx_t)     -> p(x_t | state, z_t)
  update(params, state, z_t, x_t, ctx_t)  -> next state                 (deterministic)

plus ``initial_state(params)`` and ``context(params, xs, length, inputs)``, which
runs once per sequence before the time scan and returns a pytree with a leading
time axis (or None). ``step`` combines them into one particle's move and the
three log-densities that make its incremental importance weight

  log w_t = log p(x_t | .) + log p(z_t | .) - log q(z_t | .).

The bounds (``seqvi.bounds``) and the SMC engine (``seqvi.smc``) only ever call
``initial_state``, ``context`` and ``step``, so a model may override ``step``
when it can share work between the four functions.

Models whose likelihood of x_t depends on the whole latent sequence (STORN's
VRAE, with a bidirectional generating RNN) have no sequential importance weight;
they are ``SequenceModel``s, which give the bounds per-step terms of whole-sequence
samples instead, so ELBO and IWAE (not FIVO) apply to them unchanged.
"""

from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp

Params = Any
State = Any


class StepOutput(NamedTuple):
    state: State
    log_px: jax.Array  # log p(x_t | state, z_t)
    log_pz: jax.Array  # log p(z_t | state)
    log_qz: jax.Array  # log q(z_t | state, x_t)


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

    def context(self, params: Params, xs: jax.Array, length: jax.Array, inputs=None) -> Any:
        """Per-sequence context with a leading time axis; none by default."""
        del params, xs, length
        return inputs

    def prior(self, params: Params, state: State, ctx_t: Any):
        raise NotImplementedError

    def proposal(self, params: Params, state: State, ctx_t: Any, x_t: jax.Array):
        raise NotImplementedError

    def emission(self, params: Params, state: State, z_t: jax.Array, ctx_t: Any):
        raise NotImplementedError

    def update(self, params: Params, state: State, z_t: jax.Array, x_t: jax.Array, ctx_t: Any) -> State:
        raise NotImplementedError

    def step(self, params: Params, state: State, key: jax.Array, x_t: jax.Array, ctx_t: Any) -> StepOutput:
        """z_t ~ q(. | state, x_t); the three log-densities at z_t; the next state."""
        z, log_qz = self.proposal(params, state, ctx_t, x_t).sample_and_log_prob(seed=key)
        log_pz = self.prior(params, state, ctx_t).log_prob(z)
        log_px = self.emission(params, state, z, ctx_t).log_prob(x_t)
        return StepOutput(self.update(params, state, z, x_t, ctx_t), log_px, log_pz, log_qz)

    def generate(
        self,
        params: Params,
        key: jax.Array,
        num_steps: int,
        state: State | None = None,
        ctx: Any = None,
        emission_mode: str = "sample",
    ) -> tuple[jax.Array, jax.Array]:
        """Ancestral sampling z_t ~ p(z_t | state), x_t ~ p(x_t | state, z_t).

        Starts from ``state`` (default: ``initial_state``). ``emission_mode``:
        'sample' draws x_t, 'mean' uses E[x_t] (and feeds it back).
        Returns (xs [num_steps, D], zs [num_steps, Z]).
        """
        if emission_mode not in ("sample", "mean"):
            raise ValueError(f"emission_mode must be 'sample' or 'mean', got {emission_mode!r}")
        if state is None:
            state = self.initial_state(params)

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

    def continue_sequence(
        self,
        params: Params,
        key: jax.Array,
        prefix: jax.Array,
        length: jax.Array,
        num_steps: int,
        num_particles: int = 16,
        emission_mode: str = "sample",
    ) -> jax.Array:
        """Continue ``prefix`` [T, D] (valid up to ``length``) by ``num_steps`` steps.

        A particle filter (proposal q, systematic resampling) conditions the
        state on the prefix; one particle is drawn by its final weight and the
        continuation is sampled from the generative model. Returns [num_steps, D].
        """
        from seqvi.smc import resampling, smc  # the engine imports this module

        k_filter, k_pick, k_gen = jax.random.split(key, 3)
        r = smc.run(
            self, params, prefix, length, k_filter,
            num_particles=num_particles, resampler=resampling.systematic, ess_threshold=0.5,
        )
        i = jax.random.categorical(k_pick, r.final_log_weights)
        state = jax.tree.map(lambda s: s[i], r.final_states)
        xs, _ = self.generate(params, k_gen, num_steps, state=state, emission_mode=emission_mode)
        return xs



class SequenceTerms(NamedTuple):
    """Per-step terms of ``num_particles`` whole-sequence samples z^n ~ q(z_{1:T} | x),
    each zero on padded steps."""

    log_px: jax.Array  # [N, T] log p(x_t | z^n)
    log_pz: jax.Array  # [N, T] log p(z_t^n | z_{<t}^n)
    log_qz: jax.Array  # [N, T] log q(z_t^n | x)
    kl: jax.Array  # [T] the exact KL(q || p) split over steps (sums to the whole KL)


class SequenceModel:
    """A latent-variable model over a whole sequence with an explicit KL.

    Subclasses implement ``sequence_terms(params, xs, length, key, num_particles,
    inputs=None) -> SequenceTerms``; ``seqvi.bounds.elbo`` and ``iwae`` accept
    them like StepModels.
    """

    def sequence_terms(
        self, params: Params, xs: jax.Array, length: jax.Array, key: jax.Array, num_particles: int, inputs=None
    ) -> SequenceTerms:
        raise NotImplementedError
