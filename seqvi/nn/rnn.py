"""Recurrent cells, applied one step at a time so that callers own the scan, and
the two whole-sequence scans the models need (forward, and backward over the valid
part of a padded sequence)."""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from seqvi.nn.mlp import concat_dot

Carry = Any


class _GateParams(nn.Module):
    """The parameters of ``flax.linen.OptimizedLSTMCell`` (same names, shapes and
    initialisation: input kernels 'ii', 'if', 'ig', 'io'; recurrent kernels and
    biases 'hi', 'hf', 'hg', 'ho'), returned fused over the gates i, f, g, o:
    W_x [D, 4H], W_h [H, 4H], b [4H]."""

    features: int

    @nn.compact
    def __call__(self, in_features: int) -> tuple[jax.Array, jax.Array, jax.Array]:
        h = self.features
        w_x, w_h, b = [], [], []
        for gate in "ifgo":
            w_x.append(_Kernel(h, nn.initializers.lecun_normal(), use_bias=False, name=f"i{gate}")(in_features)[0])
            kernel, bias = _Kernel(h, nn.initializers.orthogonal(), use_bias=True, name=f"h{gate}")(h)
            w_h.append(kernel)
            b.append(bias)
        return jnp.concatenate(w_x, -1), jnp.concatenate(w_h, -1), jnp.concatenate(b, -1)


class _Kernel(nn.Module):
    features: int
    kernel_init: Any
    use_bias: bool

    @nn.compact
    def __call__(self, in_features: int):
        kernel = self.param("kernel", self.kernel_init, (in_features, self.features), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32) if self.use_bias else None
        return kernel, bias


class LSTMCell(nn.Module):
    """One LSTM step: (carry=(c, h), x) -> (carry', h'), with

      [i, f, g, o] = [x W_x + h W_h + b],  c' = s(f) c + s(i) tanh(g),  h' = s(o) tanh(c')

    (s the sigmoid): ``flax.linen.OptimizedLSTMCell``'s cell and parameters, with
    a zero initial carry that needs no RNG. The input x may come in parts
    (``cell(carry, a, b)`` for x = [a, b]); x W_x is then computed part by part
    (``concat_dot``), so a part shared by every particle is multiplied once.
    """

    features: int

    @nn.compact
    def __call__(self, carry: Carry, *xs: jax.Array) -> tuple[Carry, jax.Array]:
        c, h = carry
        w_x, w_h, b = _GateParams(self.features, name="cell")(sum(x.shape[-1] for x in xs))
        i, f, g, o = jnp.split(concat_dot(xs, w_x) + h @ w_h + b, 4, axis=-1)
        new_c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        new_h = jax.nn.sigmoid(o) * jnp.tanh(new_c)
        return (new_c, new_h), new_h

    def zero_carry(self, dtype=jnp.float32) -> Carry:
        z = jnp.zeros((self.features,), dtype)
        return (z, z)

    @staticmethod
    def output(carry: Carry) -> jax.Array:
        """The hidden state h of a carry (c, h)."""
        return carry[1]


class GRUCell(nn.Module):
    """One GRU step: (carry=h, x) -> (h', h') (``flax.linen.GRUCell``)."""

    features: int

    @nn.compact
    def __call__(self, carry: Carry, x: jax.Array) -> tuple[Carry, jax.Array]:
        return nn.GRUCell(self.features, name="cell")(carry, x)

    def zero_carry(self, dtype=jnp.float32) -> Carry:
        return jnp.zeros((self.features,), dtype)

    @staticmethod
    def output(carry: Carry) -> jax.Array:
        return carry


def scan_rnn(cell: nn.Module, params, xs: jax.Array) -> jax.Array:
    """Forward RNN h_t = RNN(h_{t-1}, x_t), h_0 = 0, over xs [T, D] -> [T, H].

    Outputs past a sequence's length depend only on earlier steps, so padding
    never changes the valid ones.
    """

    def body(carry, x):
        return cell.apply(params, carry, x)

    _, outs = jax.lax.scan(body, cell.zero_carry(xs.dtype), xs)
    return outs


def reverse_scan_rnn(cell: nn.Module, params, xs: jax.Array, length: jax.Array) -> jax.Array:
    """Backward RNN over the valid part of one padded sequence.

    b_t = RNN(b_{t+1}, x_t) for t < length, with b_length = 0; padded steps
    (t >= length) output zeros and leave the carry at zero, so the backward
    pass over a padded sequence equals the one over the unpadded sequence.

    Args:
      cell: an ``LSTMCell`` or ``GRUCell``. xs: [T, D] inputs. length: scalar int,
        number of valid steps.
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


def bidirectional_rnn(
    forward: nn.Module, forward_params, backward: nn.Module, backward_params, xs: jax.Array, length: jax.Array
) -> jax.Array:
    """[h_t^fwd, h_t^bwd]: forward states over x_{1:t} and backward states over
    x_{t:length}, for xs [T, D] -> [T, H_f + H_b]."""
    return jnp.concatenate(
        [scan_rnn(forward, forward_params, xs), reverse_scan_rnn(backward, backward_params, xs, length)], axis=-1
    )


def shift_right(xs: jax.Array) -> jax.Array:
    """u_t = x_{t-1}, u_1 = 0, along the leading (time) axis of xs [T, D]."""
    return jnp.concatenate([jnp.zeros_like(xs[:1]), xs[:-1]], axis=0)
