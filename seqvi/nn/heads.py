"""Distribution heads: networks that output distribution parameters.

Heads return raw parameters (arrays); ``seqvi.dist`` turns them into distributions,
so the same head serves sampling, log-densities and analytic KLs.
"""

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from seqvi.nn.mlp import MLP


class DiagGaussianHead(nn.Module):
    """x -> (mu, sigma) with sigma = softplus(s) + min_scale.

    An optional hidden MLP runs first; ``features`` is the event size.
    """

    features: int
    hidden: Sequence[int] = ()
    min_scale: float = 1e-4

    @nn.compact
    def __call__(self, *xs: jax.Array) -> tuple[jax.Array, jax.Array]:
        """The input is the concatenation of ``xs`` (see ``ConcatDense``)."""
        x = MLP(self.hidden, name="hidden")(*xs) if self.hidden else jnp.concatenate(xs, -1)
        mean = nn.Dense(self.features, name="mean")(x)
        raw = nn.Dense(self.features, name="raw_scale")(x)
        return mean, jax.nn.softplus(raw) + self.min_scale


class GMMHead(nn.Module):
    """x -> (logits [K], means [K, D], scales [K, D]) of a K-component mixture of
    diagonal Gaussians over [D] (``seqvi.dist.diag_gmm``), scales = softplus(s) +
    min_scale. An optional hidden MLP runs first; ``features`` is D."""

    features: int
    components: int
    hidden: Sequence[int] = ()
    min_scale: float = 1e-4

    @nn.compact
    def __call__(self, *xs: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        x = MLP(self.hidden, name="hidden")(*xs) if self.hidden else jnp.concatenate(xs, -1)
        k, d = self.components, self.features
        logits = nn.Dense(k, name="logits")(x)
        means = nn.Dense(k * d, name="means")(x).reshape(x.shape[:-1] + (k, d))
        raw = nn.Dense(k * d, name="raw_scales")(x).reshape(x.shape[:-1] + (k, d))
        return logits, means, jax.nn.softplus(raw) + self.min_scale


class BernoulliHead(nn.Module):
    """x -> logits; the final layer is named ``logits`` so its bias can be set
    to logit(training mean) after init (see ``seqvi.models.parts.with_constants``)."""

    features: int
    hidden: Sequence[int] = ()

    @nn.compact
    def __call__(self, *xs: jax.Array) -> jax.Array:
        x = MLP(self.hidden, name="hidden")(*xs) if self.hidden else jnp.concatenate(xs, -1)
        return nn.Dense(self.features, name="logits")(x)


def logit(p: jax.Array, eps: float = 1e-5) -> jax.Array:
    """log(p / (1 - p)) with p clipped to [eps, 1 - eps]."""
    p = jnp.clip(p, eps, 1.0 - eps)
    return jnp.log(p) - jnp.log1p(-p)


def _identity_init(key, shape, dtype=jnp.float32):
    del key
    return jnp.eye(*shape, dtype=dtype)


class GatedTransition(nn.Module):
    """The gated transition of the deep Markov model (Krishnan et al. 2017):

      g   = sigmoid(W_2 relu(W_1 [z, u]))          gate
      h   = W_4 relu(W_3 [z, u])                   proposed mean
      mu  = (1 - g) * (A z + b) + g * h            A starts at the identity
      sigma = softplus(W_5 relu(h)) + min_scale

    for the previous latent z and optional inputs u (may be empty).
    """

    features: int
    hidden: int
    min_scale: float = 1e-4

    @nn.compact
    def __call__(self, z: jax.Array, u: jax.Array) -> tuple[jax.Array, jax.Array]:
        zu = jnp.concatenate([z, u], -1)
        gate = jax.nn.sigmoid(nn.Dense(self.features, name="gate_out")(nn.relu(nn.Dense(self.hidden, name="gate_hidden")(zu))))
        proposed = nn.Dense(self.features, name="proposed_out")(nn.relu(nn.Dense(self.hidden, name="proposed_hidden")(zu)))
        linear = nn.Dense(self.features, kernel_init=_identity_init, name="linear")(z)
        mean = (1.0 - gate) * linear + gate * proposed
        scale = jax.nn.softplus(nn.Dense(self.features, name="raw_scale")(nn.relu(proposed))) + self.min_scale
        return mean, scale


class Combiner(nn.Module):
    """The deep Markov model's inference head (Krishnan et al. 2017): with RNN
    state h_rnn (a summary of x_{t:T}, or of x_{1:t} when filtering),

      h = (tanh(W z_{t-1} + b) + h_rnn) / 2,   q(z_t | .) = N(W_m h, softplus(W_s h)^2).
    """

    features: int
    min_scale: float = 1e-4

    @nn.compact
    def __call__(self, z_prev: jax.Array, h_rnn: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = 0.5 * (jnp.tanh(nn.Dense(h_rnn.shape[-1], name="z_to_hidden")(z_prev)) + h_rnn)
        mean = nn.Dense(self.features, name="mean")(h)
        return mean, jax.nn.softplus(nn.Dense(self.features, name="raw_scale")(h)) + self.min_scale
