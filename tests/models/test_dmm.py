import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi import bounds
from seqvi.models.dmm import DMM


def test_gated_transition_starts_near_the_identity_map_when_the_gate_is_closed():
    """mu = (1 - g) (A z + b) + g h with A initialised to I: forcing the gate shut
    (a large negative gate bias) gives mu = z + b."""
    model = DMM(4, latent_dim=3, transition_dim=5, emission_dim=4, rnn_dim=4)
    params = model.init(jax.random.key(0))
    params["transition"]["params"]["gate_out"]["bias"] = jnp.full((3,), -50.0)
    z = jnp.array([0.3, -1.2, 2.0])
    mean, _ = model.transition_params(params, z, jnp.zeros(0))
    np.testing.assert_allclose(mean, z + params["transition"]["params"]["linear"]["bias"], atol=1e-5)


def test_inputs_drive_the_transition_and_are_checked():
    model = DMM(4, latent_dim=2, transition_dim=5, emission_dim=4, rnn_dim=4, input_dim=3)
    params = model.init(jax.random.key(0))
    xs = (jax.random.uniform(jax.random.key(1), (5, 4)) < 0.5).astype(jnp.float32)
    us = jax.random.normal(jax.random.key(2), (5, 3))
    a = bounds.elbo(model, params, xs, 5, jax.random.key(3), inputs=us).bound
    b = bounds.elbo(model, params, xs, 5, jax.random.key(3), inputs=us + 1.0).bound
    assert np.isfinite(float(a)) and not np.isclose(float(a), float(b))
    with pytest.raises(ValueError, match="needs inputs of shape"):
        bounds.elbo(model, params, xs, 5, jax.random.key(3))
    gen, _ = model.generate(params, jax.random.key(4), 5, inputs=us)
    assert gen.shape == (5, 4)
