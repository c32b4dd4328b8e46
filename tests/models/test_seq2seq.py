"""Seq2Seq with and without attention: shapes, teacher forcing and masking, a
training step, learning two pairs by heart; the decoders on hand-made steps
(special ids as arguments, forbidden ids); models never import the data modules."""

import ast
import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from seqvi.data import dialogue
from seqvi.data.dialogue import EOS_ID, GO_ID, PAD_ID, UNK_ID
from seqvi.models import decoding
from seqvi.models.seq2seq import Seq2Seq

PAIRS = [("hello there", "hi how are you ?"), ("what is your name ?", "i am a robot")]
IDS = dict(go_id=GO_ID, eos_id=EOS_ID, pad_id=PAD_ID)  # the dialogue vocabulary's special ids


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
        greedy = decoding.greedy(step, encoded.carry, 9, **IDS)
        assert " ".join(vocab.decode(greedy)) == response
        beams, scores = decoding.beam_search(step, encoded.carry, 3, 9, **IDS)
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
    greedy = decoding.greedy(table_step(table), (), 4, **IDS)
    assert greedy.tolist()[:2] == [4, 4] or greedy.tolist()[:2] == [4, EOS_ID]
    beams, scores = decoding.beam_search(table_step(table), (), 2, 4, **IDS)
    assert beams[0].tolist() == [5, EOS_ID, PAD_ID, PAD_ID]
    assert float(scores[0]) == pytest.approx(np.log(0.4), abs=1e-5)
    assert beams[1].tolist() == [4, EOS_ID, PAD_ID, PAD_ID]
    assert float(scores[1]) == pytest.approx(np.log(0.3), abs=1e-5)


def test_sampling_follows_the_softmax_and_temperature():
    table = jnp.zeros((V, V)).at[GO_ID].set(jnp.log(jnp.asarray([1e-9, 1e-9, 0.2, 1e-9, 0.5, 0.3])))
    table = table.at[jnp.asarray([PAD_ID, EOS_ID, 4, 5]), EOS_ID].set(50.0)  # after the first token, stop
    keys = jax.random.split(jax.random.key(0), 4000)
    first = jax.vmap(lambda k: decoding.sample(table_step(table), (), k, 3, **IDS)[0])(keys)
    freq = np.bincount(np.asarray(first), minlength=V) / len(keys)
    np.testing.assert_allclose(freq[[EOS_ID, 4, 5]], [0.2, 0.5, 0.3], atol=0.03)
    cold = jax.vmap(lambda k: decoding.sample(table_step(table), (), k, 3, temperature=0.05, **IDS)[0])(keys[:200])
    assert bool(jnp.all(cold == 4))
    assert decoding.sample(table_step(table), (), keys[0], 3, **IDS)[1:].tolist() in ([EOS_ID, PAD_ID],
                                                                                      [PAD_ID, PAD_ID])
    with pytest.raises(ValueError, match="temperature"):
        decoding.sample(table_step(table), (), keys[0], 3, temperature=-1.0, **IDS)


def unk_loving_table():
    """<unk> has by far the largest logit after every token; then 'a' (4), then <eos>."""
    table = jnp.zeros((V, V)).at[:, UNK_ID].set(30.0).at[:, PAD_ID].set(20.0)
    return table.at[GO_ID, 4].set(5.0).at[4, EOS_ID].set(5.0)


def test_forbidden_ids_are_never_emitted():
    step, keys = table_step(unk_loving_table()), jax.random.split(jax.random.key(0), 200)
    assert decoding.greedy(step, (), 4, **IDS).tolist() == [UNK_ID] * 4  # unforbidden, <unk> wins
    no_unk = dict(IDS, forbidden_ids=(UNK_ID, PAD_ID))
    assert decoding.greedy(step, (), 4, **no_unk).tolist() == [4, EOS_ID, PAD_ID, PAD_ID]
    drawn = jax.vmap(lambda k: decoding.sample(step, (), k, 4, temperature=5.0, **no_unk))(keys)
    assert not bool(jnp.any(drawn == UNK_ID))
    ended = jnp.cumsum(drawn == EOS_ID, axis=1) - (drawn == EOS_ID) > 0  # <pad> only as padding after <eos>
    assert not bool(jnp.any((drawn == PAD_ID) & ~ended))
    beams, scores = decoding.beam_search(step, (), 3, 4, **no_unk)
    assert beams[0].tolist() == [4, EOS_ID, PAD_ID, PAD_ID] and not bool(jnp.any(beams == UNK_ID))
    assert bool(jnp.all(jnp.isfinite(scores)))
    # V = 6 with 2 forbidden: only 4 first words, so beams 5 and 6 are impossible: -inf and all <pad>
    beams, scores = decoding.beam_search(step, (), 6, 1, **no_unk)
    assert not bool(jnp.any(beams == UNK_ID)) and beams[4:].tolist() == [[PAD_ID], [PAD_ID]]
    assert scores[4:].tolist() == [-np.inf, -np.inf]


def test_decoder_id_errors():
    step = table_step(unk_loving_table())
    with pytest.raises(TypeError, match="go_id"):
        decoding.greedy(step, (), 4)  # the special ids are required: the decoders know no vocabulary
    with pytest.raises(ValueError, match="contain eos_id = 2"):
        decoding.greedy(step, (), 4, **IDS, forbidden_ids=(EOS_ID,))
    with pytest.raises(ValueError, match=r"forbidden_ids\[1\] must be a token id"):
        decoding.beam_search(step, (), 2, 4, **IDS, forbidden_ids=(UNK_ID, -1))
    with pytest.raises(ValueError, match="forbidden_ids must be a tuple"):
        decoding.greedy(step, (), 4, **IDS, forbidden_ids=UNK_ID)
    with pytest.raises(ValueError, match="pad_id must be a token id"):
        decoding.sample(step, (), jax.random.key(0), 4, go_id=GO_ID, eos_id=EOS_ID, pad_id=None)
    with pytest.raises(ValueError, match="forbidden_ids holds id 9, but the step's logits have only V = 6"):
        decoding.greedy(step, (), 4, **IDS, forbidden_ids=(9,))
    with pytest.raises(ValueError, match="eos_id holds id 6"):
        decoding.beam_search(step, (), 2, 4, go_id=GO_ID, eos_id=6, pad_id=PAD_ID)


def test_responses_forbid_unk_and_pad_by_default(data):
    import ml_collections

    from seqvi.generation import responses

    vocab, _ = data
    m = Seq2Seq(vocab_size=len(vocab), embed_dim=8, hidden_dim=8)
    params = m.init(jax.random.key(0))
    bias = params["output"]["params"]["bias"]
    # <unk>, then <pad>, would win every step; <eos> and <go> never do: every response has 3 + 1 words
    bias = bias.at[UNK_ID].set(1e3).at[PAD_ID].set(5e2).at[EOS_ID].set(-1e3).at[GO_ID].set(-1e3)
    params["output"]["params"]["bias"] = bias
    config = ml_collections.ConfigDict(dict(max_context=6, max_response=3))
    for method in ("greedy", "beam", "sample"):
        out = responses(m, params, ["hello there"], vocab, config, method=method, beam_size=2)
        assert len(out[0][0]) == 4 and "<unk>" not in out[0][0], method
    assert responses(m, params, ["hello there"], vocab, config, forbidden_ids=())[0][0] == ["<unk>"] * 4


def test_responses_reuse_the_compiled_decoder_for_new_parameters(data):
    """A training run's diversity evaluations call ``responses`` with new parameters
    each time: the decoder is looked up, not rebuilt, and decodes the new parameters."""
    import ml_collections

    from seqvi import generation

    vocab, _ = data
    m = Seq2Seq(vocab_size=len(vocab), embed_dim=8, hidden_dim=8)
    config = ml_collections.ConfigDict(dict(max_context=6, max_response=3))
    params = m.init(jax.random.key(0))
    generation.responses(m, params, ["hello there"], vocab, config)
    before = generation._response_decoder.cache_info()
    favoured = [w for w in range(len(vocab)) if w not in (UNK_ID, PAD_ID, EOS_ID, GO_ID)][0]
    params["output"]["params"]["bias"] = params["output"]["params"]["bias"].at[favoured].set(1e3)
    out = generation.responses(m, params, ["hello there"], vocab, config)
    after = generation._response_decoder.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)
    assert out[0][0] == [vocab.tokens[favoured]] * 4


def test_models_never_import_the_data_modules():
    """seqvi.models takes token ids as arguments; only seqvi.train joins models and data."""
    models = pathlib.Path(decoding.__file__).parent
    for path in sorted(models.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n == "seqvi.data" or n.startswith("seqvi.data.")], path.name


def test_eval_loss_is_the_loss_over_all_pairs(model, data):
    import ml_collections

    from seqvi.train.evaluation import evaluate
    from seqvi.train.tasks import DialogueTask

    m, params = model
    vocab, batch = data
    config = ml_collections.ConfigDict(dict(max_context=6, max_response=7, eval=dict(batch_size=3)))
    pairs = PAIRS * 2 + PAIRS[:1]  # 5 pairs: batches of 3 with a padded tail
    full = dialogue.encode_pairs(pairs, vocab, 6, 7)
    expected = float(m.loss(params, {k: jnp.asarray(v) for k, v in full._asdict().items()}, jax.random.key(0))[0])
    batches = DialogueTask().eval_batches(config, pairs, 3, {"vocab": vocab})
    result = evaluate(m.objective(), params, batches, jax.random.key(0), same_key_every_batch=True)
    assert result["loss_per_token"] == pytest.approx(expected, rel=1e-5)
