"""Differentiable neural computer memory (Graves et al. 2016, "Hybrid computing
using a neural network with dynamic external memory", Methods), as pure functions.

Memory M [N, W] (N slots of width W), usage u [N], temporal link matrix L [N, N],
precedence p [N], read weights w^r [R, N] of R read heads, write weights w^w [N].
One step, given the interface of a controller (``Interface``):

  content     C(M, k, b)[i] = softmax_i(b cos(M[i], k))
  usage       psi = prod_r (1 - f_r w^r_{t-1,r});  u = (u + w^w_{t-1} - u w^w_{t-1}) psi
  allocation  phi = slots sorted by increasing usage;
              a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i]
  write       w^w = g_w (g_a a + (1 - g_a) C(M_{t-1}, k^w, b^w))
  memory      M = M_{t-1} (1 - w^w e^T) + w^w v^T
  links       L[i, j] = (1 - w^w[i] - w^w[j]) L_{t-1}[i, j] + w^w[i] p_{t-1}[j],  L[i, i] = 0
              p = (1 - sum_i w^w[i]) p_{t-1} + w^w
  read        f_r = L w^r_{t-1,r},  b_r = L^T w^r_{t-1,r}
              w^r_r = pi_r[0] b_r + pi_r[1] C(M, k^r_r, b^r_r) + pi_r[2] f_r
              r_r = M^T w^r_r

Strengths are oneplus(x) = 1 + softplus(x); gates sigmoid; read modes softmax.
Everything is for one memory (no batch axis): ``vmap`` for batches. ``DNCCell``
wraps the memory with an LSTM controller as a Flax cell for ``lax.scan``.
"""

import itertools
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from seqvi.nn.mlp import ConcatDense
from seqvi.nn.rnn import LSTMCell

EPS = 1e-6


class MemoryState(NamedTuple):
    memory: jax.Array  # [N, W]
    usage: jax.Array  # [N]
    link: jax.Array  # [N, N]
    precedence: jax.Array  # [N]
    read_weights: jax.Array  # [R, N]
    write_weights: jax.Array  # [N]


class Interface(NamedTuple):
    read_keys: jax.Array  # [R, W]
    read_strengths: jax.Array  # [R], >= 1
    write_key: jax.Array  # [W]
    write_strength: jax.Array  # [], >= 1
    erase: jax.Array  # [W] in (0, 1)
    write_vector: jax.Array  # [W]
    free_gates: jax.Array  # [R] in (0, 1)
    allocation_gate: jax.Array  # [] in (0, 1)
    write_gate: jax.Array  # [] in (0, 1)
    read_modes: jax.Array  # [R, 3]: (backward, content, forward), rows sum to 1


def initial_state(num_slots: int, word_size: int, num_reads: int, dtype=jnp.float32) -> MemoryState:
    """An empty memory: zeros everywhere."""
    n = num_slots
    return MemoryState(jnp.zeros((n, word_size), dtype), jnp.zeros(n, dtype), jnp.zeros((n, n), dtype),
                       jnp.zeros(n, dtype), jnp.zeros((num_reads, n), dtype), jnp.zeros(n, dtype))


def interface_size(word_size: int, num_reads: int) -> int:
    """Length of the controller output that ``parse_interface`` reads: R W + 3 W + 5 R + 3."""
    return num_reads * word_size + 3 * word_size + 5 * num_reads + 3


def oneplus(x: jax.Array) -> jax.Array:
    return 1.0 + jax.nn.softplus(x)


def parse_interface(vector: jax.Array, word_size: int, num_reads: int) -> Interface:
    """The interface from a raw controller vector of length ``interface_size``."""
    w, r = word_size, num_reads
    if vector.shape[-1] != interface_size(w, r):
        raise ValueError(f"an interface for word size {w} and {r} read heads has {interface_size(w, r)} "
                         f"entries, got {vector.shape[-1]}")
    sizes = [r * w, r, w, 1, w, w, r, 1, 1, 3 * r]
    parts = jnp.split(vector, list(itertools.accumulate(sizes))[:-1], axis=-1)
    keys, strengths, wkey, wstrength, erase, wvec, free, alloc, wgate, modes = parts
    return Interface(
        read_keys=keys.reshape(r, w),
        read_strengths=oneplus(strengths),
        write_key=wkey,
        write_strength=oneplus(wstrength[0]),
        erase=jax.nn.sigmoid(erase),
        write_vector=wvec,
        free_gates=jax.nn.sigmoid(free),
        allocation_gate=jax.nn.sigmoid(alloc[0]),
        write_gate=jax.nn.sigmoid(wgate[0]),
        read_modes=jax.nn.softmax(modes.reshape(r, 3), axis=-1),
    )


def content_weights(memory: jax.Array, keys: jax.Array, strengths: jax.Array) -> jax.Array:
    """C(M, k, b): softmax over slots of b * cosine(M[i], k); keys [H, W], strengths [H] -> [H, N]."""
    norm_m = jnp.sqrt(jnp.sum(memory**2, -1) + EPS)  # [N]
    norm_k = jnp.sqrt(jnp.sum(keys**2, -1) + EPS)  # [H]
    cosine = (keys @ memory.T) / (norm_k[:, None] * norm_m[None, :])
    return jax.nn.softmax(strengths[:, None] * cosine, axis=-1)


def updated_usage(usage: jax.Array, write_weights: jax.Array, read_weights: jax.Array,
                  free_gates: jax.Array) -> jax.Array:
    """u = (u + w^w - u w^w) psi with retention psi = prod_r (1 - f_r w^r_r) (previous weights)."""
    retention = jnp.prod(1.0 - free_gates[:, None] * read_weights, axis=0)
    return (usage + write_weights - usage * write_weights) * retention


def allocation_weights(usage: jax.Array) -> jax.Array:
    """a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i], phi the slots by increasing usage."""
    order = jnp.argsort(usage)  # the free list
    sorted_usage = usage[order]
    before = jnp.cumprod(jnp.concatenate([jnp.ones((1,), usage.dtype), sorted_usage[:-1]]))
    return jnp.zeros_like(usage).at[order].set((1.0 - sorted_usage) * before)


def write_weighting(memory: jax.Array, usage: jax.Array, iface: Interface) -> jax.Array:
    """w^w = g_w (g_a a + (1 - g_a) c^w) with c^w the write key's content weights."""
    content = content_weights(memory, iface.write_key[None], iface.write_strength[None])[0]
    mix = iface.allocation_gate * allocation_weights(usage) + (1.0 - iface.allocation_gate) * content
    return iface.write_gate * mix


def write_memory(memory: jax.Array, write_weights: jax.Array, erase: jax.Array, vector: jax.Array) -> jax.Array:
    """M (1 - w^w e^T) + w^w v^T."""
    return memory * (1.0 - jnp.outer(write_weights, erase)) + jnp.outer(write_weights, vector)


def updated_link(link: jax.Array, precedence: jax.Array, write_weights: jax.Array) -> jax.Array:
    """L[i, j] = (1 - w[i] - w[j]) L[i, j] + w[i] p[j] with a zero diagonal."""
    w = write_weights
    new = (1.0 - w[:, None] - w[None, :]) * link + jnp.outer(w, precedence)
    return new * (1.0 - jnp.eye(link.shape[0], dtype=link.dtype))


def updated_precedence(precedence: jax.Array, write_weights: jax.Array) -> jax.Array:
    """p = (1 - sum w^w) p + w^w."""
    return (1.0 - jnp.sum(write_weights)) * precedence + write_weights


def read_weighting(memory: jax.Array, link: jax.Array, previous: jax.Array, iface: Interface) -> jax.Array:
    """w^r_r = pi_r[0] L^T w_r + pi_r[1] C(M, k_r, b_r) + pi_r[2] L w_r (previous w_r)."""
    forward = previous @ link.T  # [R, N]: row r is L w_r
    backward = previous @ link  # row r is L^T w_r
    content = content_weights(memory, iface.read_keys, iface.read_strengths)
    modes = iface.read_modes
    return modes[:, 0:1] * backward + modes[:, 1:2] * content + modes[:, 2:3] * forward


def step(state: MemoryState, iface: Interface) -> tuple[MemoryState, jax.Array]:
    """One write then read: the next state and the read vectors [R, W]."""
    usage = updated_usage(state.usage, state.write_weights, state.read_weights, iface.free_gates)
    write_weights = write_weighting(state.memory, usage, iface)
    memory = write_memory(state.memory, write_weights, iface.erase, iface.write_vector)
    link = updated_link(state.link, state.precedence, write_weights)
    precedence = updated_precedence(state.precedence, write_weights)
    read_weights = read_weighting(memory, link, state.read_weights, iface)
    reads = read_weights @ memory
    return MemoryState(memory, usage, link, precedence, read_weights, write_weights), reads


class DNCCell(nn.Module):
    """A DNC step: an LSTM controller over [x_t, r_{t-1}] emits the interface (one
    linear layer) and an output; the memory is written then read; the cell's output
    is W [h_t, r_t]. The carry is (LSTM carry, ``MemoryState``, reads [R, W])."""

    num_slots: int
    word_size: int
    num_reads: int
    controller_size: int
    output_size: int

    @nn.nowrap
    def zero_carry(self, dtype=jnp.float32):
        z = jnp.zeros((self.controller_size,), dtype)
        return ((z, z),
                initial_state(self.num_slots, self.word_size, self.num_reads, dtype),
                jnp.zeros((self.num_reads, self.word_size), dtype))

    @nn.compact
    def __call__(self, carry, x: jax.Array):
        controller, memory, reads = carry
        controller, h = LSTMCell(self.controller_size, name="controller")(controller, x, reads.reshape(-1))
        vector = nn.Dense(interface_size(self.word_size, self.num_reads), name="interface")(h)
        memory, reads = step(memory, parse_interface(vector, self.word_size, self.num_reads))
        out = ConcatDense(self.output_size, name="output")(h, reads.reshape(-1))
        return (controller, memory, reads), out
