"""Sequence-to-sequence models for dialogue: an LSTM encoder-decoder (Sutskever et
al. 2014), optionally with attention (Luong et al. 2015, 'general' score), as pure
functions that the CVAE, VMED and LocalGAN reuse.

For a context c_{1:L} (token ids, right-padded, ``length`` valid) and a response
w_{1:n}:

  encoder   e_s = LSTM(e_{s-1}, E c_s), s <= length; the decoder starts from the
            encoder's carry at s = length
  decoder   h_t = LSTM(h_{t-1}, E w_{t-1}), w_0 = <go>
  attention a_t = softmax_s(h_t^T W_a e_s) over s <= length,  u_t = sum_s a_ts e_s,
            o_t = tanh(W_c [u_t, h_t])            (without attention: o_t = h_t)
  output    p(w_t | w_{<t}, c) = softmax(W_o o_t)

The training loss is the negative log-likelihood per response token (``<eos>``
included), a ratio of sums over the batch, with teacher forcing: the decoder
reads <go> w_1 .. w_n and predicts w_1 .. w_n <eos> (``seqvi.data.dialogue.Batch``).
One embedding matrix E serves encoder and decoder.
"""

import dataclasses
from typing import Any, ClassVar, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from seqvi.models import parts
from seqvi.nn import LSTMCell, masked_scan
from seqvi.nn.mlp import ConcatDense
from seqvi.models.registry import register
from seqvi.core import ObjectiveOptions
from seqvi.models.objectives import ResponseObjective, check_bound


class Encoded(NamedTuple):
    states: jax.Array  # [L, H] encoder outputs (zero past the length)
    mask: jax.Array  # [L] bool, True for valid context positions
    carry: Any  # the encoder's LSTM carry at the last valid position


def encode_context(model: parts.Networks, params, context: jax.Array, length: jax.Array) -> Encoded:
    """The encoder LSTM (net 'encoder', over the embeddings of net 'embed') run
    over one context [L] of token ids with ``length`` valid."""
    carry, states = masked_scan(model.nets["encoder"], params["encoder"], model.apply_net(params, "embed", context),
                                length)
    return Encoded(states, jnp.arange(context.shape[0]) < length, carry)


@register("seq2seq", test_size=dict(embed_dim=6, hidden_dim=8), task="dialogue", data="tokens", dim_arg="vocab_size")
@dataclasses.dataclass(frozen=True)
class Seq2Seq(parts.Networks):
    """Attributes: vocab_size; embed_dim; hidden_dim (both LSTMs); attention."""

    vocab_size: int
    embed_dim: int = 64
    hidden_dim: int = 128
    attention: bool = False

    loss_kind: ClassVar[str] = "NLL"

    def __post_init__(self):
        parts.check_config(type(self).__name__, {n: getattr(self, n) for n in ("vocab_size", "embed_dim", "hidden_dim")})

    def objective(self, options: ObjectiveOptions = ObjectiveOptions(bound="nll")) -> ResponseObjective:
        """The negative log-likelihood per response token ('nll')."""
        check_bound(type(self).__name__, options.bound, ("nll",))
        return ResponseObjective(self, options.kl_anneal_steps)

    @property
    def nets(self) -> dict[str, nn.Module]:
        return self.seq2seq_nets()

    def seq2seq_nets(self) -> dict[str, nn.Module]:
        """The encoder-decoder's nets (a subclass's ``nets`` may add its own)."""
        nets = {
            "embed": nn.Embed(self.vocab_size, self.embed_dim),
            "encoder": LSTMCell(self.hidden_dim),
            "decoder": LSTMCell(self.hidden_dim),
            "output": nn.Dense(self.vocab_size),
        }
        if self.attention:
            nets["score"] = nn.Dense(self.hidden_dim, use_bias=False)
            nets["combine"] = ConcatDense(self.hidden_dim)
        return nets

    def init(self, key: jax.Array) -> dict:
        h, e = self.hidden_dim, self.embed_dim
        carry = self.nets["encoder"].zero_carry()
        example = {"embed": (jnp.zeros((1,), jnp.int32),), "encoder": (carry, jnp.zeros(e)),
                   "decoder": (carry, jnp.zeros(e)), "output": (jnp.zeros(h),), "score": (jnp.zeros(h),),
                   "combine": (jnp.zeros(h), jnp.zeros(h))}
        return parts.init_nets(self.seq2seq_nets(), example, key)


    # ---- pure functions for one sequence -------------------------------------------
    def encode(self, params, context: jax.Array, length: jax.Array) -> Encoded:
        """Encoder states of one context [L] of token ids with ``length`` valid."""
        return encode_context(self, params, context, length)

    def start(self, params, encoded: Encoded, key: jax.Array) -> Any:
        """The decoder's first carry: the encoder's (the key is for models that sample)."""
        del params, key
        return encoded.carry

    def decoder_output(self, params, h: jax.Array, encoded: Encoded) -> jax.Array:
        """o_t: the attentional hidden state (or h_t without attention)."""
        if not self.attention:
            return h
        scores = encoded.states @ self.apply_net(params, "score", h)  # [L]: e_s^T W_a h
        weights = jax.nn.softmax(jnp.where(encoded.mask, scores, -jnp.inf))
        return jnp.tanh(self.apply_net(params, "combine", weights @ encoded.states, h))

    def decode_step(self, params, carry, token: jax.Array, encoded: Encoded) -> tuple[Any, jax.Array]:
        """One decoder step from the previous token: (next carry, logits [V])."""
        carry, h = self.apply_net(params, "decoder", carry, self.apply_net(params, "embed", token))
        return carry, self.apply_net(params, "output", self.decoder_output(params, h, encoded))

    def response_terms(self, params, context, context_length, response_in, response_out, response_length, key,
                       kl_weight=1.0) -> tuple[jax.Array, jax.Array]:
        """(log p(w_t | w_{<t}, c) [Lr + 1], zero KL terms) with teacher forcing."""
        del response_length, key, kl_weight  # padded steps are masked by the loss
        encoded = self.encode(params, context, context_length)

        def body(carry, token):
            return self.decode_step(params, carry, token, encoded)

        _, logits = jax.lax.scan(body, encoded.carry, response_in)
        log_p = jnp.take_along_axis(jax.nn.log_softmax(logits), response_out[:, None], axis=-1)[:, 0]
        return log_p, jnp.zeros_like(log_p)

    def loss(self, params, batch: dict, key: jax.Array, kl_weight=1.0, **unused) -> tuple[jax.Array, dict]:
        """Negative log-likelihood per response token (ratio of sums), and perplexity."""
        del unused
        return response_loss(self, params, batch, key, kl_weight)


def response_loss(model, params, batch: dict, key: jax.Array, kl_weight=1.0) -> tuple[jax.Array, dict]:
    """-(sum_t log p(y_t | .) - beta sum_t KL_t) / (number of response tokens), over a
    batch, from ``model.response_terms`` (per-step log-likelihoods and KL terms of one
    pair); steps past a response's length count for nothing."""
    keys = jax.random.split(key, batch["context"].shape[0])
    log_p, kl = jax.vmap(lambda c, cl, ri, ro, rl, k: model.response_terms(params, c, cl, ri, ro, rl, k, kl_weight))(
        batch["context"], batch["context_length"], batch["response_in"], batch["response_out"],
        batch["response_length"], keys)
    mask = jnp.arange(log_p.shape[1])[None, :] < batch["response_length"][:, None]
    tokens = batch["response_length"].sum()
    nll = -jnp.where(mask, log_p, 0.0).sum() / tokens
    kl = jnp.where(mask, kl, 0.0).sum() / tokens
    return nll + kl_weight * kl, {"nll_per_token": nll, "kl_per_token": kl, "perplexity": jnp.exp(nll)}
