"""The DND reads the nearest filled slots, as brute force does, and passes
gradients to the query and to what it read."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.nn import dnd


def test_reads_equal_brute_force_nearest_neighbours():
    rng = np.random.default_rng(0)
    keys = rng.normal(size=(20, 3)).astype(np.float32)
    values = rng.normal(size=(20, 4)).astype(np.float32)
    filled = np.ones(20, bool)
    filled[[2, 7]] = False  # empty slots are never read
    memory = dnd.from_arrays(jnp.asarray(keys), jnp.asarray(values), jnp.asarray(filled))
    for query in rng.normal(size=(10, 3)).astype(np.float32):
        read = dnd.lookup(memory, jnp.asarray(query), 5)
        d = np.where(filled, ((keys - query) ** 2).sum(1), np.inf)
        expected = np.argsort(d)[:5]
        np.testing.assert_array_equal(np.asarray(read.indices), expected)
        np.testing.assert_allclose(read.squared_distances, d[expected], rtol=1e-5)
        np.testing.assert_allclose(read.values, values[expected])
    with pytest.raises(ValueError, match="neighbours"):
        dnd.lookup(memory, jnp.zeros(3), 21)


def test_write_and_partial_memories():
    memory = dnd.empty(4, 2, (jnp.zeros(3), jnp.zeros(())))
    memory = dnd.write(memory, 1, jnp.array([1.0, 0.0]), (jnp.ones(3), jnp.asarray(5.0)))
    read = dnd.lookup(memory, jnp.zeros(2), 2)
    assert int(read.indices[0]) == 1 and float(read.values[1][0]) == 5.0
    assert float(read.squared_distances[0]) == 1.0 and np.isinf(float(read.squared_distances[1]))


def test_gradients_reach_the_query_and_the_entries_read():
    keys = jnp.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    values = jnp.array([1.0, 2.0, 3.0])

    def read_sum(query, keys, values):
        read = dnd.lookup(dnd.from_arrays(keys, values), query, 2)
        return jnp.sum(read.squared_distances) + jnp.sum(read.values)

    g_query, g_keys, g_values = jax.grad(read_sum, argnums=(0, 1, 2))(jnp.array([0.2, 0.1]), keys, values)
    assert float(jnp.abs(g_query).max()) > 0
    np.testing.assert_allclose(g_values, [1.0, 1.0, 0.0])  # the far entry was not read
    assert float(jnp.abs(g_keys[2]).max()) == 0.0
