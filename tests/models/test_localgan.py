"""LocalGAN's local loss: the centre has alpha 0, the hinge acts only when the
generated response lies nearer the centre than the gold one, and the losses
refuse what they cannot use."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.models import localgan
from seqvi.nn import dbm

Q, R = 3, 3


@pytest.fixture(scope="module")
def dbm_params():
    p = dbm.init_params(jax.random.key(0), Q + R, 4, 4, scale=0.5)
    return p._replace(b=jax.random.normal(jax.random.key(1), (Q + R,)))


def test_the_centre_is_a_mean_field_fixed_point_with_alpha_zero(dbm_params):
    q = jnp.array([0.3, -1.0, 0.5])
    centre = localgan.response_centre(dbm_params, q)
    v, mu1, _ = dbm.conditional_mean_field(dbm_params, jnp.concatenate([q, centre]), jnp.arange(Q + R) < Q)
    np.testing.assert_allclose(v[Q:], dbm_params.b[Q:] + (dbm_params.w1 @ mu1)[Q:], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v[Q:], centre, rtol=1e-5, atol=1e-6)
    assert float(localgan.radial_distribution(dbm_params, q, centre)) == pytest.approx(0.0, abs=1e-6)
    far = centre + 3.0
    assert float(localgan.radial_distribution(dbm_params, q, far)) > 0  # away from the centre: alpha > 0


def test_the_hinge_acts_only_when_the_generated_response_is_nearer_the_centre(dbm_params):
    q = jnp.array([0.3, -1.0, 0.5])
    centre = localgan.response_centre(dbm_params, q)
    gold, near, far = centre + 1.0, centre + 0.2, centre + 2.5
    alpha = lambda r: float(localgan.radial_distribution(dbm_params, q, r))  # noqa: E731
    assert alpha(near) < alpha(gold) < alpha(far)
    assert float(localgan.local_hinge(dbm_params, q, gold, far)) == 0.0  # phase 1: farther than gold
    hinge = float(localgan.local_hinge(dbm_params, q, gold, near))  # phase 2: nearer than gold
    assert hinge == pytest.approx(alpha(gold) - alpha(near), rel=1e-5) and hinge > 0
    grad = jax.grad(lambda r: localgan.local_hinge(dbm_params, q, gold, r))(near)
    assert float(jnp.abs(grad).max()) > 0  # the generated response receives a gradient
    params_grad = jax.grad(lambda p: localgan.local_hinge(p, q, gold, near))(dbm_params)
    assert all(float(jnp.abs(g).max()) == 0 for g in params_grad)  # the DBM is not trained by it


def test_losses_and_their_refusals():
    log_d = jnp.log(jnp.array([0.5, 0.25]))
    assert float(localgan.generator_loss(log_d, jnp.array([0.0, 2.0]), weight=10.0)) == pytest.approx(
        np.mean([np.log(2), np.log(4) + 20.0]), rel=1e-6)
    with pytest.raises(ValueError, match="lambda must be >= 0"):
        localgan.generator_loss(log_d, jnp.zeros(2), weight=-1.0)
    assert float(localgan.discriminator_loss(jnp.array([0.0]), jnp.array([0.0]))) == pytest.approx(2 * np.log(2))
    with pytest.raises(ValueError, match="the response would be empty"):
        localgan.response_centre(dbm.init_params(jax.random.key(0), 3, 2, 2), jnp.zeros(3))
