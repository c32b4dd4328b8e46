"""The contract every model of the zoo (and VHRNN) keeps: shapes and dtypes through the pure
functions, the fused step equals the composed functions, each applicable bound
trains a step with finite gradients, the bound identities, sampling."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from seqvi import bounds
from seqvi.models.base import SequenceModel, StepModel
from seqvi.models.dssm import DMM
from seqvi.models.srnn import SRNN
from seqvi.models.storn import VOSP, VRAE
from seqvi.models.vae_rnn import VAERNN
from seqvi.models.vhrnn import VHRNN

D, T, LENGTH = 5, 8, 6

MODELS = {
    "srnn_smooth_resq": SRNN(D, latent_dim=3, rnn_dim=6, hidden_dim=4),
    "srnn_filter": SRNN(D, latent_dim=3, rnn_dim=6, hidden_dim=4, posterior_type="filtering", residual_q=False),
    "dmm_gated_smooth": DMM(D, latent_dim=3, transition_dim=4, emission_dim=4, rnn_dim=6),
    "dmm_plain_filter_gaussian": DMM(D, 3, 4, 4, 6, transition_type="plain", posterior_type="filtering",
                                     emission_type="gaussian"),
    "vae_rnn": VAERNN(D, latent_dim=3, rnn_dim=6, hidden_dim=4),
    "vosp_wiener": VOSP(D, latent_dim=3, rnn_dim=6, hidden_dim=4, prior_type="wiener"),
    "vrae": VRAE(D, latent_dim=3, rnn_dim=6, hidden_dim=4),
    "vrae_wiener_gaussian": VRAE(D, 3, 6, 4, emission_type="gaussian", prior_type="wiener"),
    "vhrnn_gru_bernoulli": VHRNN(D, latent_dim=3, rnn_dim=6, hidden_dim=4, hyper_dim=4, omega_hidden=5,
                                 cell_type="gru", emission_type="bernoulli"),
}


def _data(model):
    key = jax.random.key(0)
    if model.emission_type == "gaussian":
        xs = jax.random.normal(key, (T, D))
    else:
        xs = (jax.random.uniform(key, (T, D)) < 0.4).astype(jnp.float32)
    return xs.at[LENGTH:].set(0.0)


@pytest.fixture(scope="module", params=sorted(MODELS))
def setup(request):
    model = MODELS[request.param]
    xs = _data(model)
    return model, model.init(jax.random.key(1), xs[:LENGTH].mean(0)), xs


def test_step_functions_shapes_and_fused_step(setup):
    model, params, xs = setup
    if not isinstance(model, StepModel):
        means, scales = model.posterior_params(params, xs, LENGTH)
        assert means.shape == scales.shape == (T, 3) and means.dtype == jnp.float32
        assert bool((scales > 0).all())
        assert model.likelihood(params, means, LENGTH).log_prob(xs).shape == (T,)
        return
    state = model.initial_state(params)
    ctx = model.context(params, xs, LENGTH)
    ctx_t = jax.tree.map(lambda c: c[0], ctx)
    prior, q = model.prior(params, state, ctx_t), model.proposal(params, state, ctx_t, xs[0])
    assert prior.event_shape == q.event_shape == (3,)
    z = q.sample(seed=jax.random.key(2))
    assert z.shape == (3,) and z.dtype == jnp.float32
    px = model.emission(params, state, z, ctx_t)
    assert px.event_shape == (D,)
    new_state = model.update(params, state, z, xs[0], ctx_t)
    assert jax.tree.map(jnp.shape, new_state) == jax.tree.map(jnp.shape, state)
    out = model.step(params, state, jax.random.key(2), xs[0], ctx_t)
    np.testing.assert_allclose(out.log_qz, q.log_prob(z), rtol=1e-5)
    np.testing.assert_allclose(out.log_pz, prior.log_prob(z), rtol=1e-5)
    np.testing.assert_allclose(out.log_px, px.log_prob(xs[0]), rtol=1e-5)
    for a, b in zip(jax.tree.leaves(out.state), jax.tree.leaves(new_state)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_padding_changes_nothing(setup):
    """Values past ``length`` do not enter any bound."""
    model, params, xs = setup
    noisy = xs.at[LENGTH:].set(1.0)
    for name in ("elbo", "iwae"):
        kw = {} if name == "elbo" else {"num_particles": 3}
        a = getattr(bounds, name)(model, params, xs, LENGTH, jax.random.key(4), **kw)
        b = getattr(bounds, name)(model, params, noisy, LENGTH, jax.random.key(4), **kw)
        np.testing.assert_allclose(a.bound, b.bound, rtol=1e-5)
        np.testing.assert_allclose(a.increments[LENGTH:], 0.0)


def test_each_bound_trains_a_step(setup):
    model, params, xs = setup
    batch = {"xs": jnp.stack([xs, xs[::-1]]), "lengths": jnp.array([LENGTH, T])}
    names = ["elbo", "iwae"] + (["fivo"] if isinstance(model, StepModel) else [])
    optimizer = optax.adam(1e-2)
    for name in names:
        bound = bounds.get_bound(name, **({} if name == "elbo" else {"num_particles": 2}))
        loss_fn = bounds.batch_loss(bound, model)
        (loss, metrics), grads = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))(params, batch, jax.random.key(5))
        assert np.isfinite(float(loss)) and np.isfinite(float(metrics["kl_per_step"])), name
        assert all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads)), name
        updates, _ = optimizer.update(grads, optimizer.init(params), params)
        moved = optax.apply_updates(params, updates)
        changed = [not np.allclose(a, b) for a, b in zip(jax.tree.leaves(moved), jax.tree.leaves(params))]
        assert any(changed), name
        # constants are never trained
        np.testing.assert_allclose(grads["constants"]["input_mean"], 0.0)


def test_bound_identities(setup):
    model, params, xs = setup
    key = jax.random.key(6)
    if isinstance(model, StepModel):
        e = bounds.elbo(model, params, xs, LENGTH, key)
        i1 = bounds.iwae(model, params, xs, LENGTH, key, num_particles=1)
        np.testing.assert_allclose(e.bound, i1.bound, rtol=1e-5)
        i = bounds.iwae(model, params, xs, LENGTH, key, num_particles=4)
        f = bounds.fivo(model, params, xs, LENGTH, key, num_particles=4, ess_threshold=0.0)
        np.testing.assert_allclose(i.bound, f.bound, rtol=1e-5)
        np.testing.assert_allclose(i.increments, f.increments, rtol=1e-4, atol=1e-5)
    else:
        # IWAE(1) is the single-sample ELBO with a Monte Carlo KL; over many draws it
        # averages to the ELBO with the exact KL.
        e = bounds.elbo(model, params, xs, LENGTH, key).bound
        draws = jax.vmap(lambda k: bounds.iwae(model, params, xs, LENGTH, k, num_particles=1).bound)(
            jax.random.split(key, 3000)
        )
        e_many = jax.vmap(lambda k: bounds.elbo(model, params, xs, LENGTH, k).bound)(jax.random.split(key, 3000))
        stderr = float(jnp.std(draws) / np.sqrt(draws.size))
        assert abs(float(draws.mean() - e_many.mean())) < 4 * stderr + 1e-3
        assert np.isfinite(float(e))
        with pytest.raises(TypeError, match="use elbo or iwae"):
            bounds.fivo(model, params, xs, LENGTH, key, num_particles=2)


def test_sampling(setup):
    model, params, xs = setup
    gen, zs = model.generate(params, jax.random.key(7), 5)
    assert gen.shape == (5, D) and zs.shape == (5, 3) and gen.dtype == jnp.float32
    assert bool(jnp.isfinite(gen).all())
    if model.emission_type == "bernoulli":
        assert set(np.unique(np.asarray(gen))) <= {0.0, 1.0}
    if isinstance(model, StepModel):
        cont = model.continue_sequence(params, jax.random.key(8), xs, LENGTH, 4, num_particles=3)
        assert cont.shape == (4, D)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: SRNN(D, posterior_type="backward"), "SRNN.posterior_type"),
        (lambda: SRNN(D, latent_dim=0), "SRNN.latent_dim"),
        (lambda: DMM(D, transition_type="linear"), "DMM.transition_type"),
        (lambda: DMM(D, input_dim=-2), "DMM.input_dim"),
        (lambda: VAERNN(D, residual_q=True), "VAERNN.residual_q"),
        (lambda: VOSP(D, prior_type="ou"), "VOSP.prior_type"),
        (lambda: VRAE(D, emission_type="poisson"), "VRAE.emission_type"),
        (lambda: VRAE(D, rnn_dim=2.5), "VRAE.rnn_dim"),
    ],
)
def test_bad_configurations(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_model_kinds():
    assert isinstance(MODELS["vrae"], SequenceModel) and not isinstance(MODELS["vrae"], StepModel)
    assert all(isinstance(m, StepModel) for k, m in MODELS.items() if not k.startswith("vrae"))
