"""Multi-layer perceptron."""

from typing import Callable, Sequence

import flax.linen as nn
import jax


class MLP(nn.Module):
    """h_{l+1} = act(W_l h_l + b_l) for each width in ``features``.

    ``activate_final=False`` leaves the last layer linear.
    """

    features: Sequence[int]
    activation: Callable[[jax.Array], jax.Array] = nn.relu
    activate_final: bool = True

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for i, width in enumerate(self.features):
            x = nn.Dense(width, name=f"dense_{i}")(x)
            if i < len(self.features) - 1 or self.activate_final:
                x = self.activation(x)
        return x
