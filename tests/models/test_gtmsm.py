"""GTM-SM (thesis, chapter 7): the mixture prior's weights, the transition with
its wall network, the rotating one of eq. 7.4 and the walking agent's velocity
recursion with its displacement regression, the periodic memory keys,
exact predictions from a perfect memory, the ELBO against a direct
computation, the landmark inference of section 7.10, gradients into every part,
and its refusals."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.data import navigation as nav
from seqvi.models.gtmsm import GTMSM, rotate

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
    wide = 1.0 / (np.array([0.0, 1.0, 4.0]) + 0.5)
    np.testing.assert_allclose(GTMSM(69, **dict(TINY, mixture_delta=0.5)).mixture_weights(d2), wide / wide.sum(),
                               rtol=1e-6)


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


def test_rotation_transition_on_a_hand_made_case():
    """eq. 7.4: a forward step (1, 0, 0) in the agent's frame, heading pi/2, moves
    along the second axis; a turn (0, 0, 0.1) changes only the heading; the
    first two components turn with the heading, the third does not."""
    model = GTMSM(3 * 64 + 3, num_actions=3, state_dim=3, transition_type="rotation", **{
        k: v for k, v in TINY.items() if k not in ("num_actions",)})
    params = model.init(jax.random.key(0))
    assert "walls" not in params
    params["transition"]["M"] = jnp.array([[0.0, 0.0, 0.1], [0.0, 0.0, -0.1], [1.0, 0.0, 0.0]])
    forward, left = jnp.eye(3)[2], jnp.eye(3)[0]
    s = jnp.array([1.0, 2.0, np.pi / 2])
    np.testing.assert_allclose(model.transition_mean(params, s, forward), [1.0, 3.0, np.pi / 2], atol=1e-6)
    np.testing.assert_allclose(model.transition_mean(params, s, left), [1.0, 2.0, np.pi / 2 + 0.1], atol=1e-6)
    np.testing.assert_allclose(rotate(jnp.array(np.pi / 6), jnp.array([2.0, 0.0, 5.0])),
                               [2 * np.cos(np.pi / 6), 2 * np.sin(np.pi / 6), 5.0], atol=1e-6)
    # walking a square: forward, turn left by pi/2 (M's third row), four times, returns to the start
    params["transition"]["M"] = params["transition"]["M"].at[0, 2].set(np.pi / 2)
    s = jnp.zeros(3)
    for _ in range(4):
        s = model.transition_mean(params, model.transition_mean(params, s, forward), left)
    np.testing.assert_allclose(s[:2], [0.0, 0.0], atol=1e-5)


def test_walking_velocity_recursion_and_its_displacement_regression():
    """Section 7.4.2.2: d_t = c_s * tanh(sigmoid(c_f) * d_{t-1} + M a_t) and
    s_t = s_{t-1} + R(s^(3)_{t-1}) d_t, against a loop by hand; the regression on
    the true displacements at the rows' end (step 1 and padding not scored) is
    added to the loss with its weight, and its gradient reaches M, c_s and c_f."""
    model = GTMSM(3 * 4 + 3 + 3, num_actions=3, state_dim=3, transition_type="walking", displacement_weight=2.0,
                  **{k: v for k, v in TINY.items() if k != "num_actions"})
    assert model.frame_dim == 12 and model.target_dim == 3
    params = model.init(jax.random.key(0))
    M = np.array([[0.0, 0.0, 0.3], [0.0, 0.0, -0.3], [0.5, 0.1, 0.0]])
    c_s, c_f = np.array([0.4, 0.2, 0.5]), np.array([0.3, -1.0, -2.0])
    params["transition"].update(M=jnp.asarray(M), c_s=jnp.asarray(c_s), c_f=jnp.asarray(c_f))
    ids = [2, 2, 0, 2, 1, 2, 2]
    actions = np.eye(3)[ids]
    d_prev, s, want_d, want_s = np.zeros(3), np.zeros(3), [], []
    for a in actions:
        d = c_s * np.tanh(1 / (1 + np.exp(-c_f)) * d_prev + a @ M)
        c, n = np.cos(s[2]), np.sin(s[2])
        s = s + np.array([c * d[0] - n * d[1], n * d[0] + c * d[1], d[2]])
        d_prev = d
        want_d.append(d)
        want_s.append(s)
    np.testing.assert_allclose(model.displacements(params, jnp.asarray(actions, jnp.float32)), want_d, rtol=1e-5)
    np.testing.assert_allclose(model.sample_states(params, jnp.asarray(actions, jnp.float32), None), want_s,
                               rtol=1e-5, atol=1e-6)
    target = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    xs = jnp.concatenate([jnp.asarray(np.random.default_rng(1).uniform(size=(7, 12)), jnp.float32),
                          jnp.asarray(actions, jnp.float32), jnp.asarray(target)], -1)
    batch = {"xs": jnp.stack([xs, xs]), "lengths": jnp.array([7, 6])}
    squared = np.sum((np.asarray(want_d) - target) ** 2, -1)
    error = (squared[1:7].sum() + squared[1:6].sum()) / 11
    assert float(model.displacement_error(params, batch["xs"], batch["lengths"])) == pytest.approx(error, rel=1e-5)
    loss, metrics = model.loss(params, batch, jax.random.key(2))
    plain = dataclasses.replace(model, displacement_weight=0.0, data_dim=model.data_dim - 3)
    plain_loss, _ = plain.loss(params, dict(batch, xs=batch["xs"][..., :-3]), jax.random.key(2))
    assert float(metrics["displacement_mse"]) == pytest.approx(error, rel=1e-5)
    assert float(loss) == pytest.approx(float(plain_loss) + 2.0 * error, rel=1e-5)
    grads = jax.grad(lambda p: model.displacement_error(p, batch["xs"], batch["lengths"]))(params)["transition"]
    assert all(float(jnp.abs(grads[k]).max()) > 0 for k in ("M", "c_s", "c_f"))
    with pytest.raises(ValueError, match="displacement"):
        model.transition_mean(params, jnp.zeros(3), jnp.eye(3)[0])
    key = model.memory_key  # the heading's keys, as 'rotation'
    np.testing.assert_allclose(key(jnp.array([0.5, -1.0, np.pi])), key(jnp.array([0.5, -1.0, -np.pi])), atol=1e-6)


def test_rotation_keys_are_periodic_in_the_heading():
    model = GTMSM(3 * 64 + 3, num_actions=3, state_dim=3, transition_type="rotation", latent_dim=3, hidden=(8,),
                  memory_length=5, num_neighbours=2)
    s = jnp.array([0.5, -1.0, np.pi / 6])
    np.testing.assert_allclose(model.memory_key(s), [0.5, -1.0, np.cos(np.pi / 6), np.sin(np.pi / 6)], atol=1e-6)
    np.testing.assert_allclose(model.memory_key(s + jnp.array([0.0, 0.0, 2 * np.pi])), model.memory_key(s),
                               atol=1e-5)
    with pytest.raises(ValueError, match="state_dim 3"):
        GTMSM(67, num_actions=3, transition_type="rotation")


def test_move_whitening_counts_moves():
    """W = (M^T M / A)^(-1/2) without gradient: a cell some moves away has the same
    coordinates s @ W whatever M's length, and a sheared M only rotates them
    (orthogonal moves of equal length)."""
    model = GTMSM(69, **dict(TINY, wall_whitening=True))
    params = model.init(jax.random.key(0))
    moves = jnp.asarray(nav.MOVES, jnp.float32)  # up, down, left, right, stay: M^T M / 5 = 0.4 I
    for m in (moves, 0.01 * moves):
        params["transition"]["M"] = m
        np.testing.assert_allclose(3 * m[3] @ model.move_whitening(params), [0.0, 3 / np.sqrt(0.4)], rtol=1e-3)
    params["transition"]["M"] = m = moves @ jnp.array([[0.7, 0.1], [0.0, 0.02]])
    w = model.move_whitening(params)
    np.testing.assert_allclose(w, w.T, rtol=1e-5)  # the symmetric root, not another factor
    up, right = m[0] @ w, m[3] @ w
    np.testing.assert_allclose([jnp.linalg.norm(up), jnp.linalg.norm(right), up @ right],
                               [1 / np.sqrt(0.4), 1 / np.sqrt(0.4), 0.0], rtol=1e-3, atol=1e-3)
    g = jax.grad(lambda mm: model.move_whitening({"transition": {"M": mm}}).sum())(moves)
    np.testing.assert_array_equal(g, 0.0)  # no gradient reaches M through W
    with pytest.raises(ValueError, match="wall_whitening"):
        GTMSM(69, state_dim=3, transition_type="rotation", wall_whitening=True)


def test_whitened_wall_input_closes_after_the_same_number_of_moves():
    """wall_whitening: sigma_d reads (s_{t-1} + M a_t) @ W, so a wall net that closes beyond
    3.5 units stops the third move right whatever M's length; reading s itself, it
    closes for the long moves only."""
    right = jnp.eye(5)[3]
    for whitening, expected in ((True, (True, True)), (False, (True, False))):
        model = GTMSM(69, **dict(TINY, wall_whitening=whitening))
        p = _walls(model.init(jax.random.key(0)), 0.0)
        p["walls"]["params"]["dense_0"]["kernel"] = jnp.zeros((2, 4)).at[1, 0].set(1.0)
        p["walls"]["params"]["dense_0"]["bias"] = jnp.zeros(4)
        p["walls"]["params"]["dense_1"]["kernel"] = jnp.zeros((4, 1)).at[0, 0].set(-100.0)
        p["walls"]["params"]["dense_1"]["bias"] = jnp.full((1,), 350.0)
        for scale, closes in zip((1.0 / np.sqrt(0.4), 0.01), expected):  # moves of 1.58 (whitened 1.58 too) and 0.01
            p["transition"]["M"] = scale * jnp.asarray(nav.MOVES, jnp.float32)
            second = model.transition_mean(p, jnp.array([0.0, 1.0]) * scale, right)  # to 2 moves: open
            np.testing.assert_allclose(second, jnp.array([0.0, 2.0]) * scale, rtol=1e-4)
            third = model.transition_mean(p, jnp.array([0.0, 2.0]) * scale, right)  # to 3 moves
            np.testing.assert_allclose(third, jnp.array([0.0, 2.0 if closes else 3.0]) * scale, rtol=1e-4)


def test_network_prior_reads_the_k_nearest_entries_relative_to_the_query():
    """The 'network' prior (section 7.7.2) depends on the memory only through the K
    entries read: changing an entry that is not among them leaves it unchanged,
    changing one that is changes it."""
    model = GTMSM(69, **dict(TINY, prior_type="network", prior_hidden=6))
    params = model.init(jax.random.key(0))
    keys = jnp.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [6.0, 5.0], [9.0, 9.0]])
    values = (jax.random.normal(jax.random.key(1), (5, 3)), jnp.ones((5, 3)))
    from seqvi.nn import dnd

    query = jnp.array([0.2, 0.0])
    base = model.prior(params, dnd.from_arrays(keys, values), query)
    far = model.prior(params, dnd.from_arrays(keys, (values[0].at[4].add(3.0), values[1])), query)
    near = model.prior(params, dnd.from_arrays(keys, (values[0].at[1].add(3.0), values[1])), query)
    np.testing.assert_allclose(far[0], base[0], atol=1e-6)
    assert float(jnp.abs(near[0] - base[0]).max()) > 1e-3
    assert base[0].shape == (3,) and bool((base[1] > 0).all())


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


def _constant_landmark_nets(params, gate_bias):
    """Landmark nets with beta_k = sigmoid(gate_bias) for every entry and h = 0 (sigma_q = sigma_p)."""
    params = jax.tree.map(lambda x: x, params)
    for name in ("landmark_gate", "landmark_scale"):
        params[name] = jax.tree.map(jnp.zeros_like, params[name])
    params["landmark_gate"]["params"]["dense_1"]["bias"] = jnp.full((1,), gate_bias)
    return params


def test_landmark_posterior_moves_the_transition_towards_the_recognised_states():
    """Section 7.10: mu_q = mu_p + sum_k beta_k (mu_k - mu_p) over the K' entries of
    the reversed DND nearest to z_t; a sure landmark (beta = 1, K' = 1) puts the
    state where the matching frame was memorised, as when an obstacle stops a move."""
    model = GTMSM(69, **dict(TINY, state_inference="landmark", landmark_neighbours=2, landmark_hidden=4))
    params = _walls(model.init(jax.random.key(0)), 30.0)  # sigma_d = 1: every move allowed
    from seqvi.nn import dnd

    z_keys = jnp.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [5.0, 5.0, 5.0]])
    stored = jnp.array([[2.0, 3.0], [-1.0, 0.5], [9.0, 9.0]])
    memory = dnd.from_arrays(z_keys, (stored, jnp.full((3, 2), 1e-6)))
    s_prev, action, z_t = jnp.array([0.5, 0.5]), jax.nn.one_hot(1, 5), jnp.array([0.1, 0.0, 0.0])
    mu_p_expected = s_prev + action @ params["transition"]["M"]
    for bias in (0.0, 1.5):
        mu_q, var_q, mu_p, var_p = model.landmark_posterior(_constant_landmark_nets(params, bias), memory, s_prev,
                                                            action, z_t)
        beta = 1.0 / (1.0 + np.exp(-bias))
        np.testing.assert_allclose(mu_p, mu_p_expected, rtol=1e-5)
        np.testing.assert_allclose(mu_q, mu_p + beta * ((stored[0] - mu_p) + (stored[1] - mu_p)), rtol=1e-5)
        np.testing.assert_allclose(var_q, var_p, rtol=1e-6)
        np.testing.assert_allclose(var_p, 1e-6, rtol=1e-5)  # r^2
    sure = GTMSM(69, **dict(TINY, state_inference="landmark", landmark_neighbours=1, landmark_hidden=4))
    p_sure = _constant_landmark_nets(_walls(sure.init(jax.random.key(0)), 30.0), 40.0)
    np.testing.assert_allclose(sure.landmark_posterior(p_sure, memory, s_prev, action, z_t)[0], stored[0], atol=1e-5)


def test_landmark_inference_adds_the_states_kl_to_the_bound():
    """With beta = 0 and h = 0, q(s_t | .) is the transition and the states' KL is 0;
    otherwise each step's KL is the Gaussian KL of q to p(s_t | s_{t-1}, a_t)."""
    model = GTMSM(69, **dict(TINY, state_inference="landmark", landmark_hidden=4))
    walks = nav.generate(nav.NavigationSpec(num_steps=9), 1, seed=2)
    xs = jnp.asarray(nav.rows(walks)[0])
    frames, actions = xs[:, :64], xs[:, 64:]
    params = model.init(jax.random.key(3), xs.mean(0))
    states = model.sample_states(params, actions, jax.random.key(1))
    z = model.apply_net(params, "encoder", frames[5:])[0]
    closed = _constant_landmark_nets(params, -40.0)
    inferred, kl = model.infer_states(closed, model.memory(closed, frames, states), actions, z, states,
                                      jax.random.key(2))
    np.testing.assert_allclose(kl, 0.0, atol=1e-6)
    np.testing.assert_array_equal(inferred[:5], states[:5])
    spatial = model.memory(params, frames, states)
    _, kl = model.infer_states(params, spatial, actions, z, states, jax.random.key(2))
    memory = model.landmark_memory(spatial, states)
    mu_q, var_q, mu_p, var_p = (np.asarray(v) for v in model.landmark_posterior(params, memory, states[4],
                                                                                 actions[5], z[0]))
    by_hand = 0.5 * np.sum(var_q / var_p + (mu_q - mu_p) ** 2 / var_p - 1.0 + np.log(var_p / var_q))
    assert float(kl[0]) == pytest.approx(by_hand, rel=1e-4)
    assert bool((kl >= 0).all()) and float(kl.sum()) > 0
    fresh = model.init(jax.random.key(9), xs.mean(0))
    _, kl_at_init = model.infer_states(fresh, model.memory(fresh, frames, states), actions, z, states,
                                       jax.random.key(2))
    assert float(kl_at_init.max()) < 0.1  # the gates start near closed and h at 0: q(s_t | .) near the transition


@pytest.mark.parametrize("prior_type", ["memory", "state"])
def test_landmark_elbo_terms_against_a_direct_computation(prior_type):
    """With landmark inference the bound over the predicted frames is
    sum_t log p(x_t | z_t) - [log q(z_t | x_t) - log p(z_t | s_t, m)] - KL_t(s), with
    s_t the inferred states (for either prior, the z-term at the sample)."""
    model = GTMSM(69, **dict(TINY, prior_type=prior_type, state_inference="landmark", landmark_hidden=4))
    walks = nav.generate(nav.NavigationSpec(num_steps=9), 1, seed=2)
    xs = jnp.asarray(nav.rows(walks)[0])
    params = model.init(jax.random.key(3), xs.mean(0))
    params["landmark_gate"]["params"]["dense_1"]["bias"] = jnp.full((1,), 0.5)  # open the gates: KL_t(s) > 0
    key = jax.random.key(4)
    elbo, frames, kl_sum, _ = model.sequence_elbo(params, xs, 8, key)
    k_states, k_z = jax.random.split(key)
    x, a = xs[:, :64], xs[:, 64:]
    states = model.sample_states(params, a, k_states)
    mean, scale = model.apply_net(params, "encoder", x[5:])
    z = mean + scale * jax.random.normal(k_z, mean.shape)
    memory = model.memory(params, x, states)
    inferred, kl_states = model.infer_states(params, memory, a, z, states, jax.random.fold_in(k_states, 1))
    total, kls = 0.0, 0.0
    for i in range(3):  # predicted frames tau < t <= length: indices 5, 6, 7
        t = 5 + i
        log_q = float(np.sum(-0.5 * ((z[i] - mean[i]) / scale[i]) ** 2 - np.log(scale[i]) - 0.5 * np.log(2 * np.pi)))
        log_p = float(model.prior_log_prob(model.prior(params, memory, inferred[t]), z[i]))
        means = np.asarray(jax.nn.sigmoid(model.apply_net(params, "decoder", z[i])))
        log_lik = float(np.sum(-0.5 * ((np.asarray(x[t]) - means) / 0.1) ** 2 - np.log(0.1) - 0.5 * np.log(2 * np.pi)))
        kl = log_q - log_p + float(kl_states[i])
        total += log_lik - kl
        kls += kl
    assert float(frames) == 3.0 and float(kl_states[:3].sum()) > 1.0
    assert float(elbo) == pytest.approx(total, rel=1e-4)
    assert float(kl_sum) == pytest.approx(kls, rel=1e-4)


@pytest.mark.parametrize("prior_type,transition_type,state_inference,whitening", [
    ("memory", "walls", "transition", False), ("state", "walls", "transition", False),
    ("network", "rotation", "transition", False), ("memory", "walls", "landmark", False),
    ("network", "walking", "transition", False), ("memory", "walls", "transition", True)])
def test_gradients_reach_every_part(prior_type, transition_type, state_inference, whitening):
    model = GTMSM(69, **dict(TINY, prior_type=prior_type, transition_type=transition_type, prior_hidden=6,
                             state_dim=2 if transition_type == "walls" else 3, state_inference=state_inference,
                             landmark_hidden=4, wall_whitening=whitening))
    walks = nav.generate(nav.NavigationSpec(num_steps=10), 2, seed=5)
    batch = {"xs": jnp.asarray(nav.rows(walks)), "lengths": jnp.array([10, 8])}
    params = model.init(jax.random.key(6), batch["xs"][0].mean(0))
    grads = jax.grad(lambda p: model.loss(p, batch, jax.random.key(7))[0])(params)
    groups = ({"transition", "encoder", "decoder"} | ({"walls"} if transition_type == "walls" else set())
              | {"state": {"state_prior"}, "network": {"memory_reader", "network_prior"}, "memory": set()}[prior_type]
              | ({"landmark_gate", "landmark_scale"} if state_inference == "landmark" else set()))
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
    with pytest.raises(ValueError, match="prior_type"):
        GTMSM(69, prior_type="other")
    with pytest.raises(ValueError, match="state_inference"):
        GTMSM(69, state_inference="other")
    with pytest.raises(ValueError, match="landmark_neighbours"):
        GTMSM(69, memory_length=3, num_neighbours=2, state_inference="landmark", landmark_neighbours=4)
    GTMSM(69, memory_length=3, num_neighbours=2, landmark_neighbours=4)  # unused without landmark inference
    with pytest.raises(ValueError, match="trains with bound"):
        from seqvi.core import ObjectiveOptions

        GTMSM(69).objective(ObjectiveOptions(bound="fivo"))
    with pytest.raises(ValueError, match="mixture_delta"):
        GTMSM(69, mixture_delta=0.0)
    with pytest.raises(ValueError, match="displacement_weight"):
        GTMSM(69, displacement_weight=1.0)
    with pytest.raises(ValueError, match="landmark"):
        GTMSM(69, state_dim=3, transition_type="walking", state_inference="landmark")
    with pytest.raises(ValueError, match="state_dim 3"):
        GTMSM(69, transition_type="walking")
