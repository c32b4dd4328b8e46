"""The contract every registered model keeps, driven by the registry (a model
registered with ``seqvi.models.registry.register`` gets every test here without
anyone editing a list; ``ToyLinear`` below shows it):

* StepModels / SequenceModels: shapes and dtypes through the pure functions, the
  fused step equals the composed functions, padding past ``length`` changes
  nothing, each applicable bound trains a step, IWAE(1) = ELBO and FIVO without
  resampling = IWAE, sampling and continuation;
* every model: its objective's loss gives finite gradients, non-zero in every
  network; its evaluation is finite; ``generate`` has one signature and meaning;
* every shipped config validates and names a registered model of its task."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from conftest import ROOT, load_config
from seqvi import bounds, dist, smc
from seqvi.core import (ChecksLength, FitsToData, HasDiscriminator, ObjectiveOptions, Reconstructs, SequenceModel,
                        StepModel)
from seqvi.models import registry
from seqvi.models.dmm import DMM
from seqvi.models.objectives import TrainedByBounds
from seqvi.models.registry import register
from seqvi.models.srnn import SRNN
from seqvi.models.storn import VOSP, VRAE
from seqvi.models.vae_rnn import VAERNN
from seqvi.models.vhrnn import VHRNN
from seqvi.models.vrnn_i import VRNNI

D, T, LENGTH = 5, 8, 6


@register("toy_linear", test_size=dict(latent_dim=3), data="real")
@dataclasses.dataclass(frozen=True)
class ToyLinear(TrainedByBounds, StepModel):
    """A toy linear-Gaussian StepModel registered here, to show that registering a
    model is all it takes for every contract test below to run on it."""

    data_dim: int
    latent_dim: int = 2
    emission_type: str = "gaussian"

    def init(self, key, data_mean=None):
        k1, k2 = jax.random.split(key)
        return {"a": 0.5 * jnp.eye(self.latent_dim), "c": jax.random.normal(k1, (self.data_dim, self.latent_dim)),
                "q": jax.random.normal(k2, (self.latent_dim, self.data_dim)) * 0.1,
                "constants": {"input_mean": jnp.zeros(self.data_dim) if data_mean is None else data_mean}}

    def initial_state(self, params):
        return jnp.zeros(self.latent_dim)

    def prior(self, params, state, ctx_t):
        return dist.diag_gaussian(params["a"] @ state, jnp.ones(self.latent_dim))

    def proposal(self, params, state, ctx_t, x_t):
        return dist.diag_gaussian(params["a"] @ state + params["q"] @ x_t, jnp.ones(self.latent_dim))

    def emission(self, params, state, z_t, ctx_t):
        return dist.diag_gaussian(params["c"] @ z_t, jnp.ones(self.data_dim))

    def update(self, params, state, z_t, x_t, ctx_t):
        return z_t


ENTRIES = registry.entries()
SEQUENCE_MODELS = sorted(n for n, e in ENTRIES.items() if issubclass(e.cls, (StepModel, SequenceModel)))
MODELS = {name: ENTRIES[name].tiny(D) for name in SEQUENCE_MODELS}


def test_registry_is_complete():
    """Every model class the package exports is registered (so the tests reach it)."""
    import seqvi.models as models

    exported = {getattr(models, n) for n in models.__all__ if isinstance(getattr(models, n), type)}
    registered = {e.cls for e in ENTRIES.values()}
    contracts = {StepModel, SequenceModel, models.StepOutput, models.SequenceTerms, models.VMEDSteps}  # VMEDSteps: an adapter
    assert exported - contracts <= registered, exported - contracts - registered
    assert "toy_linear" in SEQUENCE_MODELS and {"vrnn", "kvae", "vmed"} <= set(ENTRIES)


def test_every_registered_model_is_exported():
    """The public API is complete: each class the library registers is in seqvi.models.__all__."""
    import seqvi.models as models

    library = {n: e.cls for n, e in ENTRIES.items() if e.cls.__module__.startswith("seqvi.models.")}
    assert {"gtmsm", "localgan", "gan_ael", "adver_regs"} <= set(library)
    missing = {n: c.__name__ for n, c in library.items()
               if c.__name__ not in models.__all__ or getattr(models, c.__name__) is not c}
    assert not missing, f"registered but not exported from seqvi.models: {missing}"


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
    assert prior.event_shape == q.event_shape == (model.latent_dim,)
    z = q.sample(seed=jax.random.key(2))
    assert z.shape == (model.latent_dim,) and z.dtype == jnp.float32
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


def _assert_trains_every_network(name, grads):
    """Finite gradients, non-zero in every network; constants are never trained."""
    for group, tree in grads.items():
        leaves = jax.tree.leaves(tree)
        leaves = [np.asarray(g) for g in leaves]  # checked in NumPy: no compile per leaf shape
        assert all(np.isfinite(g).all() for g in leaves), (name, group)
        if group == "constants":
            assert all((g == 0).all() for g in leaves), (name, group)
        else:
            assert any((g != 0).any() for g in leaves), (name, group)


def test_each_bound_trains_every_network_and_ignores_padding(setup):
    """The model's objective under each bound that applies (its ``loss``, as the
    trainer calls it): finite, and one Adam step moves the parameters. Values past a
    sequence's length enter no bound and no gradient: other numbers or NaN in the
    padding give the same loss and the same gradient, and the bound's increments
    past ``length`` are 0. A batch with no steps gives loss 0 and zero gradients."""
    model, params, xs = setup
    batch = {"xs": jnp.stack([xs, xs[::-1]]), "lengths": jnp.array([LENGTH, T])}
    paddings = {"ones": batch["xs"].at[0, LENGTH:].set(1.0), "nan": batch["xs"].at[0, LENGTH:].set(jnp.nan)}
    names = ["elbo", "iwae"] + (["fivo"] if isinstance(model, StepModel) else [])
    adam_step = jax.jit(lambda grads: optax.apply_updates(params, optax.adam(1e-2).update(
        grads, optax.adam(1e-2).init(params), params)[0]))  # one compile, not one per operation and leaf
    for name in names:
        objective = model.objective(ObjectiveOptions(bound=name, num_particles=2))
        loss_and_grad = jax.jit(jax.value_and_grad(objective.loss, has_aux=True))
        (loss, metrics), grads = loss_and_grad(params, batch, jax.random.key(5), jnp.asarray(0))
        assert np.isfinite(float(loss)) and np.isfinite(float(metrics["kl_per_step"])), name
        _assert_trains_every_network(name, grads)
        for padding, data in paddings.items():
            (other_loss, _), other = loss_and_grad(params, dict(batch, xs=data), jax.random.key(5), jnp.asarray(0))
            np.testing.assert_allclose(other_loss, loss, rtol=1e-5, err_msg=f"{name}, {padding} padding")
            for (path, g), h in zip(jax.tree_util.tree_leaves_with_path(grads), jax.tree.leaves(other)):
                np.testing.assert_allclose(h, g, rtol=1e-4, atol=1e-6,
                                           err_msg=f"{name}, {padding} padding: d/d{jax.tree_util.keystr(path)}")
        kw = {} if name == "elbo" else {"num_particles": 2}
        increments = getattr(bounds, name)(model, params, paddings["nan"][0], LENGTH, jax.random.key(4), **kw).increments
        np.testing.assert_allclose(increments[LENGTH:], 0.0, err_msg=name)
        # A batch with no steps to score: loss 0, finite metrics, zero gradients (not 0 / 0).
        (empty_loss, empty_metrics), empty_grads = loss_and_grad(
            params, dict(batch, lengths=jnp.zeros(2, jnp.int32)), jax.random.key(5), jnp.asarray(0))
        assert float(empty_loss) == 0.0 and all(np.isfinite(float(v)) for v in empty_metrics.values()), name
        assert all(not np.any(np.asarray(g)) for g in jax.tree.leaves(empty_grads)), name
        moved = adam_step(grads)
        changed = [not np.allclose(a, b) for a, b in zip(jax.tree.leaves(moved), jax.tree.leaves(params))]
        assert any(changed), name


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
    assert gen.shape == (5, D) and zs.shape == (5, model.latent_dim) and gen.dtype == jnp.float32
    assert bool(jnp.isfinite(gen).all())
    if model.emission_type == "bernoulli":
        assert set(np.unique(np.asarray(gen))) <= {0.0, 1.0}
    if isinstance(model, StepModel):
        cont = smc.continue_sequence(model, params, jax.random.key(8), xs, LENGTH, 4, num_particles=3)
        assert cont.shape == (4, D)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: SRNN(D, posterior_type="backward"), "SRNN.posterior_type"),
        (lambda: SRNN(D, latent_dim=0), "SRNN.latent_dim"),
        (lambda: DMM(D, transition_type="linear"), "DMM.transition_type"),
        (lambda: DMM(D, input_dim=-2), "DMM.input_dim"),
        (lambda: VRNNI(D, residual_q=True), "VRNNI.residual_q"),
        (lambda: VAERNN(D, emission_type="poisson"), "VAERNN.emission_type"),
        (lambda: VOSP(D, prior_type="ou"), "VOSP.prior_type"),
        (lambda: VRAE(D, emission_type="poisson"), "VRAE.emission_type"),
        (lambda: VRAE(D, rnn_dim=2.5), "VRAE.rnn_dim"),
    ],
)
def test_bad_configurations(build, match):
    with pytest.raises(ValueError, match=match):
        build()


# One name per concept (seqvi.models.parts.RENAMED_OPTIONS): (registered model, old name, new name).
RENAMED = [("vrnn", "proposal_type", "posterior_type"), ("vrnn_i", "proposal_type", "posterior_type"),
           ("vrae", "rnn_type", "cell_type"), ("vosp", "rnn_type", "cell_type"),
           ("kvae", "z_dim", "latent_dim"), ("kvae", "likelihood", "emission_type"),
           ("gtmsm", "likelihood", "emission_type"), ("gtmsm", "prior_kind", "prior_type"),
           ("gtmsm", "transition_kind", "transition_type")]


@pytest.mark.parametrize("name, old, new", RENAMED, ids=[f"{n}.{o}" for n, o, _ in RENAMED])
def test_an_old_option_name_is_refused_naming_the_new_one(name, old, new):
    from seqvi.models.parts import RENAMED_OPTIONS

    entry = ENTRIES[name]
    assert RENAMED_OPTIONS[old] == new and new in {f.name for f in dataclasses.fields(entry.cls)}
    value = getattr(entry.tiny(D), new)
    with pytest.raises(TypeError, match=f"{entry.cls.__name__}: option renamed \\({old} is now {new}\\)"):
        entry.build(D, **entry.test_size, **{old: value})


def test_an_old_option_name_in_a_config_or_on_the_command_line_is_refused():
    from seqvi.core import ConfigError
    from seqvi.train import experiment

    config = load_config("kvae.py", "box")
    experiment.validate_config(config)
    model = config.model.to_dict()
    model["z_dim"] = model.pop("latent_dim")  # a config.json written before the rename
    config.model = model
    with pytest.raises(ConfigError, match=r"config.model.z_dim is now config.model.latent_dim"):
        experiment.validate_config(config)
    # On the command line: tests/train/test_cli.py.


# The optional capabilities the pipeline asks for (seqvi.core), by registered model.
CAPABILITIES = {"gtmsm": {ChecksLength}, "localgan": {FitsToData, HasDiscriminator}, "gan_ael": {HasDiscriminator},
                "adver_regs": {HasDiscriminator}, "vrae": {Reconstructs}, "vosp": {Reconstructs}}


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_capabilities_are_declared(name):
    """A model has exactly the capabilities it declares; an objective names its
    evaluation bound (or None) and its label."""
    entry = ENTRIES[name]
    model = entry.tiny(30 if entry.task == "dialogue" else D)
    has = {c for c in (ChecksLength, FitsToData, HasDiscriminator, Reconstructs) if isinstance(model, c)}
    assert has == CAPABILITIES.get(name, set()), name
    objective = model.objective()
    assert objective.eval_name in (None, "elbo", "iwae", "fivo") and isinstance(objective.label, str)


def test_model_kinds():
    assert isinstance(MODELS["vrae"], SequenceModel) and not isinstance(MODELS["vrae"], StepModel)
    assert all(isinstance(m, StepModel) for k, m in MODELS.items() if not k.startswith("vrae"))


# ---- every registered model's objective -----------------------------------------------------
def _batch(entry, model):
    if entry.task == "dialogue":
        from test_golden import _dialogue_batch

        return _dialogue_batch()
    dim = getattr(model, "row_dim", D)
    key = jax.random.key(0)
    if entry.data == "real":
        xs = jax.random.normal(key, (2, T, dim))
    else:
        xs = (jax.random.uniform(key, (2, T, dim)) < 0.4).astype(jnp.float32)
    return {"xs": xs.at[0, LENGTH:].set(0.0), "lengths": jnp.array([LENGTH, T])}


@pytest.fixture(scope="module", params=sorted(ENTRIES))
def objective_setup(request):
    entry = ENTRIES[request.param]
    model = entry.tiny(30 if entry.task == "dialogue" else D)
    batch = _batch(entry, model)
    if entry.task == "dialogue":
        params = model.init(jax.random.key(1))
    else:
        params = model.init(jax.random.key(1), batch["xs"][1].mean(0))
    objective = model.objective()
    if isinstance(objective, bounds.BoundObjective):  # evaluated with 2 particles, as evaluation_objectives(2)
        objective = model.objective(dataclasses.replace(objective.options, eval_num_particles=2))
    return entry, model, objective, params, batch


def test_objective_trains_every_parameter(objective_setup):
    """Finite loss; finite gradients, non-zero in every network (constants excepted).
    A model trained by bounds had this under every bound in
    ``test_each_bound_trains_every_network_and_ignores_padding``."""
    entry, model, objective, params, batch = objective_setup
    if isinstance(objective, bounds.BoundObjective):
        return
    (loss, metrics), grads = jax.jit(jax.value_and_grad(objective.loss, has_aux=True))(
        params, batch, jax.random.key(5), jnp.asarray(0))
    assert np.isfinite(float(loss)), entry.name
    _assert_trains_every_network(entry.name, grads)


def test_objective_evaluates(objective_setup):
    from seqvi.train.evaluation import evaluate

    entry, model, objective, params, batch = objective_setup
    result = evaluate(objective, params, [batch, batch], jax.random.key(6))
    assert objective.target in result and np.isfinite(result[objective.target]), entry.name
    for other in objective.evaluation_objectives(2):
        if other.target == objective.target:
            continue  # the same figure as above
        assert np.isfinite(evaluate(other, params, [batch], jax.random.key(7))[other.target]), entry.name


def test_generate_has_one_meaning(objective_setup):
    """generate(params, key, n) -> (xs [n, D], zs [n, Z]) for every model that generates sequences."""
    entry, model, objective, params, batch = objective_setup
    if entry.task == "dialogue" or entry.name == "gtmsm":  # GTM-SM predicts from its memory (GTMSM.predict)
        return
    xs, zs = model.generate(params, jax.random.key(8), 4)
    means, _ = model.generate(params, jax.random.key(8), 4, emission_mode="mean")
    assert xs.shape == means.shape == (4, batch["xs"].shape[-1]) and zs.shape[0] == 4
    assert bool(jnp.isfinite(means).all())
    with pytest.raises(ValueError, match="emission_mode"):
        model.generate(params, jax.random.key(8), 4, emission_mode="mode")
    one, _ = model.generate(params, jax.random.key(9), 1)  # the length edge: one step
    assert one.shape == (1, batch["xs"].shape[-1])
    if isinstance(model, StepModel):  # continue a prefix of one valid step inside a padded sequence
        cont = smc.continue_sequence(model, params, jax.random.key(10), batch["xs"][1], 1, 2, num_particles=2)
        assert cont.shape == (2, batch["xs"].shape[-1]) and bool(jnp.isfinite(cont).all())
        with pytest.raises(ValueError, match="length >= 1"):
            smc.continue_sequence(model, params, jax.random.key(10), batch["xs"][1], 0, 2)


@pytest.mark.parametrize("path", sorted((ROOT / "experiments" / "configs").glob("*.py")), ids=lambda p: p.stem)
def test_every_config_names_a_registered_model(path):
    from seqvi.train import experiment

    config = load_config(path.name)
    experiment.validate_config(config)
    entry = registry.get(config.model.name)
    assert entry.task == config.task


GMM_MODELS = sorted(n for n in SEQUENCE_MODELS
                    if "emission_components" in {f.name for f in dataclasses.fields(ENTRIES[n].cls)})


def test_gmm_emission_is_offered_by_the_models_with_emission_heads():
    assert {"rnn", "vrnn", "vrnn_i", "srnn", "dmm", "vae_rnn", "vosp", "vrae"} <= set(GMM_MODELS)


@pytest.mark.parametrize("name", GMM_MODELS)
def test_gmm_emission_in_every_model_that_offers_it(name):
    """emission_type='gmm' (thesis, section 5.4: the RNN-GMM and VRNN-GMM rows): the
    emission is a K-component mixture over x_t, every bound is finite and its
    gradient reaches the mixture's weights, means and scales."""
    model = ENTRIES[name].tiny(D)
    model = dataclasses.replace(model, emission_type="gmm", emission_components=2)
    xs = jax.random.normal(jax.random.key(0), (T, D)).at[LENGTH:].set(0.0)
    params = model.init(jax.random.key(1), xs[:LENGTH].mean(0))
    loss = lambda p: -bounds.iwae(model, p, xs, LENGTH, jax.random.key(2), num_particles=2).bound  # noqa: E731
    value, grads = jax.value_and_grad(loss)(params)
    assert np.isfinite(float(value))
    head = next(g for k, g in grads.items() if k in ("emission", "likelihood"))["params"]
    for layer in ("logits", "means", "raw_scales"):
        assert float(jnp.abs(head[layer]["kernel"]).max()) > 0, layer
    means, _ = model.generate(params, jax.random.key(3), 3, emission_mode="mean")
    assert means.shape == (3, D) and bool(jnp.isfinite(means).all())
