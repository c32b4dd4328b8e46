"""DNC memory: hand-computed cases for every addressing function and the
invariants of the paper (weights are distributions or less; allocation prefers
free slots; link rows and columns sum to at most 1, zero diagonal)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.nn import dnc


def iface(**overrides):
    """A 1-head interface for words of size 2 that writes by allocation."""
    base = dict(read_keys=jnp.zeros((1, 2)), read_strengths=jnp.ones(1), write_key=jnp.zeros(2),
                write_strength=jnp.asarray(1.0), erase=jnp.zeros(2), write_vector=jnp.zeros(2),
                free_gates=jnp.zeros(1), allocation_gate=jnp.asarray(1.0), write_gate=jnp.asarray(1.0),
                read_modes=jnp.asarray([[0.0, 1.0, 0.0]]))
    return dnc.Interface(**dict(base, **overrides))


def test_content_weights_by_hand():
    memory = jnp.asarray([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    w = dnc.content_weights(memory, jnp.asarray([[1.0, 0.0]]), jnp.asarray([2.0]))
    cos = np.array([1.0, 0.0, 1 / np.sqrt(2)])
    expected = np.exp(2 * cos) / np.exp(2 * cos).sum()
    np.testing.assert_allclose(w[0], expected, rtol=1e-5)


def test_allocation_prefers_free_slots_by_hand():
    a = dnc.allocation_weights(jnp.asarray([0.9, 0.1, 0.5]))
    # free list (by usage) 1, 2, 0: a1 = 0.9, a2 = 0.5 * 0.1, a0 = 0.1 * 0.1 * 0.5
    np.testing.assert_allclose(a, [0.1 * 0.1 * 0.5, 0.9, 0.5 * 0.1], rtol=1e-6)
    assert int(jnp.argmax(a)) == 1 and float(a.sum()) <= 1.0
    np.testing.assert_allclose(dnc.allocation_weights(jnp.zeros(4)), [1, 0, 0, 0])  # empty memory: first slot


def test_usage_by_hand():
    u = dnc.updated_usage(jnp.asarray([0.5, 0.0]), jnp.asarray([0.0, 1.0]), jnp.asarray([[1.0, 0.0]]),
                          jnp.asarray([0.5]))
    # slot 0: read with free gate 0.5 -> retention 0.5; slot 1: written -> usage 1
    np.testing.assert_allclose(u, [0.25, 1.0])


def test_write_then_read_a_sequence_by_links():
    state = dnc.initial_state(num_slots=3, word_size=2, num_reads=1)
    words = [jnp.asarray([1.0, 0.0]), jnp.asarray([0.0, 1.0]), jnp.asarray([1.0, 1.0])]
    for word in words:  # allocation writes the three words into slots 0, 1, 2 in turn
        state, _ = dnc.step(state, iface(write_vector=word, erase=jnp.ones(2)))
    np.testing.assert_allclose(state.memory, np.stack(words), atol=1e-6)
    np.testing.assert_allclose(state.link, [[0, 0, 0], [1, 0, 0], [0, 1, 0]], atol=1e-6)  # L[i, j]: i written after j
    np.testing.assert_allclose(state.precedence, [0, 0, 1], atol=1e-6)
    # A content read of the first word, then forward reads walk the write order.
    no_write = dict(write_gate=jnp.asarray(0.0))
    state, reads = dnc.step(state, iface(read_keys=jnp.asarray([[1.0, -1.0]]), read_strengths=jnp.asarray([50.0]),
                                         **no_write))
    np.testing.assert_allclose(reads[0], words[0], atol=1e-3)
    forward = jnp.asarray([[0.0, 0.0, 1.0]])
    state, reads = dnc.step(state, iface(read_modes=forward, **no_write))
    np.testing.assert_allclose(reads[0], words[1], atol=1e-3)
    state, reads = dnc.step(state, iface(read_modes=jnp.asarray([[1.0, 0.0, 0.0]]), **no_write))  # and back
    np.testing.assert_allclose(reads[0], words[0], atol=1e-3)


def test_erase_and_add_by_hand():
    memory = jnp.asarray([[1.0, 2.0], [3.0, 4.0]])
    out = dnc.write_memory(memory, jnp.asarray([1.0, 0.5]), jnp.asarray([1.0, 0.0]), jnp.asarray([5.0, 6.0]))
    np.testing.assert_allclose(out, [[5.0, 8.0], [0.5 * 3 + 2.5, 4.0 + 3.0]])


def test_invariants_over_random_steps():
    r, n, w = 2, 6, 3
    state = dnc.initial_state(n, w, r)
    keys = jax.random.split(jax.random.key(0), 25)
    step = jax.jit(dnc.step)
    for key in keys:
        vector = 3.0 * jax.random.normal(key, (dnc.interface_size(w, r),))
        state, reads = step(state, dnc.parse_interface(vector, w, r))
        for weights in (state.write_weights[None], state.read_weights):
            assert float(weights.min()) >= -1e-6 and float(weights.sum(-1).max()) <= 1 + 1e-5
        assert float(state.usage.min()) >= -1e-6 and float(state.usage.max()) <= 1 + 1e-6
        assert float(state.link.min()) >= -1e-6
        assert float(state.link.sum(0).max()) <= 1 + 1e-5 and float(state.link.sum(1).max()) <= 1 + 1e-5
        np.testing.assert_allclose(np.diag(state.link), 0.0)
        assert float(state.precedence.sum()) <= 1 + 1e-5
        assert reads.shape == (r, w) and bool(jnp.isfinite(reads).all())


def test_interface_parsing_and_size_error():
    w, r = 4, 2
    assert dnc.interface_size(w, r) == r * w + 3 * w + 5 * r + 3
    parsed = dnc.parse_interface(jnp.zeros(dnc.interface_size(w, r)), w, r)
    assert parsed.read_keys.shape == (r, w) and float(parsed.read_strengths[0]) == pytest.approx(1 + np.log(2))
    np.testing.assert_allclose(parsed.read_modes, 1 / 3)
    with pytest.raises(ValueError, match="has 33 entries"):
        dnc.parse_interface(jnp.zeros(10), w, r)


def test_gradients_flow_through_a_step():
    w, r, n = 3, 2, 4
    state = dnc.initial_state(n, w, r)

    def loss(vector):
        s, reads = dnc.step(state, dnc.parse_interface(vector, w, r))
        s, reads = dnc.step(s, dnc.parse_interface(vector * 0.5, w, r))
        return jnp.sum(reads**2) + jnp.sum(s.memory)

    g = jax.grad(loss)(jax.random.normal(jax.random.key(1), (dnc.interface_size(w, r),)))
    assert bool(jnp.isfinite(g).all()) and float(jnp.abs(g).sum()) > 0


def test_dnc_cell_scans_and_learns_through_memory():
    cell = dnc.DNCCell(num_slots=5, word_size=3, num_reads=2, controller_size=8, output_size=4)
    xs = jax.random.normal(jax.random.key(0), (6, 2))
    params = cell.init(jax.random.key(1), cell.zero_carry(), xs[0])

    def run(params):
        def body(carry, x):
            return cell.apply(params, carry, x)
        carry, ys = jax.lax.scan(body, cell.zero_carry(), xs)
        return ys, carry

    ys, carry = jax.jit(run)(params)
    assert ys.shape == (6, 4) and carry[1].memory.shape == (5, 3) and carry[2].shape == (2, 3)
    assert float(jnp.abs(carry[1].memory).sum()) > 0  # it wrote
    grads = jax.grad(lambda p: jnp.sum(run(p)[0] ** 2))(params)
    assert float(jnp.abs(grads["params"]["interface"]["kernel"]).sum()) > 0  # the memory path carries gradient
