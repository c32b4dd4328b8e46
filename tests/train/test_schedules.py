import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.train import kl_weight_schedule, learning_rate_schedule, make_optimizer


def test_learning_rate_warms_up_then_decays_to_one_percent():
    schedule = learning_rate_schedule(1.0, num_steps=110, warmup_steps=10, decay="cosine")
    np.testing.assert_allclose([schedule(0), schedule(5), schedule(10), schedule(110)], [0.0, 0.5, 1.0, 0.01],
                               atol=1e-6)
    with pytest.raises(ValueError, match="decay must be"):
        learning_rate_schedule(1.0, 10, decay="linear")


def test_kl_weight_rises_linearly_to_one():
    beta = kl_weight_schedule(4)
    np.testing.assert_allclose([beta(0), beta(2), beta(4), beta(9)], [0.0, 0.5, 1.0, 1.0])
    assert float(kl_weight_schedule(0)(0)) == 1.0


def test_weight_decay_is_decoupled_from_the_gradient():
    """With a zero gradient Adam's step is zero, so AdamW moves theta by -lr * wd * theta."""
    params = {"w": jnp.array([1.0, -2.0])}
    zero = jax.tree.map(jnp.zeros_like, params)
    for weight_decay, expected in ((0.0, [1.0, -2.0]), (0.5, [0.95, -1.9])):
        optimizer = make_optimizer(0.1, 10, clip_norm=None, weight_decay=weight_decay)
        updates, _ = optimizer.update(zero, optimizer.init(params), params)
        np.testing.assert_allclose(params["w"] + updates["w"], expected, rtol=1e-6)
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        make_optimizer(0.1, 10, weight_decay=-1.0)


def test_frozen_groups_do_not_decay_while_frozen():
    params = {"alpha": jnp.array([1.0]), "rest": jnp.array([1.0])}
    zero = jax.tree.map(jnp.zeros_like, params)
    optimizer = make_optimizer(0.1, 10, clip_norm=None, frozen=("alpha",), frozen_steps=1, weight_decay=0.5)
    state = optimizer.init(params)
    moved = []
    for _ in range(2):
        updates, state = optimizer.update(zero, state, params)
        moved.append({k: float(v[0]) for k, v in updates.items()})
    np.testing.assert_allclose([moved[0]["alpha"], moved[0]["rest"]], [0.0, -0.05], atol=1e-7)
    np.testing.assert_allclose(moved[1]["alpha"], -0.05, rtol=1e-6)  # frozen for the first step only


def test_group_scales_multiply_a_groups_steps():
    params = {"generator": jnp.ones(3), "discriminator": jnp.ones(2)}
    grads = {"generator": jnp.full(3, 0.5), "discriminator": jnp.full(2, 0.5)}
    plain = make_optimizer(1e-3, 10, clip_norm=None)
    scaled = make_optimizer(1e-3, 10, clip_norm=None, group_scales=(("discriminator", 10.0),))
    a, _ = plain.update(grads, plain.init(params), params)
    b, _ = scaled.update(grads, scaled.init(params), params)
    np.testing.assert_allclose(b["generator"], a["generator"])
    np.testing.assert_allclose(b["discriminator"], 10.0 * np.asarray(a["discriminator"]), rtol=1e-6)
    with pytest.raises(ValueError, match="must be > 0"):
        make_optimizer(1e-3, 10, group_scales=(("discriminator", 0.0),))
