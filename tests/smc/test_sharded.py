"""Particle-sharded FIVO equals FIVO on one device (4 simulated CPU devices, in a
subprocess because the device count is fixed when JAX starts)."""

import subprocess
import sys
import textwrap

import pytest

SHARDED = textwrap.dedent(
    """
    import jax
    jax.config.update("jax_num_cpu_devices", 4)
    import jax.numpy as jnp
    import numpy as np
    from seqvi import bounds
    from seqvi.models import VRNN
    from seqvi import bounds as sharded

    assert len(jax.devices()) == 4
    model = VRNN(data_dim=6, latent_dim=3, rnn_dim=5, hidden_dim=7)
    params = model.init(jax.random.key(0))
    xs = (jax.random.uniform(jax.random.key(1), (12, 6)) < 0.3).astype(jnp.float32)
    length, key, mesh = jnp.asarray(10), jax.random.key(2), sharded.particle_mesh()

    def one(p):
        return bounds.fivo(model, p, xs, length, key, num_particles=16)

    def four(p):
        return sharded.fivo(model, p, xs, length, key, num_particles=16, mesh=mesh)

    a, b = jax.jit(one)(params), jax.jit(four)(params)
    resampled = int(a.diagnostics.resampled.sum())
    assert resampled >= 2, resampled  # the comparison covers the all-gather of states
    np.testing.assert_array_equal(np.asarray(a.diagnostics.resampled), np.asarray(b.diagnostics.resampled))
    np.testing.assert_array_equal(np.asarray(a.diagnostics.ancestors), np.asarray(b.diagnostics.ancestors))
    np.testing.assert_allclose(np.asarray(a.increments), np.asarray(b.increments), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(a.diagnostics.final_log_weights),
                               np.asarray(b.diagnostics.final_log_weights), rtol=1e-5, atol=1e-5)
    assert b.diagnostics.final_log_weights.sharding.spec == jax.sharding.PartitionSpec("particles")
    ga = jax.grad(lambda p: one(p).bound)(params)
    gb = jax.grad(lambda p: four(p).bound)(params)
    for x, y in zip(jax.tree.leaves(ga), jax.tree.leaves(gb)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-4, atol=1e-5)
    try:
        sharded.fivo(model, params, xs, length, key, num_particles=10, mesh=mesh)
    except ValueError as e:
        assert "not divisible" in str(e)
    else:
        raise AssertionError("10 particles over 4 devices must be refused")
    print("OK", float(a.bound), float(b.bound))
    """
)


@pytest.mark.slow
def test_particle_sharded_fivo_equals_one_device():
    out = subprocess.run([sys.executable, "-c", SHARDED], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().startswith("OK")
