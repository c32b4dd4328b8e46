import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi import bounds, smc
from seqvi.models.parts import num_params
from seqvi.models.vrnn import VRNN
from seqvi.nn.heads import logit

D = 5


def _data(gaussian=False):
    key = jax.random.key(0)
    if gaussian:
        return jax.random.normal(key, (7, D))
    return (jax.random.uniform(key, (7, D)) < 0.4).astype(jnp.float32)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"posterior_type": "smoothing"},
        {"residual_q": True},
        {"posterior_type": "smoothing", "residual_q": True, "emission_type": "gaussian"},
        {"cell_type": "gru"},
        {"cell_type": "gru", "posterior_type": "smoothing"},
    ],
)
def test_shapes_dtypes_and_gradients(kwargs):
    model = VRNN(data_dim=D, latent_dim=3, rnn_dim=6, hidden_dim=4, **kwargs)
    xs = _data(kwargs.get("emission_type") == "gaussian")
    params = model.init(jax.random.key(1), xs.mean(0))
    state = model.initial_state(params)
    ctx = model.context(params, xs, 7)
    ctx_t = None if ctx is None else ctx[0]
    if kwargs.get("posterior_type") == "smoothing":
        assert ctx.shape == (7, 6)
    assert model.prior(params, state, ctx_t).event_shape == (3,)
    q = model.proposal(params, state, ctx_t, xs[0])
    z = q.sample(seed=jax.random.key(2))
    assert z.shape == (3,) and z.dtype == jnp.float32
    assert model.emission(params, state, z, ctx_t).event_shape == (D,)
    new_state = model.update(params, state, z, xs[0], ctx_t)
    assert jax.tree.map(jnp.shape, new_state) == jax.tree.map(jnp.shape, state)
    # The fused step equals the four functions composed.
    out = model.step(params, state, jax.random.key(2), xs[0], ctx_t)
    assert float(out.log_qz) == pytest.approx(float(q.log_prob(z)), rel=1e-5)
    assert float(out.log_pz) == pytest.approx(float(model.prior(params, state, ctx_t).log_prob(z)), rel=1e-5)
    assert float(out.log_px) == pytest.approx(float(model.emission(params, state, z, ctx_t).log_prob(xs[0])), rel=1e-5)
    grads = jax.grad(lambda p: bounds.fivo(model, p, xs, 7, jax.random.key(3), num_particles=2).bound)(params)
    assert all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads))


def test_emission_bias_is_the_logit_of_the_mean():
    model = VRNN(data_dim=D, latent_dim=2, rnn_dim=4, hidden_dim=4)
    mean = jnp.array([0.1, 0.5, 0.0, 0.9, 0.3])
    params = model.init(jax.random.key(0), mean)
    np.testing.assert_allclose(params["emission"]["params"]["logits"]["bias"], logit(mean), rtol=1e-6)
    np.testing.assert_allclose(params["constants"]["input_mean"], mean)


def test_residual_q_adds_the_prior_mean():
    model = VRNN(data_dim=D, latent_dim=2, rnn_dim=4, hidden_dim=4, residual_q=True)
    plain = VRNN(data_dim=D, latent_dim=2, rnn_dim=4, hidden_dim=4)
    params = model.init(jax.random.key(0))
    xs = _data()
    state = model.initial_state(params)
    state = (state[0] + 0.3, state[1] + 0.5)
    res = model.proposal(params, state, None, xs[0]).mean()
    base = plain.proposal(params, state, None, xs[0]).mean()
    np.testing.assert_allclose(res, base + model.prior(params, state, None).mean(), rtol=1e-5)


def test_smoothing_context_ignores_padding():
    model = VRNN(data_dim=D, latent_dim=2, rnn_dim=4, hidden_dim=4, posterior_type="smoothing")
    params = model.init(jax.random.key(0))
    xs = _data()
    padded = jnp.concatenate([xs, jnp.ones((3, D))])
    np.testing.assert_allclose(model.context(params, padded, 7)[:7], model.context(params, xs, 7), atol=1e-6)
    assert np.all(np.asarray(model.context(params, padded, 7)[7:]) == 0)


def test_generate_and_continue():
    model = VRNN(data_dim=D, latent_dim=2, rnn_dim=4, hidden_dim=4)
    params = model.init(jax.random.key(0), jnp.full(D, 0.3))
    xs, zs = model.generate(params, jax.random.key(1), 11)
    assert xs.shape == (11, D) and zs.shape == (11, 2)
    assert set(np.unique(np.asarray(xs))) <= {0.0, 1.0}
    prefix = _data()
    cont = smc.continue_sequence(model, params, jax.random.key(2), prefix, 7, 4, num_particles=8)
    assert cont.shape == (4, D)


def test_parameter_count_and_bad_configs():
    model = VRNN(data_dim=3, latent_dim=2, rnn_dim=4, hidden_dim=5)
    params = model.init(jax.random.key(0))
    expected = (
        (3 * 5 + 5) + (2 * 5 + 5)
        + (4 * 4 * 10 + 4 * 4 * 4 + 4 * 4)  # LSTM: input kernels, recurrent kernels, biases
        + (4 * 5 + 5) + 2 * (5 * 2 + 2)  # prior: hidden layer on h, mean and scale heads
        + ((4 + 5) * 5 + 5) + 2 * (5 * 2 + 2)  # proposal on [h, phi_x]
        + ((4 + 5) * 5 + 5) + (5 * 3 + 3)  # emission on [h, phi_z]
    )
    assert num_params(params) == expected
    gru = VRNN(data_dim=3, latent_dim=2, rnn_dim=4, hidden_dim=5, cell_type="gru")
    lstm_weights = 4 * 4 * 10 + 4 * 4 * 4 + 4 * 4
    gru_weights = 3 * (10 * 4 + 4) + 3 * 4 * 4 + 4  # input kernels and biases, recurrent kernels, b_hn
    assert num_params(gru.init(jax.random.key(0))) == expected - lstm_weights + gru_weights
    with pytest.raises(ValueError, match="cell_type"):
        VRNN(data_dim=3, cell_type="rnn")
    with pytest.raises(ValueError, match="latent_dim"):
        VRNN(data_dim=3, latent_dim=0)
    with pytest.raises(ValueError, match="emission_type"):
        VRNN(data_dim=3, emission_type="poisson")
    with pytest.raises(ValueError, match="posterior_type"):
        VRNN(data_dim=3, posterior_type="magic")
    with pytest.raises(ValueError, match="data_mean"):
        model.init(jax.random.key(0), jnp.zeros(7))


@pytest.mark.parametrize("posterior_type", ["filtering", "smoothing"])
def test_inputs_condition_the_prior_and_the_proposal(posterior_type):
    """An action-conditioned VRNN (input_dim k): rows [x_t, u_t] split by
    ``bound_batch``; the prior and the proposal read u_t, so changing the inputs
    changes the bound; generation and continuation need inputs."""
    from seqvi.models import registry

    model = registry.get("vrnn").build(D + 2, latent_dim=2, rnn_dim=4, hidden_dim=4, input_dim=2,
                                       posterior_type=posterior_type, emission_type="gaussian")
    assert model.data_dim == D and model.row_dim == D + 2
    params = model.init(jax.random.key(0))
    xs, u = _data(gaussian=True), jnp.eye(2)[jnp.arange(7) % 2]
    rows = jnp.concatenate([xs, u], -1)[None]
    batch = model.bound_batch({"xs": rows, "lengths": jnp.array([7])})
    assert batch["xs"].shape == (1, 7, D) and batch["inputs"].shape == (1, 7, 2)
    state = model.initial_state(params)
    ctx = model.context(params, xs, 7, u)
    prior_a = model.prior(params, state, jax.tree.map(lambda c: c[0], ctx)).mean()
    prior_b = model.prior(params, state, jax.tree.map(lambda c: c[1], ctx)).mean()
    assert float(jnp.abs(prior_a - prior_b).max()) > 1e-6
    elbo = lambda inputs: bounds.elbo(model, params, xs, 7, jax.random.key(1), inputs=inputs).bound  # noqa: E731
    assert np.isfinite(float(elbo(u))) and float(elbo(u)) != float(elbo(1.0 - u))
    grads = jax.grad(lambda p: bounds.elbo(model, p, xs, 7, jax.random.key(1), inputs=u).bound)(params)
    assert float(jnp.abs(grads["prior"]["params"]["hidden"]["dense_0"]["kernel"][-2:]).max()) > 0  # u's rows
    cont = smc.continue_sequence(model, params, jax.random.key(2), xs, 7, 3, num_particles=4, inputs=u,
                                 future_inputs=u[:3], emission_mode="mean")
    assert cont.shape == (3, D)
    with pytest.raises(ValueError, match="inputs of shape"):
        model.generate(params, jax.random.key(3), 3)
    with pytest.raises(ValueError, match="D \\+ k"):
        model.bound_batch({"xs": jnp.zeros((1, 7, D)), "lengths": jnp.array([7])})
    with pytest.raises(ValueError, match="input_dim"):
        VRNN(data_dim=3, input_dim=-1)
