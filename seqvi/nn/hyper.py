"""Hyper-modulated networks (VHRNN, Deng et al. 2020; after Ha et al.'s HyperNetworks).

A *modulation* rescales, per output unit, the pre-activations of a layer whose
weights are otherwise static:

  a = d_x * (W_x x) + d_h * (W_h h) + b + b_dyn          (recurrent gates)
  a = s * (W y) + b + s_dyn                              (a dense layer)

where the scales d_x, d_h, s and the shifts b_dyn, s_dyn come from a
hypernetwork at every step. With unit scales and zero shifts each layer is the
plain one, which the tests check against Flax's own LSTM and GRU cells.
"""

from typing import NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from seqvi.nn.rnn import LSTMCell

_SMALL = nn.initializers.normal(0.01)


class GateModulation(NamedTuple):
    """Per-gate scales and shifts for a recurrent cell with G gates of H units:
    input_scale d_x [G*H], hidden_scale d_h [G*H], shift b_dyn [G*H]."""

    input_scale: jax.Array
    hidden_scale: jax.Array
    shift: jax.Array

    @classmethod
    def identity(cls, size: int, dtype=jnp.float32) -> "GateModulation":
        """Unit scales and zero shift: the cell is then the plain one."""
        ones = jnp.ones((size,), dtype)
        return cls(ones, ones, jnp.zeros((size,), dtype))


def _modulated_terms(x, h, modulation: GateModulation, size: int):
    """(d_x * (W_x x + b_x), d_h * (W_h h + b_h), b_dyn), inside a compact module."""
    wx = nn.Dense(size, name="input")(x)
    wh = nn.Dense(size, name="hidden")(h)
    return modulation.input_scale * wx, modulation.hidden_scale * wh, modulation.shift


class HyperLSTMCell(nn.Module):
    """An LSTM step whose gate pre-activations are modulated:

      [i, f, g, o] = d_x * (W_x x + b_x) + d_h * (W_h h + b_h) + b_dyn
      c' = sigmoid(f) * c + sigmoid(i) * tanh(g),   h' = sigmoid(o) * tanh(c')

    carry = (c, h) as in ``LSTMCell``; ``modulation`` is a ``GateModulation`` of
    size 4H (gate order i, f, g, o).
    """

    features: int

    @nn.compact
    def __call__(self, carry, x: jax.Array, modulation: GateModulation):
        c, h = carry
        wx, wh, shift = _modulated_terms(x, h, modulation, 4 * self.features)
        i, f, g, o = jnp.split(wx + wh + shift, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (c, h), h

    num_gates = 4

    def zero_carry(self, dtype=jnp.float32):
        z = jnp.zeros((self.features,), dtype)
        return (z, z)

    @staticmethod
    def output(carry) -> jax.Array:
        return carry[1]


class HyperGRUCell(nn.Module):
    """A GRU step whose gate pre-activations are modulated (gate order r, z, n):

      [a_r, a_z, a_n] = d_x * (W_x x + b_x),   [u_r, u_z, u_n] = d_h * (W_h h + b_h)
      r = sigmoid(a_r + u_r + b_r'),  z = sigmoid(a_z + u_z + b_z')
      n = tanh(a_n + r * u_n + b_n'),  h' = (1 - z) * n + z * h

    with b' = the modulation's shift. carry = h.
    """

    features: int

    @nn.compact
    def __call__(self, carry, x: jax.Array, modulation: GateModulation):
        h = carry
        wx, wh, shift = _modulated_terms(x, h, modulation, 3 * self.features)
        ax_r, ax_z, ax_n = jnp.split(wx, 3, axis=-1)
        uh_r, uh_z, uh_n = jnp.split(wh, 3, axis=-1)
        b_r, b_z, b_n = jnp.split(shift, 3, axis=-1)
        r = jax.nn.sigmoid(ax_r + uh_r + b_r)
        z = jax.nn.sigmoid(ax_z + uh_z + b_z)
        n = jnp.tanh(ax_n + r * uh_n + b_n)
        h = (1.0 - z) * n + z * h
        return h, h

    num_gates = 3

    def zero_carry(self, dtype=jnp.float32):
        return jnp.zeros((self.features,), dtype)

    @staticmethod
    def output(carry) -> jax.Array:
        return carry


class RecurrentHyperNetwork(nn.Module):
    """theta: a single-layer LSTM over the hypernetwork input whose state gives a
    ``GateModulation`` for a cell with ``size`` = G*H gate units:

      (c~, h~) = LSTM((c~, h~), input),   d_x = 1 + W_1 h~,  d_h = 1 + W_2 h~,  b_dyn = W_3 h~

    The W_k start small, so training starts near the plain cell.
    """

    features: int  # hyper-LSTM units
    size: int  # G * H

    @nn.compact
    def __call__(self, carry, inp: jax.Array) -> tuple:
        carry, h = LSTMCell(self.features, name="lstm")(carry, inp)
        dense = lambda name: nn.Dense(self.size, kernel_init=_SMALL, name=name)(h)  # noqa: E731
        modulation = GateModulation(1.0 + dense("input_scale"), 1.0 + dense("hidden_scale"), dense("shift"))
        return carry, modulation

    def zero_carry(self, dtype=jnp.float32):
        z = jnp.zeros((self.features,), dtype)
        return (z, z)


class ModulatedDense(nn.Module):
    """y -> scale * (W y) + b + shift: a dense layer modulated per output unit."""

    features: int

    @nn.compact
    def __call__(self, y: jax.Array, scale: jax.Array, shift: jax.Array) -> jax.Array:
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (y.shape[-1], self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        return scale * (y @ kernel) + bias + shift


class HyperEmission(nn.Module):
    """The hyper-modulated decoder: omega(hyper_input) -- an MLP with one hidden
    layer of ``omega_hidden`` units -- gives a (scale, shift) pair for every
    layer of the emission network, which then maps y to the emission's raw
    parameters:

      m = relu(W_m hyper_input + b_m);   s_l = 1 + A_l m,  t_l = B_l m
      a = relu(s_0 * (W_0 y) + b_0 + t_0)            (one per width in ``hidden``)
      bernoulli: logits = s * (W a) + b + t
      gaussian:  mean = s * (W a) + b + t,  scale = softplus(s' * (W' a) + b' + t') + min_scale
    """

    data_dim: int
    hidden: Sequence[int]
    emission_type: str = "bernoulli"
    omega_hidden: int = 64
    min_scale: float = 1e-4

    @nn.compact
    def __call__(self, y: jax.Array, hyper_input: jax.Array):
        m = nn.relu(nn.Dense(self.omega_hidden, name="omega_hidden")(hyper_input))

        def layer(name, features, inp):
            scale = 1.0 + nn.Dense(features, kernel_init=_SMALL, name=f"omega_scale_{name}")(m)
            shift = nn.Dense(features, kernel_init=_SMALL, name=f"omega_shift_{name}")(m)
            return ModulatedDense(features, name=name)(inp, scale, shift)

        a = y
        for i, width in enumerate(self.hidden):
            a = nn.relu(layer(f"hidden_{i}", width, a))
        if self.emission_type == "bernoulli":
            return layer("logits", self.data_dim, a)
        mean = layer("mean", self.data_dim, a)
        return mean, jax.nn.softplus(layer("raw_scale", self.data_dim, a)) + self.min_scale
