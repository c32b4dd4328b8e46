"""A differentiable neural dictionary (Pritzel et al. 2017), the spatial memory of
GTM-SM (thesis, section 7.3): a fixed-capacity table of (key, value) pairs with a
mask of the filled slots, read by the K nearest keys to a query.

  d_i   = ||key_i - query||^2 over the filled slots i (+inf for empty ones)
  read  = the K smallest d_i, their keys and values (``jax.lax.top_k`` on -d)

The indices of the K nearest are piecewise constant, so no gradient flows
through the choice; the returned distances, keys and values are gathered from
the differentiable arrays, so gradients reach the query and the stored entries
that were read.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int


class DND(NamedTuple):
    keys: Float[Array, "C S"]
    values: Any  # a pytree of [C, ...] arrays
    filled: Bool[Array, " C"]


class Read(NamedTuple):
    squared_distances: Float[Array, " K"]
    keys: Float[Array, "K S"]
    values: Any  # the pytree of [K, ...] arrays
    indices: Int[Array, " K"]


def empty(capacity: int, key_size: int, value_template: Any) -> DND:
    """A DND of ``capacity`` empty slots; values shaped like ``value_template`` (one entry)."""
    values = jax.tree.map(lambda v: jnp.zeros((capacity,) + jnp.shape(v), jnp.result_type(v)), value_template)
    return DND(jnp.zeros((capacity, key_size)), values, jnp.zeros(capacity, bool))


def from_arrays(keys: Float[Array, "C S"], values: Any, filled: Bool[Array, " C"] | None = None) -> DND:
    """A DND holding ``keys`` and ``values`` (every slot filled unless ``filled`` says)."""
    return DND(keys, values, jnp.ones(keys.shape[0], bool) if filled is None else jnp.asarray(filled, bool))


def write(memory: DND, slot: Int[Array, ""], key: Float[Array, " S"], value: Any) -> DND:
    """``memory`` with (key, value) stored in ``slot``."""
    values = jax.tree.map(lambda table, v: table.at[slot].set(v), memory.values, value)
    return DND(memory.keys.at[slot].set(key), values, memory.filled.at[slot].set(True))


def lookup(memory: DND, query: Float[Array, " S"], num_neighbours: int) -> Read:
    """The ``num_neighbours`` filled slots nearest to ``query`` (nearest first).
    ValueError if the capacity is smaller than ``num_neighbours``; with fewer
    filled slots than that, the empty ones come last with distance +inf."""
    capacity = memory.keys.shape[0]
    if num_neighbours > capacity:
        raise ValueError(f"cannot read {num_neighbours} neighbours from a DND of {capacity} slots")
    squared = jnp.sum(jnp.square(memory.keys - query), axis=-1)
    squared = jnp.where(memory.filled, squared, jnp.inf)
    _, indices = jax.lax.top_k(-jax.lax.stop_gradient(squared), num_neighbours)
    return Read(squared[indices], memory.keys[indices], jax.tree.map(lambda v: v[indices], memory.values), indices)
