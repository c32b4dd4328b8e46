"""Recurrent cells, applied one step at a time so that callers own the scan."""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

Carry = Any


class LSTMCell(nn.Module):
    """One LSTM step: (carry=(c, h), x) -> (carry', h').

    A thin wrapper over ``flax.linen.OptimizedLSTMCell`` (fused gate matmuls)
    with a zero initial carry that needs no RNG.
    """

    features: int

    @nn.compact
    def __call__(self, carry: Carry, x: jax.Array) -> tuple[Carry, jax.Array]:
        return nn.OptimizedLSTMCell(self.features, name="cell")(carry, x)

    def zero_carry(self, dtype=jnp.float32) -> Carry:
        z = jnp.zeros((self.features,), dtype)
        return (z, z)


def reverse_scan_rnn(
    cell: LSTMCell, params, xs: jax.Array, length: jax.Array
) -> jax.Array:
    """Backward RNN over the valid part of one padded sequence.

    b_t = RNN(b_{t+1}, x_t) for t < length, with b_length = 0; padded steps
    (t >= length) output zeros and leave the carry at zero, so the backward
    pass over a padded sequence equals the one over the unpadded sequence.

    Args:
      xs: [T, D] inputs. length: scalar int, number of valid steps.
    Returns:
      [T, H] backward states b_t.
    """
    zero = cell.zero_carry(xs.dtype)
    steps = jnp.arange(xs.shape[0])

    def body(carry, inp):
        t, x = inp
        new_carry, out = cell.apply(params, carry, x)
        valid = t < length
        new_carry = jax.tree.map(lambda n, o: jnp.where(valid, n, o), new_carry, carry)
        return new_carry, jnp.where(valid, out, jnp.zeros_like(out))

    _, outs = jax.lax.scan(body, zero, (steps, xs), reverse=True)
    return outs
