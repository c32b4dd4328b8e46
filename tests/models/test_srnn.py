import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.models.srnn import SRNN

D = 4


@pytest.mark.parametrize("residual_q", [True, False])
def test_res_q_kl_does_not_depend_on_the_predicted_prior_mean(residual_q):
    """Thesis, section 5.3: with mu_q = mu_p + residual, KL(q || p) involves the
    residual and the scales only; shifting the prior mean network's output
    leaves it unchanged (and changes it without Res_q)."""
    model = SRNN(D, latent_dim=3, rnn_dim=5, hidden_dim=4, residual_q=residual_q)
    xs = (jax.random.uniform(jax.random.key(0), (6, D)) < 0.5).astype(jnp.float32)
    params = model.init(jax.random.key(1), xs.mean(0))
    ctx = model.context(params, xs, 6)
    z_prev = jax.random.normal(jax.random.key(2), (3,))
    ctx_t = jax.tree.map(lambda c: c[2], ctx)
    shifted = jax.tree.map(lambda x: x, params)
    shifted["prior"]["params"]["mean"]["bias"] = params["prior"]["params"]["mean"]["bias"] + jnp.array([1.5, -2.0, 0.7])
    kl, kl_shifted = model.step_kl(params, z_prev, ctx_t), model.step_kl(shifted, z_prev, ctx_t)
    mean = model.prior(params, z_prev, ctx_t).mean()
    assert not np.allclose(model.prior(shifted, z_prev, ctx_t).mean(), mean)
    if residual_q:
        np.testing.assert_allclose(kl_shifted, kl, rtol=1e-6)
    else:
        assert abs(float(kl_shifted - kl)) > 1e-3


def test_deterministic_states_follow_the_shifted_inputs():
    """d_t sees x_{1:t-1} only: changing x_t leaves d_{1:t} unchanged and moves d_{t+1}."""
    model = SRNN(D, latent_dim=2, rnn_dim=5, hidden_dim=4)
    xs = (jax.random.uniform(jax.random.key(0), (6, D)) < 0.5).astype(jnp.float32)
    params = model.init(jax.random.key(1))
    d, _ = model.context(params, xs, 6)
    d2, _ = model.context(params, xs.at[3].set(1.0 - xs[3]), 6)
    np.testing.assert_allclose(d[:4], d2[:4])
    assert not np.allclose(d[4], d2[4])


def test_smoothing_summary_sees_the_future_and_filtering_does_not():
    xs = (jax.random.uniform(jax.random.key(0), (6, D)) < 0.5).astype(jnp.float32)
    changed = xs.at[5].set(1.0 - xs[5])
    for posterior_type, sees_future in (("smoothing", True), ("filtering", False)):
        model = SRNN(D, latent_dim=2, rnn_dim=5, hidden_dim=4, posterior_type=posterior_type)
        params = model.init(jax.random.key(1))
        _, a = model.context(params, xs, 6)
        _, a2 = model.context(params, changed, 6)
        assert (not np.allclose(a[2], a2[2])) == sees_future


def test_the_shared_feature_network_feeds_the_generative_and_inference_models():
    """feature_dim > 0 (thesis, section 5.4): u_t = phi_x(x_{t-1}) for the GRU and
    [d_t, phi_x(x_t)] for the posterior. Changing phi_x moves the prior (through
    d_t) and the posterior; the ELBO's gradient reaches it; chunks with carried
    state (filtering) give the whole sequence's bound."""
    from seqvi import bounds

    model = SRNN(D, latent_dim=3, rnn_dim=5, hidden_dim=4, posterior_type="filtering", feature_dim=6,
                 emission_type="gaussian")
    xs = jax.random.normal(jax.random.key(0), (2, 7, D))
    batch = {"xs": xs, "lengths": jnp.array([7, 5])}
    params = model.init(jax.random.key(1), xs.mean((0, 1)))
    assert params["forward_rnn"]["params"]["cell"]["ir"]["kernel"].shape[0] == 6
    d, a = model.context(params, xs[0], 7)
    moved = jax.tree.map(lambda v: v, params)
    moved["features"]["params"]["dense_0"]["bias"] = params["features"]["params"]["dense_0"]["bias"] + 0.5
    d2, a2 = model.context(moved, xs[0], 7)
    assert not np.allclose(d[1:], d2[1:]) and not np.allclose(a, a2)
    grads = jax.grad(lambda p: bounds.elbo(model, p, xs[0], 7, jax.random.key(2)).bound)(params)
    assert float(jnp.abs(grads["features"]["params"]["dense_0"]["kernel"]).max()) > 0
    whole = bounds.batch_bounds(bounds.elbo, model, params, batch, jax.random.key(3)).bound
    chunked = bounds.chunked_batch_bounds(bounds.elbo, model, params, batch, jax.random.key(3), chunk_length=3,
                                          num_particles=1).bound
    np.testing.assert_allclose(chunked, whole, rtol=1e-5)
    with pytest.raises(ValueError, match="feature_dim"):
        SRNN(D, feature_dim=-1)


def test_external_inputs_drive_the_deterministic_states():
    """input_dim k (an action-conditioned SRNN): u_t = [x_{t-1}, v_t]. Changing v_t
    leaves d_{1:t-1} unchanged and moves d_t (so the bound); generation reads v;
    a continuation after a prefix starts from the d of the prefix's own inputs."""
    from seqvi import bounds, smc

    model = SRNN(D, latent_dim=2, rnn_dim=5, hidden_dim=4, input_dim=2, emission_type="gaussian")
    assert model.row_dim == D + 2
    xs = jax.random.uniform(jax.random.key(0), (6, D))
    v = jnp.eye(2)[jnp.arange(6) % 2]
    params = model.init(jax.random.key(1), jnp.concatenate([xs, v], -1).mean(0))
    np.testing.assert_allclose(params["constants"]["input_mean"], xs.mean(0), rtol=1e-6)
    d, _ = model.context(params, xs, 6, v)
    d2, _ = model.context(params, xs, 6, v.at[3].set(1.0 - v[3]))
    np.testing.assert_allclose(d[:3], d2[:3])
    assert not np.allclose(d[3], d2[3])
    elbo = lambda inputs: bounds.elbo(model, params, xs, 6, jax.random.key(2), inputs=inputs).bound  # noqa: E731
    assert np.isfinite(float(elbo(v))) and float(elbo(v)) != float(elbo(1.0 - v))
    assert float(jnp.abs(jax.grad(elbo)(v)).max()) > 0
    # generation: the first step's d from d_0 = 0, x_0 = the mean and v_1
    g1, _ = model.generate(params, jax.random.key(3), 4, inputs=v[:4], emission_mode="mean")
    g2, _ = model.generate(params, jax.random.key(3), 4, inputs=1.0 - v[:4], emission_mode="mean")
    assert g1.shape == (4, D) and not np.allclose(g1, g2)
    state = model.continuation_state(params, jnp.zeros(2), xs, 4, inputs=v)
    np.testing.assert_allclose(state[1], d[3], rtol=1e-6)
    cont = smc.continue_sequence(model, params, jax.random.key(4), xs, 6, 3, num_particles=4, inputs=v,
                                 future_inputs=v[:3], emission_mode="mean")
    assert cont.shape == (3, D) and np.isfinite(np.asarray(cont)).all()
    with pytest.raises(ValueError, match="inputs of shape"):
        model.generate(params, jax.random.key(3), 3)
    with pytest.raises(ValueError, match="inputs of shape"):
        model.context(params, xs, 6)
    with pytest.raises(ValueError, match="inputs=None"):
        SRNN(D, latent_dim=2, rnn_dim=5, hidden_dim=4).generate(params, jax.random.key(3), 3, inputs=v[:3])
    with pytest.raises(ValueError, match="input_dim"):
        SRNN(D, input_dim=-1)
