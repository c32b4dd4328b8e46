"""Bound identities, finiteness and one training step for each bound."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from seqvi import bounds
from linear_gaussian import LinearGaussian, joint_log_likelihood, random_params
from seqvi.models.vrnn import VRNN
from seqvi.train import Trainer

LG = LinearGaussian()


@pytest.fixture(scope="module")
def vrnn_problem():
    model = VRNN(data_dim=6, latent_dim=3, rnn_dim=8, hidden_dim=8)
    xs = (jax.random.uniform(jax.random.key(0), (2, 9, 6)) < 0.3).astype(jnp.float32)
    params = model.init(jax.random.key(1), xs.mean((0, 1)))
    return model, params, {"xs": xs, "lengths": jnp.array([9, 6], jnp.int32)}


def test_iwae_with_one_particle_is_the_elbo(vrnn_problem):
    model, params, batch = vrnn_problem
    key = jax.random.key(2)
    e = bounds.elbo(model, params, batch["xs"][0], 9, key)
    i = bounds.iwae(model, params, batch["xs"][0], 9, key, num_particles=1)
    assert float(e.bound) == pytest.approx(float(i.bound), rel=1e-6)
    np.testing.assert_allclose(e.increments, i.increments, rtol=1e-5, atol=1e-5)


def test_fivo_that_never_resamples_is_iwae(vrnn_problem):
    model, params, batch = vrnn_problem
    key = jax.random.key(3)
    i = bounds.iwae(model, params, batch["xs"][1], 6, key, num_particles=5)
    f = bounds.fivo(model, params, batch["xs"][1], 6, key, num_particles=5, ess_threshold=0.0)
    assert float(f.bound) == float(i.bound)
    assert not np.any(np.asarray(f.diagnostics.resampled))


def test_increments_sum_to_the_bound(vrnn_problem):
    model, params, batch = vrnn_problem
    for name, kw in [("elbo", {}), ("iwae", {"num_particles": 3}), ("fivo", {"num_particles": 3})]:
        r = bounds.get_bound(name, **kw)(model, params, batch["xs"][1], 6, jax.random.key(4))
        assert float(r.increments.sum()) == pytest.approx(float(r.bound), rel=1e-5)
        assert np.all(np.asarray(r.increments[6:]) == 0.0)


def test_bound_ordering_on_the_linear_gaussian_model(x64):
    """E[ELBO] <= E[IWAE_K] <= log p(x), estimated over many keys."""
    params = random_params(jax.random.key(0), 2, 2, jnp.float64)
    xs, _ = LG.generate(params, jax.random.key(1), 5)
    exact = float(joint_log_likelihood(params, xs))
    keys = jax.random.split(jax.random.key(2), 500)
    e = jax.vmap(lambda k: bounds.elbo(LG, params, xs, 5, k).bound)(keys).mean()
    i = jax.vmap(lambda k: bounds.iwae(LG, params, xs, 5, k, num_particles=16).bound)(keys).mean()
    f = jax.vmap(lambda k: bounds.fivo(LG, params, xs, 5, k, num_particles=16).bound)(keys).mean()
    assert float(e) < float(i) < exact
    assert float(f) < exact


def test_kl_weight_and_free_bits(vrnn_problem):
    model, params, batch = vrnn_problem
    key = jax.random.key(5)
    full = bounds.elbo(model, params, batch["xs"][0], 9, key)
    no_kl = bounds.elbo(model, params, batch["xs"][0], 9, key, kl_weight=0.0)
    assert float(no_kl.bound) == pytest.approx(float(full.diagnostics.log_px.sum()), rel=1e-6)
    fb = bounds.elbo(model, params, batch["xs"][0], 9, key, free_bits=100.0)
    assert float(fb.bound) == pytest.approx(float(full.diagnostics.log_px.sum()) - 9 * 100.0, rel=1e-5)


@pytest.mark.parametrize(
    "name, options",
    [("elbo", {}), ("iwae", {"num_particles": 3}), ("fivo", {"num_particles": 3, "ess_threshold": 1.0})],
)
def test_each_bound_trains_one_step(vrnn_problem, name, options):
    model, params, batch = vrnn_problem
    loss = bounds.batch_loss(bounds.get_bound(name, **options), model)
    trainer = Trainer(loss, optax.adam(1e-2), None)
    state = trainer.init_state(params)
    before = jax.tree.map(np.asarray, params)
    (value, _), grads = jax.value_and_grad(loss, has_aux=True)(params, batch, jax.random.key(0))
    assert np.isfinite(float(value))
    assert all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads))
    state, metrics = trainer.step(state, jax.tree.map(np.asarray, batch))
    assert bool(metrics["finite"])
    changed = jax.tree.map(lambda a, b: not np.array_equal(a, np.asarray(b)), before, state.params)
    assert any(jax.tree.leaves(changed["emission"]))
    # The data mean is a constant: Adam leaves it untouched.
    np.testing.assert_array_equal(before["constants"]["input_mean"], state.params["constants"]["input_mean"])


def test_unknown_bound():
    with pytest.raises(ValueError, match="bound must be one of"):
        bounds.get_bound("nope")


# ---- truncated BPTT: chunks with carried states -----------------------------------------------
def _chunk_models():
    """Every registered StepModel, in a variant whose context carries exactly across
    chunks (filtering posteriors: a backward RNN sees only its chunk's future)."""
    from seqvi.models.dmm import DMM
    from seqvi.models.rnn import RNN
    from seqvi.models.srnn import SRNN
    from seqvi.models.storn import VOSP
    from seqvi.models.vae_rnn import VAERNN
    from seqvi.models.vhrnn import VHRNN
    from seqvi.models.vrnn_i import VRNNI

    return {
        "rnn": RNN(6, rnn_dim=5, hidden_dim=4, emission_type="gmm", emission_components=2),
        "srnn": SRNN(6, latent_dim=3, rnn_dim=5, hidden_dim=4, posterior_type="filtering", feature_dim=4),
        "vrnn": VRNN(data_dim=6, latent_dim=3, rnn_dim=8, hidden_dim=8),
        "vrnn_i": VRNNI(6, latent_dim=3, rnn_dim=5, hidden_dim=4),
        "vae_rnn": VAERNN(6, latent_dim=3, rnn_dim=5, hidden_dim=4),
        "vosp": VOSP(6, latent_dim=3, rnn_dim=5, hidden_dim=4, prior_type="wiener"),
        "dmm": DMM(6, latent_dim=3, transition_dim=4, emission_dim=4, rnn_dim=5, posterior_type="filtering"),
        "vhrnn": VHRNN(6, latent_dim=3, rnn_dim=5, hidden_dim=4, hyper_dim=3, omega_hidden=4),
    }


def test_every_step_model_is_checked_in_chunks():
    from seqvi.core import StepModel
    from seqvi.models import registry

    step_models = {n for n, e in registry.entries().items() if issubclass(e.cls, StepModel) and n != "toy_linear"}
    assert step_models <= set(_chunk_models()), step_models - set(_chunk_models())


@pytest.mark.parametrize("name", sorted(_chunk_models()))
@pytest.mark.parametrize("bound, options", [("elbo", {}), ("iwae", dict(num_particles=3)),
                                            ("fivo", dict(num_particles=4, ess_threshold=0.8))])
def test_chunks_with_carried_state_equal_one_long_sequence(vrnn_problem, name, bound, options):
    """A sequence scored in chunks of 4 steps (3 chunks, the last padded), each
    starting from the particles, log-weights and context carry the previous one
    ended with, gives the bound of the whole sequence: the same draws, weights and
    resampling decisions (every forward recursion of a context carried: the RNN's
    and SRNN's d_t, VOSP's recognition RNN, the filtering DMM's LSTM)."""
    model = _chunk_models()[name]
    _, _, batch = vrnn_problem
    params = model.init(jax.random.key(1), batch["xs"].mean((0, 1)))
    bound_fn = bounds.get_bound(bound, **options)
    whole = bounds.batch_bounds(bound_fn, model, params, batch, jax.random.key(7))
    chunked = bounds.chunked_batch_bounds(bound_fn, model, params, batch, jax.random.key(7), chunk_length=4,
                                          num_particles=options.get("num_particles", 1))
    np.testing.assert_allclose(chunked.bound, whole.bound, rtol=1e-5)
    np.testing.assert_allclose(chunked.kl, whole.diagnostics.kl.sum(-1), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(chunked.resampled, whole.diagnostics.resampled.sum(-1))


def test_truncated_gradients_stop_at_chunk_boundaries(vrnn_problem):
    """The chunked loss has the whole sequence's value but not its gradient (no
    gradient crosses a chunk boundary), unless one chunk covers the sequence."""
    model = _chunk_models()["rnn"]
    _, _, batch = vrnn_problem
    params = model.init(jax.random.key(1), batch["xs"].mean((0, 1)))
    bound_fn = bounds.get_bound("elbo")

    def grads(chunk_length):
        loss = bounds.batch_loss(bound_fn, model, chunk_length=chunk_length)
        return jax.value_and_grad(lambda p: loss(p, batch, jax.random.key(3))[0])(params)

    (whole, g_whole), (chunked, g_chunked), (one, g_one) = grads(0), grads(4), grads(9)
    np.testing.assert_allclose([chunked, one], [whole, whole], rtol=1e-5)
    leaves = lambda g: np.concatenate([np.ravel(x) for x in jax.tree.leaves(g)])  # noqa: E731
    np.testing.assert_allclose(leaves(g_one), leaves(g_whole), rtol=1e-4, atol=1e-6)
    assert np.abs(leaves(g_chunked) - leaves(g_whole)).max() > 1e-4


def test_tbptt_options_are_checked(vrnn_problem):
    from seqvi import smc
    from seqvi.core import ObjectiveOptions
    from seqvi.models.storn import VRAE

    model, params, batch = vrnn_problem
    with pytest.raises(ValueError, match="tbptt_length must be a non-negative int"):
        bounds.BoundObjective(model, ObjectiveOptions(tbptt_length=-1))
    with pytest.raises(ValueError, match="tbptt_length needs a StepModel"):
        bounds.BoundObjective(VRAE(6), ObjectiveOptions(bound="elbo", tbptt_length=4))
    with pytest.raises(ValueError, match="chunk_length must be a positive int"):
        bounds.chunked_batch_bounds(bounds.elbo, model, params, batch, jax.random.key(0), chunk_length=0,
                                    num_particles=1)
    with pytest.raises(ValueError, match="the carry holds .2,. log-weights but this run moves num_particles=4"):
        bounds.fivo(model, params, batch["xs"][0], 9, jax.random.key(0), num_particles=4,
                    carry=smc.initial_carry(model, params, 2))
    with pytest.raises(ValueError, match="scores whole sequences"):
        bounds.elbo(VRAE(6), None, batch["xs"][0], 9, jax.random.key(0), carry=smc.initial_carry(model, params, 1))
    # the trainer's loss over chunks: FIVO's value equals the whole sequence's (the filtering VRNN carries exactly)
    chunked = bounds.BoundObjective(model, ObjectiveOptions(bound="fivo", num_particles=3, tbptt_length=4))
    whole = bounds.BoundObjective(model, ObjectiveOptions(bound="fivo", num_particles=3))
    (a, metrics), (b, _) = (o.loss(params, batch, jax.random.key(0), jnp.asarray(0)) for o in (chunked, whole))
    np.testing.assert_allclose(float(a), float(b), rtol=1e-5)
    assert float(metrics["resample_rate"]) > 0


def test_a_run_without_a_carry_hands_on_a_usable_one(vrnn_problem):
    """``SMCResult.carry`` of a whole-sequence run continues it: scoring x[:5] and
    then x[5:] from that carry gives the bound of x[:9] (the SRNN carries d_t)."""
    from seqvi import smc

    model = _chunk_models()["srnn"]
    _, _, batch = vrnn_problem
    x = batch["xs"][0]
    params = model.init(jax.random.key(1), x.mean(0))
    key = jax.random.key(3)
    first = bounds.fivo(model, params, x[:5], 5, key, num_particles=4)
    rest = bounds.fivo(model, params, x[5:], 4, key, num_particles=4, carry=first.diagnostics.carry, time_offset=5)
    whole = bounds.fivo(model, params, x, 9, key, num_particles=4)
    np.testing.assert_allclose(float(first.bound + rest.bound), float(whole.bound), rtol=1e-5)
    assert isinstance(first.diagnostics.carry, smc.SMCCarry)
