"""GTM-SM (thesis, chapter 7): the mixture prior's weights, the transition with
its wall network, exact predictions from a perfect memory, the ELBO against a
direct computation, gradients into every part, and its refusals."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.data import navigation as nav
from seqvi.models.gtmsm import GTMSM

TINY = dict(num_actions=5, latent_dim=3, hidden=(8,), memory_length=5, num_neighbours=2, wall_hidden=4)


def _walls(params, bias):
    params = jax.tree.map(lambda x: x, params)
    params["walls"]["params"]["dense_1"]["kernel"] = jnp.zeros_like(params["walls"]["params"]["dense_1"]["kernel"])
    params["walls"]["params"]["dense_1"]["bias"] = jnp.full((1,), bias)
    return params


def test_mixture_weights_are_inverse_squared_distances():
    model = GTMSM(69, **TINY)
    d2 = jnp.array([0.0, 1.0, 4.0])
    w = np.asarray(model.mixture_weights(d2))
    inverse = 1.0 / (np.array([0.0, 1.0, 4.0]) + 1e-4)
    np.testing.assert_allclose(w, inverse / inverse.sum(), rtol=1e-6)


def test_transition_moves_by_m_a_gated_by_the_wall_network():
    model = GTMSM(69, **TINY)
    params = model.init(jax.random.key(0))
    params["transition"]["M"] = jnp.asarray(nav.MOVES, jnp.float32)
    s, right = jnp.array([2.0, 3.0]), jnp.eye(5)[3]
    np.testing.assert_allclose(model.transition_mean(_walls(params, 50.0), s, right), [2.0, 4.0], atol=1e-6)
    np.testing.assert_allclose(model.transition_mean(_walls(params, -50.0), s, right), s, atol=1e-6)
    half = model.transition_mean(_walls(params, 0.0), s, right)  # sigma_d = 1/2
    np.testing.assert_allclose(half, [2.0, 3.5], atol=1e-6)
    # sigma_d reads the projected position s + M a: a wall net that closes beyond column 3.5
    p = _walls(params, 0.0)
    p["walls"]["params"]["dense_0"]["kernel"] = jnp.zeros((2, 4)).at[1, 0].set(1.0)
    p["walls"]["params"]["dense_0"]["bias"] = jnp.zeros(4)
    p["walls"]["params"]["dense_1"]["kernel"] = jnp.zeros((4, 1)).at[0, 0].set(-100.0)
    p["walls"]["params"]["dense_1"]["bias"] = jnp.full((1,), 350.0)
    np.testing.assert_allclose(model.transition_mean(p, jnp.array([0.0, 2.0]), right), [0.0, 3.0], atol=1e-4)
    np.testing.assert_allclose(model.transition_mean(p, jnp.array([0.0, 3.0]), right), [0.0, 3.0], atol=1e-4)


def test_a_perfect_memory_predicts_the_stored_views():
    """Binary views, an encoder z = 20 x - 10 and a decoder sigmoid(z) (a VAE that
    reconstructs), M the true moves with open walls and K = 1: on a walk that
    revisits a memorised loop the predictions are the true views."""
    rng = np.random.default_rng(0)
    environment = (rng.uniform(size=(32, 32)) < 0.5).astype(np.float32)
    loop = [3, 3, 1, 1, 2, 2, 0, 0]  # right, right, down, down, left, left, up, up
    actions = np.array(loop + loop + loop[:5])
    positions, p = [], np.array([4, 4])
    for a in actions:
        p = p + nav.MOVES[a]
        positions.append(p)
    frames = np.stack([nav.view(environment, q).ravel() for q in positions])
    xs = jnp.asarray(np.concatenate([frames, np.eye(5, dtype=np.float32)[actions]], 1))
    model = GTMSM(69, num_actions=5, latent_dim=64, hidden=(), memory_length=8, num_neighbours=1)
    params = _walls(model.init(jax.random.key(1)), 50.0)
    params["transition"]["M"] = jnp.asarray(nav.MOVES, jnp.float32)
    params["encoder"]["params"]["mean"] = {"kernel": 20.0 * jnp.eye(64), "bias": jnp.full(64, -10.0)}
    params["decoder"]["params"]["logits"] = {"kernel": jnp.eye(64), "bias": jnp.zeros(64)}
    prediction = model.predict(params, xs)
    np.testing.assert_allclose(prediction.states, np.array(positions) - [4, 4], atol=1e-4)
    np.testing.assert_allclose(prediction.frames[8:], frames[8:], atol=1e-3)


def test_elbo_terms_against_a_direct_computation():
    model = GTMSM(69, **TINY)
    walks = nav.generate(nav.NavigationSpec(num_steps=9), 1, seed=2)
    xs = jnp.asarray(nav.rows(walks)[0])
    params = model.init(jax.random.key(3), xs.mean(0))
    key = jax.random.key(4)
    elbo, frames, kl_sum, _ = model.sequence_elbo(params, xs, 8, key)
    # the same draws, then every term by hand in numpy
    k_states, k_z = jax.random.split(key)
    x, a = np.asarray(xs[:, :64]), xs[:, 64:]
    states = np.asarray(model.sample_states(params, a, k_states))
    mean, scale = (np.asarray(v) for v in model.apply_net(params, "encoder", xs[:, :64]))
    eps = np.asarray(jax.random.normal(k_z, (4, 3)))
    total, kls = 0.0, 0.0
    for i, t in enumerate(range(5, 8)):  # predicted frames tau < t <= length: indices 5, 6, 7
        z = mean[t] + scale[t] * eps[i]
        d2 = ((states[:5] - states[t]) ** 2).sum(1)
        nearest = np.argsort(d2)[:2]
        w = 1.0 / (d2[nearest] + 1e-4)
        w /= w.sum()
        log_n = lambda z, m, s: np.sum(-0.5 * ((z - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi))  # noqa: E731
        log_prior = np.log(sum(w[k] * np.exp(log_n(z, mean[j], scale[j])) for k, j in enumerate(nearest)))
        kl = log_n(z, mean[t], scale[t]) - log_prior
        logits = np.asarray(model.apply_net(params, "decoder", jnp.asarray(z)))
        means = 1.0 / (1.0 + np.exp(-logits))
        log_lik = log_n(x[t], means, np.full(64, 0.1))  # the Gaussian pixels, scale 0.1
        total += log_lik - kl
        kls += kl
    assert float(frames) == 3.0
    assert float(elbo) == pytest.approx(total, rel=1e-4)
    assert float(kl_sum) == pytest.approx(kls, rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("prior_kind", ["memory", "state"])
def test_gradients_reach_every_part(prior_kind):
    model = GTMSM(69, **dict(TINY, prior_kind=prior_kind))
    walks = nav.generate(nav.NavigationSpec(num_steps=10), 2, seed=5)
    batch = {"xs": jnp.asarray(nav.rows(walks)), "lengths": jnp.array([10, 8])}
    params = model.init(jax.random.key(6), batch["xs"][0].mean(0))
    grads = jax.grad(lambda p: model.loss(p, batch, jax.random.key(7))[0])(params)
    groups = {"transition", "walls", "encoder", "decoder"} | ({"state_prior"} if prior_kind == "state" else set())
    assert set(grads) == groups
    for group in groups:
        leaves = jax.tree.leaves(grads[group])
        assert all(bool(jnp.isfinite(g).all()) for g in leaves) and any(float(jnp.abs(g).max()) > 0 for g in leaves), group


def test_refusals():
    with pytest.raises(ValueError, match="must exceed num_actions"):
        GTMSM(5, num_actions=5)
    with pytest.raises(ValueError, match="num_neighbours"):
        GTMSM(69, memory_length=3, num_neighbours=4)
    with pytest.raises(ValueError, match="nothing is left to predict"):
        GTMSM(69, memory_length=8).predict(GTMSM(69, memory_length=8).init(jax.random.key(0)), jnp.zeros((8, 69)))
    with pytest.raises(ValueError, match="prior_kind"):
        GTMSM(69, prior_kind="other")
    with pytest.raises(ValueError, match="trains with bound"):
        from seqvi.core import ObjectiveOptions

        GTMSM(69).objective(ObjectiveOptions(bound="fivo"))
