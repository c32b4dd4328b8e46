"""Recurrent cells, applied one step at a time so that callers own the scan, and
one masked scan that runs a cell over a whole (padded) sequence, forward or
backward, with the input projection taken out of the time loop."""

from typing import Any, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from seqvi.nn.mlp import concat_dot

Carry = Any


class _Kernel(nn.Module):
    features: int
    kernel_init: Any
    use_bias: bool

    @nn.compact
    def __call__(self, in_features: int):
        kernel = self.param("kernel", self.kernel_init, (in_features, self.features), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32) if self.use_bias else None
        return kernel, bias


class _LSTMWeights(nn.Module):
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


def _lstm_recurrence(carry: Carry, projected: jax.Array, w_h: jax.Array) -> tuple[Carry, jax.Array]:
    """The LSTM update from the projected input x W_x + b [..., 4H]."""
    c, h = carry
    i, f, g, o = jnp.split(projected + h @ w_h, 4, axis=-1)
    new_c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    new_h = jax.nn.sigmoid(o) * jnp.tanh(new_c)
    return (new_c, new_h), new_h


class LSTMCell(nn.Module):
    """One LSTM step: (carry=(c, h), x) -> (carry', h'), with

      [i, f, g, o] = [x W_x + b + h W_h],  c' = s(f) c + s(i) tanh(g),  h' = s(o) tanh(c')

    (s the sigmoid): ``flax.linen.OptimizedLSTMCell``'s cell and parameters, with
    a zero initial carry that needs no RNG. The input x may come in parts
    (``cell(carry, a, b)`` for x = [a, b]); x W_x is then computed part by part
    (``concat_dot``), so a part shared by every particle is multiplied once.
    ``masked_scan`` computes x W_x + b for all steps at once and runs only the
    recurrence in the time loop (``scan_parts``).
    """

    features: int

    @nn.compact
    def __call__(self, carry: Carry, *xs: jax.Array) -> tuple[Carry, jax.Array]:
        w_x, w_h, b = _LSTMWeights(self.features, name="cell")(sum(x.shape[-1] for x in xs))
        return _lstm_recurrence(carry, concat_dot(xs, w_x) + b, w_h)

    def zero_carry(self, dtype=jnp.float32) -> Carry:
        z = jnp.zeros((self.features,), dtype)
        return (z, z)

    @staticmethod
    def output(carry: Carry) -> jax.Array:
        """The hidden state h of a carry (c, h)."""
        return carry[1]

    @nn.nowrap
    def scan_parts(self, params):
        """(project, recurrence) for ``masked_scan``: project(xs [T, D]) = xs W_x + b
        [T, 4H], one matmul for all steps; recurrence(carry, p_t) is the part of a
        step that needs h_{t-1}."""
        cell = params["params"]["cell"]
        w_x, w_h, b = _LSTMWeights(self.features).apply({"params": cell}, cell["ii"]["kernel"].shape[0])
        return (lambda xs: xs @ w_x + b), (lambda carry, projected: _lstm_recurrence(carry, projected, w_h))


def _gru_recurrence(h: jax.Array, projected: jax.Array, w_h: jax.Array, b_hn: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The GRU update from the projected input [x W_ir + b_ir, x W_iz + b_iz, x W_in + b_in]."""
    x_r, x_z, x_n = jnp.split(projected, 3, axis=-1)
    h_r, h_z, h_n = jnp.split(h @ w_h, 3, axis=-1)
    r = jax.nn.sigmoid(x_r + h_r)
    z = jax.nn.sigmoid(x_z + h_z)
    n = jnp.tanh(x_n + r * (h_n + b_hn))
    new_h = (1.0 - z) * n + z * h
    return new_h, new_h


class _GRUWeights(nn.Module):
    """The parameters of ``flax.linen.GRUCell`` (same names, shapes and
    initialisation: input kernels and biases 'ir', 'iz', 'in'; recurrent kernels
    'hr', 'hz', 'hn' and the bias of 'hn'), fused over r, z, n:
    W_x [D, 3H], b_x [3H], W_h [H, 3H], b_hn [H]."""

    features: int

    @nn.compact
    def __call__(self, in_features: int):
        h, w_x, b_x, w_h = self.features, [], [], []
        for gate in "rzn":
            kernel, bias = _Kernel(h, nn.initializers.lecun_normal(), use_bias=True, name=f"i{gate}")(in_features)
            w_x.append(kernel)
            b_x.append(bias)
            kernel, b_hn = _Kernel(h, nn.initializers.orthogonal(), use_bias=gate == "n", name=f"h{gate}")(h)
            w_h.append(kernel)
        return jnp.concatenate(w_x, -1), jnp.concatenate(b_x, -1), jnp.concatenate(w_h, -1), b_hn


class GRUCell(nn.Module):
    """One GRU step: (carry=h, x) -> (h', h'), with

      r = s(x W_ir + b_ir + h W_hr),  z = s(x W_iz + b_iz + h W_hz),
      n = tanh(x W_in + b_in + r (h W_hn + b_hn)),  h' = (1 - z) n + z h

    ``flax.linen.GRUCell``'s cell and parameters. As for ``LSTMCell``, x may come
    in parts (``cell(h, a, b)`` for x = [a, b]); ``masked_scan`` takes the input
    projections out of the time loop (``scan_parts``).
    """

    features: int

    @nn.compact
    def __call__(self, carry: Carry, *xs: jax.Array) -> tuple[Carry, jax.Array]:
        w_x, b_x, w_h, b_hn = _GRUWeights(self.features, name="cell")(sum(x.shape[-1] for x in xs))
        return _gru_recurrence(carry, concat_dot(xs, w_x) + b_x, w_h, b_hn)

    def zero_carry(self, dtype=jnp.float32) -> Carry:
        return jnp.zeros((self.features,), dtype)

    @staticmethod
    def output(carry: Carry) -> jax.Array:
        return carry

    @nn.nowrap
    def scan_parts(self, params):
        """(project, recurrence) for ``masked_scan``: project(xs [T, D]) = [xs W_ir +
        b_ir, xs W_iz + b_iz, xs W_in + b_in], of shape [T, 3H], one matmul for all steps;
        recurrence(carry, p_t) is the part of a step that needs h_{t-1}."""
        cell = params["params"]["cell"]
        w_x, b_x, w_h, b_hn = _GRUWeights(self.features).apply({"params": cell}, cell["ir"]["kernel"].shape[0])
        return (lambda xs: xs @ w_x + b_x), (lambda carry, projected: _gru_recurrence(carry, projected, w_h, b_hn))


def masked_scan(
    cell: nn.Module,
    params,
    xs: Float[Array, "T D"],
    length: Optional[Int[Array, ""]] = None,
    *,
    reverse: bool = False,
    initial_carry: Optional[Carry] = None,
) -> tuple[Carry, Float[Array, "T H"]]:
    """Run ``cell`` over one padded sequence xs [T, D]; the one RNN scan of seqvi.

    Forward: h_t = RNN(h_{t-1}, x_t) for t < length; reverse: b_t = RNN(b_{t+1},
    x_t) for t < length, started at the end of the valid part. Steps t >= length
    leave the carry alone and output zeros, so the result over a padded sequence
    equals the one over the unpadded sequence. ``length=None`` means every step is
    valid (a forward scan then needs no mask: its valid outputs never depend on
    later steps).

    Cells whose ``scan_parts`` split a step into a step-independent input
    projection (applied to all of xs as one [T, D] x [D, G] matmul before the
    loop) and a recurrence (``LSTMCell``, ``GRUCell``) run only the recurrence in
    the loop; other cells (the DNC, the fast-dropout RNN) run whole steps.

    Args:
      cell: a recurrent cell with ``zero_carry``; params: its parameters.
      xs: [T, D] inputs. length: scalar int, the number of valid steps, or None.
      reverse: scan from the last valid step back to the first.
      initial_carry: the carry before the first scanned step (default zeros).
    Returns:
      (the carry after the last valid step scanned, outputs [T, H]).
    """
    carry0 = cell.zero_carry(xs.dtype) if initial_carry is None else initial_carry
    scan_parts = getattr(cell, "scan_parts", None)
    if scan_parts is not None:
        project, step = scan_parts(params)
        inputs = project(xs)
    else:
        inputs = xs

        def step(carry, x):
            return cell.apply(params, carry, x)

    if length is None:
        return jax.lax.scan(step, carry0, inputs, reverse=reverse)

    def body(carry, inp):
        t, x = inp
        new_carry, out = step(carry, x)
        valid = t < length
        new_carry = jax.tree.map(lambda n, o: jnp.where(valid, n, o), new_carry, carry)
        return new_carry, jnp.where(valid, out, jnp.zeros_like(out))

    return jax.lax.scan(body, carry0, (jnp.arange(xs.shape[0]), inputs), reverse=reverse)


def bidirectional_rnn(
    forward: nn.Module, forward_params, backward: nn.Module, backward_params, xs: jax.Array, length: jax.Array
) -> Float[Array, "T Hf+Hb"]:
    """[h_t^fwd, h_t^bwd]: forward states over x_{1:t} and backward states over
    x_{t:length}, for xs [T, D] -> [T, H_f + H_b] (``masked_scan`` both ways)."""
    return jnp.concatenate(
        [masked_scan(forward, forward_params, xs)[1], masked_scan(backward, backward_params, xs, length, reverse=True)[1]],
        axis=-1,
    )


def shift_right(xs: Float[Array, "T D"]) -> Float[Array, "T D"]:
    """u_t = x_{t-1}, u_1 = 0, along the leading (time) axis of xs [T, D]."""
    return jnp.concatenate([jnp.zeros_like(xs[:1]), xs[:-1]], axis=0)
