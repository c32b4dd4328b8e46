"""The DNC encoder-decoder, VMED, CVAE and VLSTM: a training step with gradients
everywhere, masking, generation; VMED's one-mode prior and its D_var at K = 1."""

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

    a = decoding.sample(step, m.start(params, encoded, jax.random.key(2)), jax.random.key(3), 5)
    b = decoding.greedy(step, m.start(params, encoded, jax.random.key(2)), 5)
    assert a.shape == b.shape == (5,) and int(a.max()) < vocab_size


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
