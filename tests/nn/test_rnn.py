"""The GRU cell is Flax's, and ``masked_scan`` (the one RNN scan) equals the cell
applied step by step, forward and backward, ignores padding, and keeps the input
projection out of its time loop."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.nn import GRUCell, LSTMCell, masked_scan
from seqvi.nn.dnc import DNCCell

T, D, H, LENGTH = 7, 3, 5, 4


class _FlaxGRU(nn.Module):
    @nn.compact
    def __call__(self, carry, x):
        return nn.GRUCell(H, name="cell")(carry, x)


def test_gru_cell_is_flax_gru_cell():
    x = jax.random.normal(jax.random.key(1), (2, D))
    carry = jax.random.normal(jax.random.key(2), (2, H))
    ours, theirs = GRUCell(H).init(jax.random.key(0), carry, x), _FlaxGRU().init(jax.random.key(0), carry, x)
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(GRUCell(H).apply(ours, carry, x)[0], _FlaxGRU().apply(theirs, carry, x)[0],
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cell", [LSTMCell(H), GRUCell(H)], ids=["lstm", "gru"])
def test_inputs_in_parts_equal_the_concatenated_input(cell):
    a, b = jax.random.normal(jax.random.key(1), (2,)), jax.random.normal(jax.random.key(2), (D - 2,))
    params = cell.init(jax.random.key(0), cell.zero_carry(), a, b)
    carry = jax.tree.map(lambda c: c + 0.3, cell.zero_carry())
    whole = cell.apply(params, carry, jnp.concatenate([a, b]))
    split = cell.apply(params, carry, a, b)
    for u, v in zip(jax.tree.leaves(whole), jax.tree.leaves(split)):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-6)


CELLS = {"lstm": LSTMCell(H), "gru": GRUCell(H), "dnc": DNCCell(4, 3, 2, H, H)}


@pytest.fixture(scope="module", params=sorted(CELLS))
def cell_and_params(request):
    cell = CELLS[request.param]
    return cell, cell.init(jax.random.key(0), cell.zero_carry(), jnp.zeros(D))


def _step_by_step(cell, params, xs):
    carry, outs = cell.zero_carry(), []
    for x in xs:
        carry, out = cell.apply(params, carry, x)
        outs.append(out)
    return carry, jnp.stack(outs)


def _close(a, b):
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_masked_scan_is_the_cell_step_by_step(cell_and_params):
    cell, params = cell_and_params
    xs = jax.random.normal(jax.random.key(3), (T, D))
    _close(masked_scan(cell, params, xs), _step_by_step(cell, params, xs))
    # forward with a length: the carry after the last valid step, zeros after it
    carry, outs = masked_scan(cell, params, xs, jnp.int32(LENGTH))
    ref_carry, ref_outs = _step_by_step(cell, params, xs[:LENGTH])
    _close((carry, outs[:LENGTH]), (ref_carry, ref_outs))
    np.testing.assert_array_equal(outs[LENGTH:], 0.0)
    # backward: b_t over x_{t:length}, started at the last valid step
    carry, outs = masked_scan(cell, params, xs, jnp.int32(LENGTH), reverse=True)
    ref_carry, ref_outs = _step_by_step(cell, params, xs[:LENGTH][::-1])
    _close((carry, outs[:LENGTH]), (ref_carry, ref_outs[::-1]))
    np.testing.assert_array_equal(outs[LENGTH:], 0.0)


def test_padding_changes_nothing(cell_and_params):
    cell, params = cell_and_params
    xs = jax.random.normal(jax.random.key(4), (T, D))
    other = xs.at[LENGTH:].set(100.0)
    for reverse in (False, True):
        a = masked_scan(cell, params, xs, jnp.int32(LENGTH), reverse=reverse)
        b = masked_scan(cell, params, other, jnp.int32(LENGTH), reverse=reverse)
        _close(a, b)


def _dots_in_scan_body(cell, params, xs):
    jaxpr = jax.make_jaxpr(lambda p, x: masked_scan(cell, p, x, jnp.int32(LENGTH), reverse=True))(params, xs)
    (scan,) = [e for e in jaxpr.jaxpr.eqns if e.primitive.name == "scan"]
    return [e for e in scan.params["jaxpr"].jaxpr.eqns if e.primitive.name == "dot_general"]


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_input_projection_is_outside_the_time_loop(name):
    """Only h_{t-1} W_h is multiplied inside the loop; x W_x is one [T, D] matmul."""
    cell = CELLS[name]
    params = cell.init(jax.random.key(0), cell.zero_carry(), jnp.zeros(D))
    dots = _dots_in_scan_body(cell, params, jnp.ones((T, D)))
    assert len(dots) == 1
    assert dots[0].invars[0].aval.shape == (H,)  # the hidden state, not the input
