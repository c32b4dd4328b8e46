"""A convolutional sentence encoder (Kim 2014), the discriminator body of the
adversarial dialogue baselines (Yu et al. 2017; Xu et al. 2017; LocalGAN
document, section 5.1: filter widths 1-4, 128 filters each).

For word vectors e_1..e_L [L, E] of which the first ``length`` are valid:

  c^(w)_{s,k} = relu(b_k + sum_{j<w} W^(w)_{j,:,k} . e_{s+j})   (width w, filter k)
  f^(w)_k     = max over the windows s that lie inside the valid words
  f           = [f^(1), .., f^(W)]                             [W * K]

A sentence shorter than a filter's width has no window for it; that filter's
features are 0 (the max over an empty set, as relu's floor).
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int


class TextCNN(nn.Module):
    """Attributes: filter_widths; num_filters (K per width). Call with word vectors
    [L, E] (one-hot rows through an embedding, or soft ones) and ``length`` []:
    returns the max-pooled features [len(filter_widths) * K]."""

    filter_widths: Sequence[int] = (1, 2, 3, 4)
    num_filters: int = 128

    @nn.compact
    def __call__(self, vectors: Float[Array, "L E"], length: Int[Array, ""]) -> Float[Array, " F"]:
        num_words = vectors.shape[0]
        features = []
        for width in self.filter_widths:
            if width > num_words:
                raise ValueError(f"filter width {width} exceeds the {num_words} word positions")
            conv = nn.Conv(self.num_filters, (width,), padding="VALID", name=f"width_{width}")
            activations = jax.nn.relu(conv(vectors[None])[0])  # [L - w + 1, K]
            inside = jnp.arange(num_words - width + 1) + width <= length  # window ends at a valid word
            features.append(jnp.max(jnp.where(inside[:, None], activations, 0.0), axis=0))
        return jnp.concatenate(features)
