"""KVAE: the ELBO's z-terms against an independent LGSSM computation (float64),
K = 1 gives the ssm module's LGSSM, masked frames contribute nothing, a training
step with the alpha network frozen, imputation and generation."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from seqvi.models.kvae import KVAE
from seqvi.nn import LSTMCell, masked_scan, shift_right
from seqvi.nn.conv import depth_to_space
from seqvi.ssm import lgssm
from seqvi.train.schedules import make_optimizer

S, T = 8, 6  # 8x8 frames, 6 steps
TINY = dict(image_size=S, a_dim=2, latent_dim=3, num_matrices=3, hidden_dim=16, alpha_rnn_dim=5)


def _frames(key, num=1):
    return (jax.random.uniform(key, (num, T, S * S)) < 0.2).astype(jnp.float32)


def _independent_log_p_a(model, params, a, inputs=None):
    """log p(a | u) by the ssm module's Kalman filter, with alpha_t computed here
    from the dynamics network's parts (complete data: it reads a_{<t})."""
    lstm, out = params["alpha"]["params"]["lstm"], params["alpha"]["params"]["out"]
    _, hidden = masked_scan(LSTMCell(model.alpha_rnn_dim), {"params": lstm}, shift_right(a))
    alpha = jax.nn.softmax(nn.Dense(model.num_matrices).apply({"params": out}, hidden))
    g = params["lgssm"]
    mats = {k: jnp.einsum("tk,kij->tij", alpha, g[k]) for k in g}
    prior = lgssm.Params(
        initial_mean=jnp.zeros(model.latent_dim), initial_cov=model.initial_scale * jnp.eye(model.latent_dim),
        transition_matrix=mats["A"], transition_cov=model.transition_noise * jnp.eye(model.latent_dim),
        emission_matrix=mats["C"], emission_cov=model.emission_noise * jnp.eye(model.a_dim),
        input_matrix=mats["B"] if model.input_dim else None,
    )
    return lgssm.log_likelihood(prior, a, inputs)


def _randomise_lgssm(params, key):
    ka, kb = jax.random.split(key)
    g = dict(params["lgssm"])
    g["A"] = g["A"] + 0.2 * jax.random.normal(ka, g["A"].shape, g["A"].dtype)
    if "B" in g:
        g["B"] = 0.3 * jax.random.normal(kb, g["B"].shape, g["B"].dtype)
    g["C"] = g["C"] * 10
    return dict(params, lgssm=g)


@pytest.mark.parametrize("input_dim", [0, 2])
def test_z_terms_equal_the_lgssm_log_likelihood(x64, input_dim):
    """For every sampled a and z: log p(a|z) + log p(z|u) - log p(z|a,u) = log p(a|u),
    and log p(a|u) equals an independent Kalman-filter computation; so the
    sampled ELBO equals (recon - log q + log p(a|u)) sample by sample, hence in
    expectation."""
    model = KVAE(input_dim=input_dim, **TINY)
    params = _randomise_lgssm(jax.tree.map(lambda v: v.astype(jnp.float64), model.init(jax.random.key(0))),
                              jax.random.key(9))
    frames = _frames(jax.random.key(1))[0].astype(jnp.float64)
    inputs = jax.random.normal(jax.random.key(2), (T, input_dim), jnp.float64) if input_dim else None
    mask = jnp.ones(T, bool)
    exact = jax.jit(KVAE(input_dim=input_dim, lgssm_estimator="exact", **TINY).elbo)
    elbo = jax.jit(model.elbo)
    mean, scale = model.encode(params, frames)
    for seed in range(3):
        value, terms = elbo(params, frames, mask, jax.random.key(seed), inputs)
        sampled_z = terms["log_p_a_given_z"] + terms["log_p_z"] - terms["log_p_z_given_a"]
        np.testing.assert_allclose(sampled_z, terms["log_p_a"], rtol=1e-9)
        a = mean + scale * jax.random.normal(jax.random.split(jax.random.key(seed))[0], (T, 2), jnp.float64)
        np.testing.assert_allclose(terms["log_p_a"], _independent_log_p_a(model, params, a, inputs), rtol=1e-9)
        np.testing.assert_allclose(value, terms["recon"] - terms["log_q_a"] + terms["log_p_a"], rtol=1e-9)
        exact_value, _ = exact(params, frames, mask, jax.random.key(seed), inputs)
        np.testing.assert_allclose(exact_value, value, rtol=1e-9)


def test_one_matrix_gives_the_ssm_lgssm(x64):
    model = KVAE(**dict(TINY, num_matrices=1))
    params = _randomise_lgssm(jax.tree.map(lambda v: v.astype(jnp.float64), model.init(jax.random.key(0))),
                              jax.random.key(3))
    a = jax.random.normal(jax.random.key(4), (T, 2), jnp.float64)
    dyn = model.dynamics(params, a, jnp.ones(T, bool))
    np.testing.assert_allclose(dyn.alpha, 1.0)
    g = params["lgssm"]
    fixed = lgssm.Params(jnp.zeros(3), model.initial_scale * jnp.eye(3), g["A"][0], model.transition_noise * jnp.eye(3),
                         g["C"][0], model.emission_noise * jnp.eye(2))
    prior = model.prior_lgssm(dyn, jnp.float64)
    np.testing.assert_allclose(prior.transition_matrix, jnp.broadcast_to(g["A"][0], (T, 3, 3)))
    np.testing.assert_allclose(prior.emission_matrix, jnp.broadcast_to(g["C"][0], (T, 2, 3)))
    np.testing.assert_allclose(lgssm.log_likelihood(prior, a), lgssm.log_likelihood(fixed, a), rtol=1e-12)


@pytest.fixture(scope="module")
def trained_setup():
    model = KVAE(**TINY)
    frames = _frames(jax.random.key(5), num=2)
    return model, model.init(jax.random.key(0), frames.mean((0, 1))), frames


def test_masked_frames_contribute_nothing(trained_setup):
    model, params, frames = trained_setup
    mask = jnp.array([True, True, False, False, True, True])
    x = frames[0]
    changed = x.at[2:4].set(1.0 - x[2:4])
    v1, t1 = model.elbo(params, x, mask, jax.random.key(7))
    v2, t2 = model.elbo(params, changed, mask, jax.random.key(7))
    np.testing.assert_allclose(v1, v2, rtol=1e-6)
    np.testing.assert_allclose(t1["recon"], t2["recon"], rtol=1e-6)
    # the reconstruction term is the sum over observed frames only
    mean, scale = model.encode(params, x)
    a = mean + scale * jax.random.normal(jax.random.split(jax.random.key(7))[0], mean.shape)
    logits = model.decode(params, a)
    per_frame = jnp.sum(x * jax.nn.log_sigmoid(logits) + (1 - x) * jax.nn.log_sigmoid(-logits), -1)
    np.testing.assert_allclose(t1["recon"], jnp.sum(per_frame[mask]), rtol=1e-5)
    # missing steps feed the dynamics network C_t E[z_t | a_{<t}], observed ones a_t
    dyn = model.dynamics(params, a, mask)
    np.testing.assert_allclose(dyn.network_inputs[mask], a[mask], rtol=1e-6)
    filtered = lgssm.filter(model.prior_lgssm(dyn), jnp.where(mask[:, None], a, 0.0), mask=mask).filtered_means
    np.testing.assert_allclose(dyn.network_inputs[~mask], jnp.einsum("tmn,tn->tm", dyn.emission_matrix, filtered)[~mask],
                               rtol=1e-4, atol=1e-6)


def test_training_step_with_alpha_frozen(trained_setup):
    model, params, frames = trained_setup
    batch = {"xs": frames, "lengths": jnp.array([T, T - 1]), "mask": jnp.array([[1, 1, 0, 1, 1, 1]] * 2)}
    loss_fn = jax.jit(jax.value_and_grad(model.loss, has_aux=True))
    (loss, metrics), grads = loss_fn(params, batch, jax.random.key(1))
    assert np.isfinite(float(loss)) and "elbo_per_frame" in metrics
    for group in ("encoder", "decoder", "alpha", "lgssm"):
        norms = [float(jnp.linalg.norm(g)) for g in jax.tree.leaves(grads[group])]
        assert all(np.isfinite(norms)) and max(norms) > 0, group
    opt = make_optimizer(1e-2, 10, frozen=("alpha",), frozen_steps=1)
    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    first = optax.apply_updates(params, updates)
    same = jax.tree.map(lambda a, b: bool(jnp.all(a == b)), first["alpha"], params["alpha"])
    assert all(jax.tree.leaves(same))  # frozen in step 1
    assert not np.allclose(first["lgssm"]["C"], params["lgssm"]["C"])
    updates, _ = opt.update(grads, state, first)
    second = optax.apply_updates(first, updates)
    assert not np.allclose(second["alpha"]["params"]["out"]["kernel"], first["alpha"]["params"]["out"]["kernel"])


def test_imputation_and_generation(trained_setup):
    model, params, frames = trained_setup
    mask = jnp.array([True, True, False, False, True, True])
    smooth = model.impute(params, frames[0], mask, method="smoothing")
    filt = model.impute(params, frames[0], mask, method="filtering")
    assert smooth.shape == filt.shape == (T, S * S) and bool(jnp.all((smooth >= 0) & (smooth <= 1)))
    np.testing.assert_allclose(smooth[mask], filt[mask], rtol=1e-6)  # observed frames: both reconstruct
    assert not np.allclose(smooth[~mask], filt[~mask])
    with pytest.raises(ValueError, match="method"):
        model.impute(params, frames[0], mask, method="guess")
    probs, a = model.generate(params, jax.random.key(2), 9, emission_mode="mean")
    assert probs.shape == (9, S * S) and a.shape == (9, 2) and bool(jnp.all(jnp.isfinite(probs)))


def test_gaussian_pixels(trained_setup):
    """emission_type='gaussian': the reconstruction term is sum_t log N(x_t; sigmoid(logits),
    pixel_scale^2 I) over the observed frames; samples scatter around the means."""
    _, params, frames = trained_setup
    model = KVAE(**TINY, emission_type="gaussian", pixel_scale=0.2)
    grey = jax.random.uniform(jax.random.key(9), (T, S * S))
    mask = jnp.array([True, True, False, True, True, True])
    _, terms = model.elbo(params, grey, mask, jax.random.key(7))
    mean, scale = model.encode(params, grey)
    a = mean + scale * jax.random.normal(jax.random.split(jax.random.key(7))[0], mean.shape)
    pixel_mean = jax.nn.sigmoid(model.decode(params, a))
    direct = -0.5 * ((grey - pixel_mean) / 0.2) ** 2 - jnp.log(0.2) - 0.5 * jnp.log(2 * jnp.pi)
    np.testing.assert_allclose(terms["recon"], jnp.sum(direct.sum(-1)[mask]), rtol=1e-5)
    means, _ = model.generate(params, jax.random.key(2), 400, emission_mode="mean")
    draws, _ = model.generate(params, jax.random.key(2), 400)
    assert 0.15 < float(jnp.std(draws - means)) < 0.25


@pytest.mark.parametrize("method", ["smoothing", "filtering"])
def test_posterior_states_are_the_kalman_means_and_decode_to_the_imputation(trained_setup, method):
    """posterior_states: z the smoothed (or filtered) means of the LGSSM that the dynamics
    select, given the observed codes and the inputs; a the codes where observed and
    C_t E[z_t | .] in the gap; impute decodes that a."""
    _, _, frames = trained_setup
    model = KVAE(input_dim=2, **TINY)
    params = _randomise_lgssm(model.init(jax.random.key(0)), jax.random.key(4))
    u = jax.random.normal(jax.random.key(8), (T, 2))
    mask = jnp.array([True, True, False, False, True, True])
    z, a = model.posterior_states(params, frames[0], mask, u, method)
    assert z.shape == (T, 3) and a.shape == (T, 2)
    codes = jnp.where(mask[:, None], model.encode(params, frames[0])[0], 0.0)
    np.testing.assert_allclose(a[mask], codes[mask], rtol=1e-6)
    dyn = model.dynamics(params, codes, mask, u)
    prior = model.prior_lgssm(dyn)
    expected = (lgssm.smoother(prior, codes, u, mask).smoothed_means if method == "smoothing"
                else lgssm.filter(prior, codes, u, mask).filtered_means)
    np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a[~mask], jnp.einsum("tmn,tn->tm", dyn.emission_matrix, z)[~mask], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.impute(params, frames[0], mask, u, method), jax.nn.sigmoid(model.decode(params, a)),
                               rtol=1e-6)


def test_conv_networks():
    model = KVAE(**dict(TINY, image_size=16, network="conv"))
    params = model.init(jax.random.key(0))
    frames = (jax.random.uniform(jax.random.key(1), (T, 256)) < 0.2).astype(jnp.float32)
    mean, scale = model.encode(params, frames)
    assert mean.shape == scale.shape == (T, 2) and model.decode(params, mean).shape == (T, 256)
    value, _ = model.elbo(params, frames, jnp.ones(T, bool), jax.random.key(2))
    assert np.isfinite(float(value))


def test_depth_to_space():
    x = jnp.arange(2 * 2 * 4, dtype=jnp.float32).reshape(2, 2, 4)  # one output channel
    y = depth_to_space(x)
    assert y.shape == (4, 4, 1)
    np.testing.assert_array_equal(y[:2, :2, 0], x[0, 0].reshape(2, 2))  # pixel (0, 0)'s block
    np.testing.assert_array_equal(y[2:, 2:, 0], x[1, 1].reshape(2, 2))


@pytest.mark.parametrize("kwargs, message", [
    (dict(network="rnn"), "network"), (dict(a_dim=0), "a_dim"), (dict(input_dim=-1), "input_dim"),
    (dict(recon_weight=0.0), "recon_weight"), (dict(network="conv", image_size=20), "multiple of 8"),
    (dict(lgssm_estimator="mc"), "lgssm_estimator"), (dict(emission_type="poisson"), "emission_type"),
    (dict(pixel_scale=0.0), "pixel_scale"),
])
def test_bad_configuration(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KVAE(**kwargs)


def test_weights_scale_their_terms(trained_setup):
    model, params, frames = trained_setup
    mask = jnp.ones(T, bool)
    value, terms = model.elbo(params, frames[0], mask, jax.random.key(3), recon_weight=0.3, kl_weight=0.25)
    np.testing.assert_allclose(value, 0.3 * terms["recon"] + 0.25 * (terms["lgssm"] - terms["log_q_a"]), rtol=1e-5)
