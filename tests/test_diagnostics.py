"""Per-step diagnostics: shapes, padding, and the first step checked by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi import dist
from seqvi.diagnostics import step_diagnostics
from seqvi.models.storn import VRAE
from seqvi.models.vhrnn import VHRNN

T, LENGTH = 6, 4


@pytest.fixture(scope="module")
def setup():
    model = VHRNN(2, latent_dim=2, rnn_dim=3, hidden_dim=4, hyper_dim=3, omega_hidden=5)
    params = model.init(jax.random.key(0))
    xs = jax.random.normal(jax.random.key(1), (T, 2))
    return model, params, xs, step_diagnostics(model, params, xs, jnp.int32(LENGTH), jax.random.key(2))


def test_shapes_and_padding(setup):
    _, _, _, out = setup
    assert out.kl.shape == out.error.shape == (T,) and out.prediction.shape == out.log_var.shape == (T, 2)
    assert out.reconstruction.shape == out.reconstruction_log_var.shape == (T, 2)
    assert np.all(np.asarray(out.kl[:LENGTH]) > 0) and np.all(np.asarray(out.error[:LENGTH]) > 0)
    for leaf in out:
        assert np.all(np.asarray(leaf[LENGTH:]) == 0)


def test_first_step_by_hand(setup):
    model, params, xs, out = setup
    state = model.initial_state(params)
    pm, ps = model._prior_params(params, state)
    qm, qs = model._proposal_params(params, state, xs[0])
    np.testing.assert_allclose(out.kl[0], dist.kl_diag_gaussians(qm, qs, pm, ps), rtol=1e-5)
    mean, scale = model.nets["emission"].apply(
        params["emission"], jnp.concatenate([model.apply_net(params, "phi_z", pm), state[0][1]]),
        model.hyper_input_of(pm, state[0][1]),
    )
    np.testing.assert_allclose(out.prediction[0], mean, rtol=1e-5)
    np.testing.assert_allclose(out.error[0], jnp.linalg.norm(mean - xs[0]), rtol=1e-5)
    np.testing.assert_allclose(out.log_var[0], 2 * jnp.log(scale), rtol=1e-5)
    z = dist.diag_gaussian(qm, qs).sample(seed=jax.random.split(jax.random.key(2), T)[0])  # the reconstruction's z_1
    mean, scale = model.nets["emission"].apply(
        params["emission"], jnp.concatenate([model.apply_net(params, "phi_z", z), state[0][1]]),
        model.hyper_input_of(z, state[0][1]),
    )
    np.testing.assert_allclose(out.reconstruction[0], mean, rtol=1e-5)
    np.testing.assert_allclose(out.reconstruction_log_var[0], 2 * jnp.log(scale), rtol=1e-5)


def test_refuses_sequence_models():
    with pytest.raises(TypeError, match="StepModel"):
        step_diagnostics(VRAE(2), {}, jnp.zeros((T, 2)), LENGTH, jax.random.key(0))
