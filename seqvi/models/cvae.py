"""Latent-variable dialogue baselines of the VMED paper, as pure functions:

CVAE (Zhao et al. 2017; one latent per response). With c the context LSTM's last
state and x the response LSTM's last state:

  prior network  p(z | c)    = N(mu_p(c), sigma_p(c)^2)
  recognition    q(z | c, y) = N(mu_q([c, x]), sigma_q([c, x])^2)
  decoder        h_0 = tanh(W [c, z]),  h_t = LSTM(h_{t-1}, E y_{t-1}),
                 p(y_t | .) = softmax(W_o [h_t, z])
  loss           -(sum_t log p(y_t | .) - beta KL(q || p)) per response token

VLSTM (a per-step Gaussian latent, VRNN-style; the VMED paper's variational
LSTM). The decoder starts from the context LSTM's carry; u_t = LSTM_U(u_{t-1}, E y_t)
reads the ground truth:

  prior      p(z_t | h_{t-1})      = N(mu_p(h_{t-1}), sigma_p(h_{t-1})^2)
  posterior  q(z_t | h_{t-1}, u_t) = N(mu_q([h_{t-1}, u_t]), sigma_q(.)^2)
  decoder    h_t = LSTM(h_{t-1}, [E y_{t-1}, z_t]),  p(y_t | .) = softmax(W_o [h_t, z_t])
  loss       -(sum_t log p(y_t | .) - beta KL_t) per response token

At generation the latents come from the priors. Both take the KL weight beta of
the trainer's annealing.
"""

import dataclasses
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from seqvi import dist
from seqvi.models import parts
from seqvi.models.seq2seq import Encoded, encode_context, response_loss
from seqvi.nn import DiagGaussianHead, LSTMCell, masked_scan
from seqvi.nn.mlp import ConcatDense
from seqvi.models.registry import register
from seqvi.core import ObjectiveOptions
from seqvi.models.objectives import ResponseObjective, check_bound


@dataclasses.dataclass(frozen=True)
class _LatentDialogue(parts.Networks):
    vocab_size: int
    embed_dim: int = 64
    hidden_dim: int = 128
    latent_dim: int = 32

    loss_kind: ClassVar[str] = "negative ELBO"

    def objective(self, options: ObjectiveOptions = ObjectiveOptions(bound="elbo")) -> ResponseObjective:
        """The negative ELBO per response token ('elbo'), its KL annealed."""
        check_bound(type(self).__name__, options.bound, ("elbo",))
        return ResponseObjective(self, options.kl_anneal_steps)

    def __post_init__(self):
        sizes = ("vocab_size", "embed_dim", "hidden_dim", "latent_dim")
        parts.check_config(type(self).__name__, {n: getattr(self, n) for n in sizes})


    def init(self, key: jax.Array) -> dict:
        return parts.init_nets(self.nets, self._example_inputs(), key)

    def encode(self, params, context: jax.Array, length: jax.Array) -> Encoded:
        """Encoder states of one context [L] of token ids with ``length`` valid."""
        return encode_context(self, params, context, length)

    def loss(self, params, batch: dict, key: jax.Array, kl_weight=1.0, **unused) -> tuple[jax.Array, dict]:
        del unused
        return response_loss(self, params, batch, key, kl_weight)


@register("cvae", test_size=dict(embed_dim=6, hidden_dim=8, latent_dim=3), task="dialogue", data="tokens",
          dim_arg="vocab_size")
@dataclasses.dataclass(frozen=True)
class CVAE(_LatentDialogue):
    """Attributes: vocab_size; embed_dim; hidden_dim (the three LSTMs); latent_dim."""

    @property
    def nets(self) -> dict[str, nn.Module]:
        h, z = self.hidden_dim, self.latent_dim
        return {"embed": nn.Embed(self.vocab_size, self.embed_dim), "encoder": LSTMCell(h),
                "response_encoder": LSTMCell(h), "decoder": LSTMCell(h), "prior": DiagGaussianHead(z, hidden=(h,)),
                "recognition": DiagGaussianHead(z, hidden=(h,)), "init": ConcatDense(h),
                "output": ConcatDense(self.vocab_size)}

    def _example_inputs(self) -> dict:
        h, z, e = jnp.zeros(self.hidden_dim), jnp.zeros(self.latent_dim), jnp.zeros(self.embed_dim)
        carry = LSTMCell(self.hidden_dim).zero_carry()
        return {"embed": (jnp.zeros((1,), jnp.int32),), "encoder": (carry, e), "response_encoder": (carry, e),
                "decoder": (carry, e), "prior": (h,), "recognition": (h, h), "init": (h, z), "output": (h, z)}

    def _decoder_start(self, params, encoded: Encoded, z):
        h0 = jnp.tanh(self.apply_net(params, "init", encoded.carry[1], z))
        return (jnp.zeros_like(h0), h0), z

    def start(self, params, encoded: Encoded, key: jax.Array) -> Any:
        """The decoder's first carry with z ~ p(z | c)."""
        mean, scale = self.apply_net(params, "prior", encoded.carry[1])
        return self._decoder_start(params, encoded, mean + scale * jax.random.normal(key, mean.shape))

    def decode_step(self, params, carry, token: jax.Array, encoded: Encoded) -> tuple[Any, jax.Array]:
        del encoded
        lstm, z = carry
        lstm, h = self.apply_net(params, "decoder", lstm, self.apply_net(params, "embed", token))
        return (lstm, z), self.apply_net(params, "output", h, z)

    def response_terms(self, params, context, context_length, response_in, response_out, response_length, key,
                       kl_weight=1.0) -> tuple[jax.Array, jax.Array]:
        """(log p(y_t | z, .) per step, the KL(q || p) on the first step, zeros after)."""
        del kl_weight
        encoded = self.encode(params, context, context_length)
        x, _ = masked_scan(self.nets["response_encoder"], params["response_encoder"],
                           self.apply_net(params, "embed", response_out), response_length)
        c = encoded.carry[1]
        p_mean, p_scale = self.apply_net(params, "prior", c)
        q_mean, q_scale = self.apply_net(params, "recognition", c, x[1])
        z = q_mean + q_scale * jax.random.normal(key, q_mean.shape)
        carry = self._decoder_start(params, encoded, z)
        _, logits = jax.lax.scan(lambda cr, tok: self.decode_step(params, cr, tok, encoded), carry, response_in)
        log_p = jnp.take_along_axis(jax.nn.log_softmax(logits), response_out[:, None], axis=-1)[:, 0]
        kl = jnp.zeros_like(log_p).at[0].set(dist.kl_diag_gaussians(q_mean, q_scale, p_mean, p_scale))
        return log_p, kl


@register("vlstm", test_size=dict(embed_dim=6, hidden_dim=8, latent_dim=3), task="dialogue", data="tokens",
          dim_arg="vocab_size")
@dataclasses.dataclass(frozen=True)
class VLSTM(_LatentDialogue):
    """Attributes: vocab_size; embed_dim; hidden_dim; latent_dim (per step)."""

    @property
    def nets(self) -> dict[str, nn.Module]:
        h, z = self.hidden_dim, self.latent_dim
        return {"embed": nn.Embed(self.vocab_size, self.embed_dim), "encoder": LSTMCell(h),
                "response_rnn": LSTMCell(h), "decoder": LSTMCell(h), "prior": DiagGaussianHead(z, hidden=(h,)),
                "posterior": DiagGaussianHead(z, hidden=(h,)), "output": ConcatDense(self.vocab_size)}

    def _example_inputs(self) -> dict:
        h, z, e = jnp.zeros(self.hidden_dim), jnp.zeros(self.latent_dim), jnp.zeros(self.embed_dim)
        carry = LSTMCell(self.hidden_dim).zero_carry()
        return {"embed": (jnp.zeros((1,), jnp.int32),), "encoder": (carry, e), "response_rnn": (carry, e),
                "decoder": (carry, e, z), "prior": (h,), "posterior": (h, h), "output": (h, z)}

    def _step(self, params, lstm, token, z):
        lstm, h = self.apply_net(params, "decoder", lstm, self.apply_net(params, "embed", token), z)
        return lstm, self.apply_net(params, "output", h, z)

    def start(self, params, encoded: Encoded, key: jax.Array) -> Any:
        return (encoded.carry, key, jnp.zeros((), jnp.int32))

    def decode_step(self, params, carry, token: jax.Array, encoded: Encoded) -> tuple[Any, jax.Array]:
        """Generation: z_t ~ p(z_t | h_{t-1})."""
        del encoded
        lstm, key, t = carry
        mean, scale = self.apply_net(params, "prior", lstm[1])
        z = mean + scale * jax.random.normal(jax.random.fold_in(key, t), mean.shape)
        lstm, logits = self._step(params, lstm, token, z)
        return (lstm, key, t + 1), logits

    def response_terms(self, params, context, context_length, response_in, response_out, response_length, key,
                       kl_weight=1.0) -> tuple[jax.Array, jax.Array]:
        del response_length, kl_weight
        encoded = self.encode(params, context, context_length)
        _, u = masked_scan(self.nets["response_rnn"], params["response_rnn"], self.apply_net(params, "embed", response_out))

        def body(lstm, inp):
            token, target, u_t, k = inp
            p_mean, p_scale = self.apply_net(params, "prior", lstm[1])
            q_mean, q_scale = self.apply_net(params, "posterior", lstm[1], u_t)
            z = q_mean + q_scale * jax.random.normal(k, q_mean.shape)
            lstm, logits = self._step(params, lstm, token, z)
            return lstm, (jax.nn.log_softmax(logits)[target], dist.kl_diag_gaussians(q_mean, q_scale, p_mean, p_scale))

        keys = jax.random.split(key, response_in.shape[0])
        _, (log_p, kl) = jax.lax.scan(body, encoded.carry, (response_in, response_out, u, keys))
        return log_p, kl
