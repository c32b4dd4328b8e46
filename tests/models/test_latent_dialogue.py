"""The DNC encoder-decoder, VMED, CVAE and VLSTM: a training step with gradients
everywhere, masking, generation; VMED's one-mode prior and its D_var at K = 1."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from seqvi import dist
from seqvi.data import dialogue
from seqvi.models import decoding
from seqvi.models.cvae import CVAE, VLSTM
from seqvi.models.vmed import VMED, DNCSeq2Seq

PAIRS = [("hello there", "hi how are you ?"), ("what is your name ?", "i am a robot")]


@pytest.fixture(scope="module")
def batch():
    vocab = dialogue.Vocabulary.build([dialogue.tokenize(u) for p in PAIRS for u in p], max_size=50)
    encoded = dialogue.encode_pairs(PAIRS, vocab, max_context=6, max_response=7)
    return {k: jnp.asarray(v) for k, v in encoded._asdict().items()}, len(vocab)


SIZES = dict(embed_dim=8, hidden_dim=8, num_slots=5, num_reads=2)


@pytest.fixture(scope="module", params=["dnc", "vmed", "cvae", "vlstm"])
def model(request, batch):
    _, vocab_size = batch
    m = {"dnc": lambda: DNCSeq2Seq(vocab_size=vocab_size, word_size=6, **SIZES),
         "vmed": lambda: VMED(vocab_size=vocab_size, latent_dim=3, **SIZES),
         "cvae": lambda: CVAE(vocab_size=vocab_size, embed_dim=8, hidden_dim=8, latent_dim=3),
         "vlstm": lambda: VLSTM(vocab_size=vocab_size, embed_dim=8, hidden_dim=8, latent_dim=3)}[request.param]()
    return m, m.init(jax.random.key(0))


def test_trains_a_step_with_gradients_everywhere(model, batch):
    m, params = model
    data, _ = batch
    loss = jax.jit(lambda p: m.loss(p, data, jax.random.key(1), kl_weight=0.5))
    (value, metrics), grads = jax.value_and_grad(lambda p: loss(p), has_aux=True)(params)
    assert np.isfinite(float(value)) and float(metrics["kl_per_token"]) >= 0.0
    if not isinstance(m, DNCSeq2Seq) or isinstance(m, VMED):
        assert float(metrics["kl_per_token"]) > 0.0
    for name, g in grads.items():
        assert float(sum(jnp.abs(x).sum() for x in jax.tree.leaves(g))) > 0, name
    optimizer = optax.adam(1e-2)
    updates, _ = optimizer.update(grads, optimizer.init(params), params)
    assert float(loss(optax.apply_updates(params, updates))[0]) != pytest.approx(float(value))


def test_padding_changes_nothing(model, batch):
    m, params = model
    data, _ = batch
    loss = jax.jit(lambda p, b: m.loss(p, b, jax.random.key(1))[0])
    padded = dict(data, context=data["context"].at[0, -1].set(5), response_out=data["response_out"].at[1, -1].set(5),
                  response_in=data["response_in"].at[1, -1].set(5))
    assert float(loss(params, padded)) == pytest.approx(float(loss(params, data)), rel=1e-6)


def test_generation(model, batch):
    m, params = model
    data, vocab_size = batch
    encoded = m.encode(params, data["context"][0], data["context_length"][0])

    def step(carry, token):
        return m.decode_step(params, carry, token, encoded)

    ids = dict(go_id=dialogue.GO_ID, eos_id=dialogue.EOS_ID, pad_id=dialogue.PAD_ID,
               forbidden_ids=(dialogue.UNK_ID,))
    a = decoding.sample(step, m.start(params, encoded, jax.random.key(2)), jax.random.key(3), 5, **ids)
    b = decoding.greedy(step, m.start(params, encoded, jax.random.key(2)), 5, **ids)
    assert a.shape == b.shape == (5,) and int(a.max()) < vocab_size
    assert not bool(jnp.any(a == dialogue.UNK_ID)) and not bool(jnp.any(b == dialogue.UNK_ID))


def test_one_mode_prior_and_dvar_is_its_kl(batch):
    _, vocab_size = batch
    m = VMED(vocab_size=vocab_size, latent_dim=3, embed_dim=8, hidden_dim=8, num_slots=5, num_reads=1)
    params = m.init(jax.random.key(0))
    data, _ = batch
    encoded = m.encode(params, data["context"][0], data["context_length"][0])
    carry, _ = m._dnc_step(params, encoded.carry, jnp.asarray(1))
    log_pi, means, scales = m.prior(carry)
    assert log_pi.shape == (1,) and float(log_pi[0]) == pytest.approx(0.0, abs=1e-6)
    q_mean, q_scale = jnp.ones(3), 0.5 * jnp.ones(3)
    np.testing.assert_allclose(dist.kl_gaussian_mog_dvar(q_mean, q_scale, log_pi, means, scales),
                               dist.kl_diag_gaussians(q_mean, q_scale, means[0], scales[0]), rtol=1e-5)


def test_vmed_config_errors():
    with pytest.raises(ValueError, match="word_size is 2 \\* latent_dim"):
        VMED(vocab_size=10, latent_dim=3, word_size=5)
    with pytest.raises(ValueError, match="num_reads must be a positive int"):
        VMED(vocab_size=10, num_reads=0)


@pytest.fixture(scope="module")
def steps_problem(batch):
    from seqvi.models.vmed import VMEDSteps, step_inputs

    data, vocab_size = batch
    vmed = VMED(vocab_size=vocab_size, latent_dim=3, **SIZES)
    return VMEDSteps(vmed), vmed.init(jax.random.key(0)), step_inputs(data, vocab_size)


def test_vmed_steps_bound_identities_and_training(steps_problem):
    from seqvi import bounds

    model, params, data = steps_problem
    one = jax.tree.map(lambda a: a[0], data)
    key = jax.random.key(4)
    run = functools.partial(jax.jit, static_argnames=("num_particles",))
    elbo = run(lambda p, num_particles: bounds.elbo(model, p, one["xs"], one["lengths"], key, inputs=one["inputs"],
                                                    num_particles=num_particles).bound)
    iwae = run(lambda p, num_particles: bounds.iwae(model, p, one["xs"], one["lengths"], key, inputs=one["inputs"],
                                                    num_particles=num_particles).bound)
    fivo_never = jax.jit(lambda p: bounds.fivo(model, p, one["xs"], one["lengths"], key, inputs=one["inputs"],
                                              num_particles=4, ess_threshold=0.0).bound)
    assert float(iwae(params, num_particles=1)) == pytest.approx(float(elbo(params, num_particles=1)), rel=1e-5)
    assert float(fivo_never(params)) == pytest.approx(float(iwae(params, num_particles=4)), rel=1e-5)
    loss = bounds.batch_loss(bounds.get_bound("fivo", num_particles=3), model)
    (value, _), grads = jax.jit(jax.value_and_grad(loss, has_aux=True))(params, data, key)
    assert np.isfinite(float(value))
    for name in ("encoder", "decoder", "posterior", "response_rnn", "output", "embed"):
        assert float(sum(jnp.abs(g).sum() for g in jax.tree.leaves(grads[name]))) > 0, name


def test_vmed_steps_prior_is_the_exact_mixture(steps_problem):
    model, params, data = steps_problem
    one = jax.tree.map(lambda a: a[0], data)
    ctx = model.context(params, one["xs"], one["lengths"], one["inputs"])
    ctx_0 = jax.tree.map(lambda a: a[0], ctx)
    carry, _ = model._read(params, model.initial_state(params), ctx_0)
    log_pi, means, scales = model.model.prior(carry)
    z = jnp.asarray([0.3, -0.2, 0.1])
    by_hand = jax.nn.logsumexp(log_pi + jax.vmap(lambda m, s: dist.diag_gaussian(m, s).log_prob(z))(means, scales))
    assert float(model._prior(carry).log_prob(z)) == pytest.approx(float(by_hand), rel=1e-5)
    with pytest.raises(ValueError, match="needs inputs"):
        model.context(params, one["xs"], one["lengths"], None)


def test_vmed_steps_start_token_is_an_argument(steps_problem, batch):
    from seqvi.models.vmed import VMEDSteps

    model, params, data = steps_problem
    _, vocab_size = batch
    assert model.go_id == dialogue.GO_ID  # the default is the dialogue vocabulary's <go>
    assert int(model.initial_state(params).token) == dialogue.GO_ID
    assert int(VMEDSteps(model.model, go_id=4).initial_state(params).token) == 4
    with pytest.raises(ValueError, match=rf"VMEDSteps.go_id must be a token id in \[0, {vocab_size}\)"):
        VMEDSteps(model.model, go_id=vocab_size)
