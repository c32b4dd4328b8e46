"""Multi-layer perceptron, and dense layers over concatenated inputs computed
part by part."""

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


def concat_dot(parts: Sequence[jax.Array], kernel: jax.Array) -> jax.Array:
    """concat(parts, -1) @ kernel, computed as sum_i parts[i] @ kernel[rows of part i].

    The same product, but under ``vmap`` a part that is not batched (the data x_t,
    shared by every particle of a sequence) is multiplied once rather than once
    per particle, and its weight gradient sums over particles before the matmul.
    """
    total = sum(p.shape[-1] for p in parts)
    if total != kernel.shape[0]:
        raise ValueError(f"the parts have {total} features in all but the kernel expects {kernel.shape[0]}")
    out, start = None, 0
    for p in parts:
        term = p @ kernel[start:start + p.shape[-1]]
        out = term if out is None else out + term
        start += p.shape[-1]
    return out


class ConcatDense(nn.Module):
    """``nn.Dense`` applied to the concatenation of its inputs, y = [x_1, .., x_k] W + b,
    computed by ``concat_dot``. Same parameters ('kernel' [sum d_i, F], 'bias' [F])
    and initialisation as ``nn.Dense``, which it equals for one input."""

    features: int
    kernel_init: Callable = nn.initializers.lecun_normal()
    bias_init: Callable = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, *parts: jax.Array) -> jax.Array:
        in_features = sum(p.shape[-1] for p in parts)
        kernel = self.param("kernel", self.kernel_init, (in_features, self.features), jnp.float32)
        bias = self.param("bias", self.bias_init, (self.features,), jnp.float32)
        return concat_dot(parts, kernel) + bias


class MLP(nn.Module):
    """h_{l+1} = act(W_l h_l + b_l) for each width in ``features``, with h_0 the
    concatenation of the inputs (the first layer is a ``ConcatDense``).

    ``activate_final=False`` leaves the last layer linear.
    """

    features: Sequence[int]
    activation: Callable[[jax.Array], jax.Array] = nn.relu
    activate_final: bool = True

    @nn.compact
    def __call__(self, *xs: jax.Array) -> jax.Array:
        x = None
        for i, width in enumerate(self.features):
            x = ConcatDense(width, name=f"dense_{i}")(*xs) if i == 0 else nn.Dense(width, name=f"dense_{i}")(x)
            if i < len(self.features) - 1 or self.activate_final:
                x = self.activation(x)
        return x
