"""Memory-augmented dialogue models: the DNC encoder-decoder and VMED, the
variational memory encoder-decoder (Le et al. 2018), as pure functions.

DNC encoder-decoder: a DNC (``seqvi.nn.dnc.DNCCell``: LSTM controller, memory
of N slots of width W, K read heads) reads the context, writing its memory; a
second DNC cell, with its own weights, starts from the encoder's controller state
and memory and keeps writing and reading while it decodes:

  (h_t, M_t, r_t), o_t = DNC_dec((h_{t-1}, M_{t-1}, r_{t-1}), E y_{t-1}),
  p(y_t | y_{<t}, c) = softmax(W_o o_t).

VMED adds a latent z_t per decoding step whose prior is a mixture with one mode
per read head: read vector r_t^i = [mu_t^i, s_t^i] (W = 2 Z), sigma_t^i =
softplus(s_t^i) + 1e-4, and mode weights the normalised maximum read weights
pi_t^i = max_j w_t^{r,i}[j] / sum_k max_j w_t^{r,k}[j]:

  p(z_t | M_t) = sum_i pi_t^i N(mu_t^i, sigma_t^i^2)
  q(z_t | r_t, y_{<=t}) = N(mu_q, sigma_q^2) from [r_t, u_t], u_t = LSTM_U(u_{t-1}, E y_t)
  p(y_t | .) = softmax(W_o [o_t, z_t])

and is trained on the objective of the paper's equation (6),
sum_t [log p(y_t | .) - beta D_var(q(z_t) || p(z_t))] per response token, with
D_var = -log sum_i pi^i exp(-KL(q || N(mu^i, sigma^i^2))) (``seqvi.dist``) and
beta the KL annealing weight. With K = 1 the mixture is one Gaussian and D_var
its exact KL. At generation z_t is drawn from the prior. ``VMEDSteps`` exposes
the decoder as a StepModel, for ELBO, IWAE and FIVO with the exact mixture density.
"""

import dataclasses
from typing import Any, ClassVar, NamedTuple

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp

from seqvi import dist
from seqvi.models import parts
from seqvi.core import StepModel, StepOutput
from seqvi.nn import DiagGaussianHead, LSTMCell, masked_scan
from seqvi.nn.dnc import DNCCell
from seqvi.models.seq2seq import response_loss
from seqvi.nn.mlp import ConcatDense
from seqvi.models.registry import register
from seqvi.core import ObjectiveOptions
from seqvi.models.objectives import ResponseObjective, TrainAndEvaluate, TrainedByBounds, check_bound


class MemoryEncoded(NamedTuple):
    carry: Any  # the encoder DNC's carry (controller, memory, reads) after the context


@register("dnc", test_size=dict(embed_dim=6, hidden_dim=8, num_slots=4, word_size=5, num_reads=2), task="dialogue",
          data="tokens", dim_arg="vocab_size")
@dataclasses.dataclass(frozen=True)
class DNCSeq2Seq(parts.Networks):
    """Attributes: vocab_size; embed_dim; hidden_dim (controllers); num_slots N;
    word_size W; num_reads K."""

    vocab_size: int
    embed_dim: int = 64
    hidden_dim: int = 128
    num_slots: int = 16
    word_size: int = 32
    num_reads: int = 4

    loss_kind: ClassVar[str] = "NLL"

    def objective(self, options: ObjectiveOptions = ObjectiveOptions(bound="nll")) -> ResponseObjective:
        """The negative log-likelihood per response token ('nll')."""
        check_bound(type(self).__name__, options.bound, ("nll",))
        return ResponseObjective(self, options.kl_anneal_steps)

    def __post_init__(self):
        sizes = ("vocab_size", "embed_dim", "hidden_dim", "num_slots", "num_reads")
        parts.check_config(type(self).__name__, {n: getattr(self, n) for n in sizes}
                           | {"memory_word_size": self.memory_word_size})

    @property
    def memory_word_size(self) -> int:
        """W, the size of a memory word (and of a read vector)."""
        return self.word_size

    def _cell(self) -> DNCCell:
        return DNCCell(self.num_slots, self.memory_word_size, self.num_reads, self.hidden_dim, self.hidden_dim)

    @property
    def nets(self) -> dict[str, nn.Module]:
        return {"embed": nn.Embed(self.vocab_size, self.embed_dim), "encoder": self._cell(),
                "decoder": self._cell(), "output": ConcatDense(self.vocab_size)}

    def _example_inputs(self) -> dict:
        carry, e = self._cell().zero_carry(), jnp.zeros(self.embed_dim)
        return {"embed": (jnp.zeros((1,), jnp.int32),), "encoder": (carry, e), "decoder": (carry, e),
                "output": (jnp.zeros(self.hidden_dim),)}

    def init(self, key: jax.Array) -> dict:
        return parts.init_nets(self.nets, self._example_inputs(), key)


    def encode(self, params, context: jax.Array, length: jax.Array) -> MemoryEncoded:
        inputs = self.apply_net(params, "embed", context)
        return MemoryEncoded(masked_scan(self.nets["encoder"], params["encoder"], inputs, length)[0])

    def start(self, params, encoded: MemoryEncoded, key: jax.Array) -> Any:
        """The decoder's first carry (the key is for models that sample)."""
        del params, key
        return encoded.carry

    def _dnc_step(self, params, carry, token):
        return self.apply_net(params, "decoder", carry, self.apply_net(params, "embed", token))

    def decode_step(self, params, carry, token: jax.Array, encoded: MemoryEncoded) -> tuple[Any, jax.Array]:
        del encoded  # everything the decoder needs is in its memory
        carry, out = self._dnc_step(params, carry, token)
        return carry, self.apply_net(params, "output", out)

    def response_terms(self, params, context, context_length, response_in, response_out, response_length, key,
                       kl_weight=1.0) -> tuple[jax.Array, jax.Array]:
        """(log p(y_t | .) [Lr + 1], KL_t [Lr + 1]) with teacher forcing; no latent, no KL."""
        del response_length, key, kl_weight  # padded steps are masked by the loss
        encoded = self.encode(params, context, context_length)
        _, logits = jax.lax.scan(lambda c, tok: self.decode_step(params, c, tok, encoded), encoded.carry, response_in)
        log_p = jnp.take_along_axis(jax.nn.log_softmax(logits), response_out[:, None], axis=-1)[:, 0]
        return log_p, jnp.zeros_like(log_p)

    def loss(self, params, batch: dict, key: jax.Array, kl_weight=1.0, **unused) -> tuple[jax.Array, dict]:
        """-(sum_t log p(y_t | .) - beta KL_t) per response token (ratio of sums)."""
        del unused
        return response_loss(self, params, batch, key, kl_weight)


@register("vmed", test_size=dict(embed_dim=6, hidden_dim=8, num_slots=4, num_reads=3, latent_dim=2), task="dialogue",
          data="tokens", dim_arg="vocab_size")
@dataclasses.dataclass(frozen=True)
class VMED(DNCSeq2Seq):
    """VMED with ``num_reads`` = K mixture modes and latent size ``latent_dim``
    (the word size is 2 * latent_dim: each read vector holds a mode's mean and scale)."""

    latent_dim: int = 16
    word_size: int = 0  # not set: the memory word is 2 * latent_dim (memory_word_size)

    loss_kind: ClassVar[str] = "negative ELBO"

    def objective(self, options: ObjectiveOptions = ObjectiveOptions(bound="dvar")) -> TrainAndEvaluate:
        """'dvar': the paper's loss per response token (eq. 6, the KL to the
        mixture prior by D_var); 'elbo' / 'iwae' / 'fivo': that bound of the
        decoder as a StepModel (``VMEDSteps``, the exact mixture density) with
        ``options.num_particles``. Either way the evaluation (and the best
        parameters) use the paper's loss per token, and the evaluation binary
        also reports ELBO(1), IWAE(K) and FIVO(K) per token of ``VMEDSteps``."""
        check_bound("VMED", options.bound, ("dvar", "elbo", "iwae", "fivo"))
        paper = ResponseObjective(self, options.kl_anneal_steps)
        steps = VMEDSteps(self)
        train = paper if options.bound == "dvar" else TrainedByBounds.objective(steps, options)
        evaluation = TrainedByBounds.objective(
            steps, dataclasses.replace(options, bound="elbo", free_bits=0.0, kl_anneal_steps=0))
        return TrainAndEvaluate(train, paper, extra=(evaluation,))

    def __post_init__(self):
        if self.word_size not in (0, 2 * self.latent_dim):
            raise ValueError(f"VMED.word_size is 2 * latent_dim = {2 * self.latent_dim} (a mode's mean and scale); "
                             f"leave it out, got {self.word_size}")
        super().__post_init__()

    @property
    def memory_word_size(self) -> int:
        """2 * latent_dim: each read vector holds a mode's mean and scale."""
        return 2 * self.latent_dim

    @property
    def nets(self) -> dict[str, nn.Module]:
        return dict(super().nets, response_rnn=LSTMCell(self.hidden_dim),
                    posterior=DiagGaussianHead(self.latent_dim, hidden=(self.hidden_dim,)))

    def _example_inputs(self) -> dict:
        z, h = jnp.zeros(self.latent_dim), jnp.zeros(self.hidden_dim)
        reads = jnp.zeros(self.num_reads * self.memory_word_size)
        return dict(super()._example_inputs(), output=(h, z),
                    response_rnn=(LSTMCell(self.hidden_dim).zero_carry(), jnp.zeros(self.embed_dim)),
                    posterior=(reads, h))

    def prior(self, memory_carry) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(log pi [K], means [K, Z], scales [K, Z]) of p(z_t | M_t) from the carry."""
        _, state, reads = memory_carry
        means, raw = jnp.split(reads, 2, axis=-1)
        peak = jnp.max(state.read_weights, axis=-1)  # [K]
        log_pi = jnp.log(peak + 1e-8) - jnp.log(jnp.sum(peak + 1e-8))
        return log_pi, means, jax.nn.softplus(raw) + 1e-4

    def start(self, params, encoded: MemoryEncoded, key: jax.Array) -> Any:
        return (encoded.carry, key, jnp.zeros((), jnp.int32))

    def decode_step(self, params, carry, token: jax.Array, encoded: MemoryEncoded) -> tuple[Any, jax.Array]:
        """Generation: z_t from the prior mixture (the key and step ride in the carry)."""
        del encoded
        memory_carry, key, t = carry
        memory_carry, out = self._dnc_step(params, memory_carry, token)
        log_pi, means, scales = self.prior(memory_carry)
        k_mode, k_z = jax.random.split(jax.random.fold_in(key, t))
        mode = jax.random.categorical(k_mode, log_pi)
        z = means[mode] + scales[mode] * jax.random.normal(k_z, means.shape[-1:])
        return (memory_carry, key, t + 1), self.apply_net(params, "output", out, z)

    def response_terms(self, params, context, context_length, response_in, response_out, response_length, key,
                       kl_weight=1.0) -> tuple[jax.Array, jax.Array]:
        """(log p(y_t | z_t, .), D_var(q(z_t) || p(z_t))) per step, z_t ~ q."""
        del response_length, kl_weight
        encoded = self.encode(params, context, context_length)
        # u_t summarises the ground truth y_{<=t} (response_out[t] is y_t).
        _, u = masked_scan(self.nets["response_rnn"], params["response_rnn"], self.apply_net(params, "embed", response_out))

        def body(carry, inp):
            token, target, u_t, k = inp
            carry, out = self._dnc_step(params, carry, token)
            log_pi, means, scales = self.prior(carry)
            q_mean, q_scale = self.apply_net(params, "posterior", carry[2].reshape(-1), u_t)
            z = q_mean + q_scale * jax.random.normal(k, q_mean.shape)
            logits = self.apply_net(params, "output", out, z)
            log_p = jax.nn.log_softmax(logits)[target]
            return carry, (log_p, dist.kl_gaussian_mog_dvar(q_mean, q_scale, log_pi, means, scales))

        keys = jax.random.split(key, response_in.shape[0])
        _, (log_p, kl) = jax.lax.scan(body, encoded.carry, (response_in, response_out, u, keys))
        return log_p, kl


class _DecoderState(NamedTuple):
    carry: Any  # the decoder DNC's carry (controller, memory, reads)
    token: jax.Array  # [] the previous word y_{t-1}


@dataclasses.dataclass(frozen=True)
class VMEDSteps(StepModel):
    """VMED's decoder as a StepModel over its latent sequence z_{1:T}, so that
    ELBO, IWAE and FIVO (``seqvi.bounds``) apply to it; beyond the paper.

    One sequence is one response: x_t is the one-hot [V] of y_t (<eos> included),
    ``length`` the number of scored steps, and ``inputs`` a dict with the context
    ids repeated on every step, {'context': [T, Lc], 'context_length': [T]}
    (``step_inputs`` builds it). ``context`` encodes the dialogue context into the
    memory and runs the posterior's LSTM over y. Per step, with the previous word:

      prior     p(z_t | .) = the memory's mixture (exact log density, not D_var)
      proposal  q(z_t | r_t, u_t) = VMED's posterior
      emission  p(y_t | z_t, .) = softmax(W_o [o_t, z_t])
      update    the DNC step with y_t, next time

    ``go_id`` is the start token the decoder reads before y_1 (default 1, the
    dialogue vocabulary's <go>: pass ``vocab.go_id``); ValueError unless it is an
    int in [0, vocab_size).
    """

    model: VMED
    go_id: int = 1

    def bound_batch(self, batch: dict) -> dict:
        """A dialogue batch as the bounds' batch (``step_inputs``)."""
        return step_inputs(batch, self.model.vocab_size)

    def __post_init__(self):
        if isinstance(self.go_id, bool) or not isinstance(self.go_id, int) \
                or not 0 <= self.go_id < self.model.vocab_size:
            raise ValueError(f"VMEDSteps.go_id must be a token id in [0, {self.model.vocab_size}) "
                             f"(the model's vocab_size), got {self.go_id!r}")

    def initial_state(self, params) -> _DecoderState:
        del params
        return _DecoderState(self.model._cell().zero_carry(), jnp.asarray(self.go_id, jnp.int32))

    def context(self, params, xs, length, inputs=None):
        """Per step: the encoder's memory (used at t = 0), whether t = 0, and u_t."""
        del length
        if inputs is None or set(inputs) != {"context", "context_length"}:
            raise ValueError("VMEDSteps needs inputs {'context': [T, Lc], 'context_length': [T]} (step_inputs)")
        m = self.model
        encoded = m.encode(params, inputs["context"][0], inputs["context_length"][0])
        _, u = masked_scan(m.nets["response_rnn"], params["response_rnn"], m.apply_net(params, "embed", jnp.argmax(xs, -1)))
        steps = xs.shape[0]
        start = jax.tree.map(lambda a: jnp.broadcast_to(a, (steps,) + a.shape), encoded.carry)
        return {"start": start, "first": jnp.arange(steps) == 0, "u": u}

    def _read(self, params, state: _DecoderState, ctx_t):
        carry = jax.tree.map(lambda a, b: jnp.where(ctx_t["first"], a, b), ctx_t["start"], state.carry)
        return self.model._dnc_step(params, carry, state.token)

    def _prior(self, carry) -> distrax.Distribution:
        log_pi, means, scales = self.model.prior(carry)
        return distrax.MixtureSameFamily(distrax.Categorical(logits=log_pi),
                                         distrax.MultivariateNormalDiag(means, scales))

    def step(self, params, state, key, x_t, ctx_t) -> StepOutput:
        m = self.model
        carry, out = self._read(params, state, ctx_t)
        q_mean, q_scale = m.apply_net(params, "posterior", carry[2].reshape(-1), ctx_t["u"])
        z, log_qz = dist.diag_gaussian(q_mean, q_scale).sample_and_log_prob(seed=key)
        log_pz = self._prior(carry).log_prob(z)
        log_px = jnp.sum(x_t * jax.nn.log_softmax(m.apply_net(params, "output", out, z)))
        return StepOutput(_DecoderState(carry, jnp.argmax(x_t).astype(jnp.int32)), log_px, log_pz, log_qz)


def step_inputs(batch: dict, vocab_size: int) -> dict:
    """A dialogue batch (the padded id arrays of the dialogue data: context,
    context_length, response_out, response_length, ...) as the bounds' batch
    for ``VMEDSteps``: xs [B, T, V] one-hot responses, lengths, and inputs."""
    steps = batch["response_out"].shape[1]
    tile = lambda a: jnp.repeat(jnp.asarray(a)[:, None], steps, axis=1)  # noqa: E731
    return {"xs": jax.nn.one_hot(batch["response_out"], vocab_size), "lengths": jnp.asarray(batch["response_length"]),
            "inputs": {"context": tile(batch["context"]), "context_length": tile(batch["context_length"])}}
