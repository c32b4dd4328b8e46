"""Seq2Seq with and without attention: shapes, teacher forcing and masking, a
training step, learning two pairs by heart; and the decoders on hand-made steps."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from seqvi.data import dialogue
from seqvi.data.dialogue import EOS_ID, GO_ID, PAD_ID
from seqvi.models import decoding
from seqvi.models.seq2seq import Seq2Seq

PAIRS = [("hello there", "hi how are you ?"), ("what is your name ?", "i am a robot")]


@pytest.fixture(scope="module")
def data():
    vocab = dialogue.Vocabulary.build([dialogue.tokenize(u) for p in PAIRS for u in p], max_size=50)
    batch = dialogue.encode_pairs(PAIRS, vocab, max_context=6, max_response=7)
    return vocab, {k: jnp.asarray(v) for k, v in batch._asdict().items()}


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "attention"])
def model(request, data):
    vocab, _ = data
    m = Seq2Seq(vocab_size=len(vocab), embed_dim=8, hidden_dim=16, attention=request.param)
    return m, m.init(jax.random.key(0))


def test_loss_masks_padding_on_both_sides(model, data):
    m, params = model
    _, batch = data
    loss = jax.jit(lambda p, b: m.loss(p, b, jax.random.key(0))[0])
    base = float(loss(params, batch))
    assert np.isfinite(base) and base == pytest.approx(np.log(len(data[0])), rel=0.3)  # near uniform at init
    padded = dict(batch)
    padded["context"] = batch["context"].at[0, -1].set(7)  # past context 0's length (2 tokens)
    padded["response_out"] = batch["response_out"].at[1, -1].set(7)  # past response 1's length (5 + eos)
    padded["response_in"] = batch["response_in"].at[1, -1].set(7)
    assert float(loss(params, padded)) == pytest.approx(base, rel=1e-6)
    changed = dict(batch, response_in=batch["response_in"].at[0, 1].set(7))  # teacher forcing reads it
    assert float(loss(params, changed)) != pytest.approx(base, rel=1e-6)


def test_trains_two_pairs_by_heart(model, data):
    m, params = model
    vocab, batch = data
    optimizer = optax.adam(3e-2)

    @jax.jit
    def train(params, opt_state):
        (loss, _), grads = jax.value_and_grad(m.loss, has_aux=True)(params, batch, jax.random.key(0))
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    opt_state = optimizer.init(params)
    first = None
    for _ in range(150):
        params, opt_state, loss = train(params, opt_state)
        first = float(loss) if first is None else first
    assert float(loss) < 0.1 * first
    for i, (_, response) in enumerate(PAIRS):
        encoded = m.encode(params, batch["context"][i], batch["context_length"][i])
        step = functools.partial(lambda e, c, t: m.decode_step(params, c, t, e), encoded)
        greedy = decoding.greedy(step, encoded.carry, 9)
        assert " ".join(vocab.decode(greedy)) == response
        beams, scores = decoding.beam_search(step, encoded.carry, 3, 9)
        assert " ".join(vocab.decode(beams[0])) == response and bool(jnp.all(jnp.diff(scores) <= 1e-6))


def test_config_errors():
    with pytest.raises(ValueError, match="Seq2Seq.vocab_size must be a positive int"):
        Seq2Seq(vocab_size=0)


# ---- decoders on a hand-made step: logits depend on the previous token only ----------
V = 6  # ids 0..3 are specials; 4 = "a", 5 = "b"


def table_step(table):
    def step(carry, token):
        return carry, table[token]
    return step


def test_greedy_and_beam_on_a_trap():
    """From <go>: 'a' (p .6) then an even split, or 'b' (p .4) then <eos> for sure.
    Greedy takes 'a' (total .6 * .5 = .3); beam search finds 'b <eos>' (.4)."""
    log = jnp.log
    table = jnp.full((V, V), -1e9)
    table = table.at[GO_ID, 4].set(log(0.6)).at[GO_ID, 5].set(log(0.4))
    table = table.at[4, 4].set(log(0.5)).at[4, EOS_ID].set(log(0.5))
    table = table.at[5, EOS_ID].set(0.0)
    table = table.at[EOS_ID, PAD_ID].set(0.0)
    greedy = decoding.greedy(table_step(table), (), 4)
    assert greedy.tolist()[:2] == [4, 4] or greedy.tolist()[:2] == [4, EOS_ID]
    beams, scores = decoding.beam_search(table_step(table), (), 2, 4)
    assert beams[0].tolist() == [5, EOS_ID, PAD_ID, PAD_ID]
    assert float(scores[0]) == pytest.approx(np.log(0.4), abs=1e-5)
    assert beams[1].tolist() == [4, EOS_ID, PAD_ID, PAD_ID]
    assert float(scores[1]) == pytest.approx(np.log(0.3), abs=1e-5)


def test_sampling_follows_the_softmax_and_temperature():
    table = jnp.zeros((V, V)).at[GO_ID].set(jnp.log(jnp.asarray([1e-9, 1e-9, 0.2, 1e-9, 0.5, 0.3])))
    table = table.at[jnp.asarray([PAD_ID, EOS_ID, 4, 5]), EOS_ID].set(50.0)  # after the first token, stop
    keys = jax.random.split(jax.random.key(0), 4000)
    first = jax.vmap(lambda k: decoding.sample(table_step(table), (), k, 3)[0])(keys)
    freq = np.bincount(np.asarray(first), minlength=V) / len(keys)
    np.testing.assert_allclose(freq[[EOS_ID, 4, 5]], [0.2, 0.5, 0.3], atol=0.03)
    cold = jax.vmap(lambda k: decoding.sample(table_step(table), (), k, 3, temperature=0.05)[0])(keys[:200])
    assert bool(jnp.all(cold == 4))
    assert decoding.sample(table_step(table), (), keys[0], 3)[1:].tolist() in ([EOS_ID, PAD_ID], [PAD_ID, PAD_ID])
    with pytest.raises(ValueError, match="temperature"):
        decoding.sample(table_step(table), (), keys[0], 3, temperature=-1.0)


def test_eval_loss_is_the_loss_over_all_pairs(model, data):
    import ml_collections

    from seqvi.train.dialogue_experiment import eval_loss

    m, params = model
    vocab, batch = data
    config = ml_collections.ConfigDict(dict(max_context=6, max_response=7, eval=dict(batch_size=3)))
    pairs = PAIRS * 2 + PAIRS[:1]  # 5 pairs: batches of 3 with a padded tail
    full = dialogue.encode_pairs(pairs, vocab, 6, 7)
    expected = float(m.loss(params, {k: jnp.asarray(v) for k, v in full._asdict().items()}, jax.random.key(0))[0])
    assert eval_loss(m, params, pairs, vocab, config) == pytest.approx(expected, rel=1e-5)
