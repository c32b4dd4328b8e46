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
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        if self.hidden:
            x = MLP(self.hidden, name="hidden")(x)
        mean = nn.Dense(self.features, name="mean")(x)
        raw = nn.Dense(self.features, name="raw_scale")(x)
        return mean, jax.nn.softplus(raw) + self.min_scale


class BernoulliHead(nn.Module):
    """x -> logits; the final layer is named ``logits`` so its bias can be set
    to logit(training mean) after init (see ``seqvi.models.vrnn``)."""

    features: int
    hidden: Sequence[int] = ()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if self.hidden:
            x = MLP(self.hidden, name="hidden")(x)
        return nn.Dense(self.features, name="logits")(x)


def logit(p: jax.Array, eps: float = 1e-5) -> jax.Array:
    """log(p / (1 - p)) with p clipped to [eps, 1 - eps]."""
    p = jnp.clip(p, eps, 1.0 - eps)
    return jnp.log(p) - jnp.log1p(-p)
