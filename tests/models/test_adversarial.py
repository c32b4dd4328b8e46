"""The adversarial dialogue models (LocalGAN, GAN-AEL, Adver-REGS): responses
drawn by free running, gradients that reach the generator through the soft
embeddings and every discriminator parameter, one step moving both players,
the text CNN's padding, LocalGAN's data-fitted constants and its refusals, and
MMI reranking on a hand-made N-best list."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from seqvi.core import ObjectiveOptions
from seqvi.data.dialogue import EOS_ID, GO_ID, PAD_ID, UNK_ID
from seqvi.models import adversarial, mmi
from seqvi.models.adversarial import GANAEL, AdverREGS
from seqvi.models.localgan import LocalGAN, average_word_vectors
from seqvi.nn.text_cnn import TextCNN
from test_golden import _dialogue_batch

V = 30
TINY = dict(embed_dim=6, hidden_dim=8)
CNN = dict(disc_embed_dim=5, num_filters=3, disc_hidden=4)
MODELS = {
    "localgan": LocalGAN(V, **TINY, word_dim=3, dbm_hidden=(4, 4), disc_hidden=4, mean_field_iterations=10),
    "gan_ael": GANAEL(V, **TINY, **CNN),
    "adver_regs": AdverREGS(V, **TINY, **CNN),
}
DISCRIMINATOR = {"localgan": ("discriminator",), "gan_ael": ("disc_embed", "disc_cnn", "disc_head"),
                 "adver_regs": ("disc_embed", "disc_cnn", "disc_head")}


@pytest.fixture(scope="module", params=sorted(MODELS))
def setup(request):
    model = MODELS[request.param]
    params = model.init(jax.random.key(0))
    batch = _dialogue_batch()
    loss = jax.jit(jax.value_and_grad(model.adversarial_loss, has_aux=True))
    return request.param, model, params, batch, loss


def test_the_default_special_ids_are_the_vocabularys():
    from seqvi.data.dialogue import Vocabulary

    assert adversarial.SPECIAL_IDS == (Vocabulary.pad_id, Vocabulary.go_id, Vocabulary.eos_id, Vocabulary.unk_id)
    with pytest.raises(ValueError, match="special_ids"):
        GANAEL(V, special_ids=(0, 1, 2, 2))


def test_the_base_classes_are_refused():
    for base in (adversarial.AdversarialSeq2Seq, adversarial.CNNDiscriminated):
        with pytest.raises(TypeError, match="base class"):
            base(V, **TINY)


def test_free_run_draws_allowed_tokens_and_ends_at_eos():
    model = MODELS["gan_ael"]
    params = model.init(jax.random.key(1))
    batch = _dialogue_batch()
    g = adversarial.generate_batch(model, params, batch, jax.random.key(2), 1.0)
    tokens = np.asarray(g.tokens)
    assert tokens.shape == batch["response_out"].shape and g.soft.shape == tokens.shape + (V,)
    assert not np.isin(tokens[np.asarray(g.scored)], [PAD_ID, GO_ID, UNK_ID]).any()
    for row, words, scored in zip(tokens, np.asarray(g.words), np.asarray(g.scored)):
        eos = np.flatnonzero(row == EOS_ID)
        n = eos[0] if eos.size else len(row)
        assert words.sum() == n and words[:n].all() and scored.sum() == min(n + 1, len(row))
        assert (row[scored.sum():] == PAD_ID).all()
    np.testing.assert_allclose(np.asarray(g.soft).sum(-1), 1.0, rtol=1e-5)
    assert float(g.soft[..., UNK_ID].max()) < 1e-6  # forbidden ids carry no weight


def test_gradients_reach_the_generator_and_every_discriminator_parameter(setup):
    name, model, params, batch, loss = setup
    (value, metrics), grads = loss(params, batch, jax.random.key(3))
    assert np.isfinite(float(value))
    for group in ("embed", "encoder", "decoder", "output"):
        assert any(float(jnp.abs(g).max()) > 0 for g in jax.tree.leaves(grads[group])), (name, group)
    for group in DISCRIMINATOR[name]:
        for path, g in jax.tree_util.tree_leaves_with_path(grads[group]):
            assert float(jnp.abs(g).max()) > 0, (name, group, path)  # every leaf, not just the group
    for g in jax.tree.leaves(grads.get("constants", {})):
        assert float(jnp.abs(g).max()) == 0.0  # LocalGAN's DBM and word vectors are never trained


def test_soft_embeddings_are_the_generators_only_path_in_gan_ael():
    """J_D sees G's sample through stop_gradient, so G's gradient is J_G's, which
    reaches G only through softmax(logits / tau): it vanishes as tau -> infinity
    (uniform soft rows, whatever the logits)."""
    params = MODELS["gan_ael"].init(jax.random.key(4))
    batch = _dialogue_batch()

    def output_grad(tau):
        model = GANAEL(V, **TINY, **CNN, soft_temperature=tau)
        grads = jax.grad(lambda p: model.adversarial_loss(p, batch, jax.random.key(5))[0])(params)
        return float(jnp.abs(grads["output"]["params"]["kernel"]).max())

    assert output_grad(1.0) > 1e3 * output_grad(1e7)


def test_one_step_moves_both_players(setup):
    name, model, params, batch, loss = setup
    optimizer = optax.adam(1e-2)
    (_, _), grads = loss(params, batch, jax.random.key(6))
    updates, _ = optimizer.update(grads, optimizer.init(params), params)
    moved = optax.apply_updates(params, updates)
    changed = lambda group: any(bool((a != b).any()) for a, b in zip(  # noqa: E731
        jax.tree.leaves(params[group]), jax.tree.leaves(moved[group])))
    assert changed("decoder") and changed("output")
    assert all(changed(g) for g in DISCRIMINATOR[name])
    if "constants" in params:
        assert not changed("constants")


def test_text_cnn_ignores_the_padding():
    cnn = TextCNN(num_filters=2)
    x = jax.random.normal(jax.random.key(7), (6, 3))
    p = cnn.init(jax.random.key(8), x, jnp.asarray(6))
    a = cnn.apply(p, x, jnp.asarray(4))
    b = cnn.apply(p, x.at[4:].set(100.0), jnp.asarray(4))
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert a.shape == (8,)
    short = cnn.apply(p, x, jnp.asarray(2))  # widths 3 and 4 have no window inside two words
    np.testing.assert_allclose(short[4:], 0.0)
    with pytest.raises(ValueError, match="filter width 4"):
        cnn.init(jax.random.key(8), x[:3], jnp.asarray(3))


def test_localgan_constants_from_data_and_its_refusals():
    model = MODELS["localgan"]
    params = model.init(jax.random.key(9))
    batch = _dialogue_batch()
    vectors = jax.random.normal(jax.random.key(10), (V, 3))
    fitted = model.fit_to_data(params, jax.random.key(11), vectors, batch, pcd_steps=5, pcd_batch=2)
    c = fitted["constants"]
    np.testing.assert_allclose(c["word_vectors"], vectors)
    q = average_word_vectors(vectors, batch["context"], batch["context_length"])
    np.testing.assert_allclose(c["query_mean"], q.mean(0), rtol=1e-5)
    assert c["dbm"]["w1"].shape == (6, 4)
    with pytest.raises(ValueError, match="share one vocabulary"):
        model.fit_to_data(params, jax.random.key(11), vectors[:-1], batch)
    with pytest.raises(ValueError, match="set model.word_dim"):
        model.fit_to_data(params, jax.random.key(11), vectors[:, :2], batch)
    with pytest.raises(ValueError, match="are empty"):
        average_word_vectors(vectors, batch["context"], jnp.array([2, 0, 1]))
    with pytest.raises(ValueError, match="lambda"):
        LocalGAN(V, local_weight=-1.0)
    with pytest.raises(ValueError, match="tau"):
        GANAEL(V, soft_temperature=0.0)
    with pytest.raises(ValueError, match="trains with bound"):
        model.objective(ObjectiveOptions(bound="nll"))


def test_localgan_hinge_is_active_only_for_responses_near_the_centre():
    """With lambda = 0 the generator's loss is the GAN term alone; with lambda > 0
    it adds lambda times the batch's mean hinge, which the metrics report."""
    batch = _dialogue_batch()
    plain = LocalGAN(V, **TINY, word_dim=3, dbm_hidden=(4, 4), disc_hidden=4, local_weight=0.0)
    local = LocalGAN(V, **TINY, word_dim=3, dbm_hidden=(4, 4), disc_hidden=4, local_weight=5.0)
    params = plain.init(jax.random.key(12))
    _, m0 = plain.adversarial_loss(params, batch, jax.random.key(13))
    _, m1 = local.adversarial_loss(params, batch, jax.random.key(13))
    assert float(m1["generator_loss"]) == pytest.approx(float(m0["generator_loss"]) + 5.0 * float(m0["local_hinge"]),
                                                        rel=1e-5)
    assert 0.0 <= float(m0["hinge_active"]) <= 1.0


def test_mmi_reranking_follows_its_formula_on_a_hand_made_list():
    forward = jnp.array([-2.0, -3.0, -4.0])  # beam order: a generic reply first
    backward = jnp.array([-9.0, -4.0, -5.0])  # log p(S | T): the generic reply explains the query worst
    lengths = jnp.array([3, 5, 8])
    np.testing.assert_array_equal(mmi.rerank(mmi.mmi_scores(forward, backward, lengths, 0.0)), [0, 1, 2])
    # lambda 0.5: -6.5, -5.0, -6.5 -> candidate 1 first, the tie kept in beam order
    np.testing.assert_array_equal(mmi.rerank(mmi.mmi_scores(forward, backward, lengths, 0.5)), [1, 0, 2])
    # + gamma 0.5 per word: -5.0, -2.5, -2.5 -> 1 and 2 tie ahead of 0
    np.testing.assert_array_equal(mmi.rerank(mmi.mmi_scores(forward, backward, lengths, 0.5, 0.5)), [1, 2, 0])
    anti = mmi.mmi_scores(forward, jnp.array([-1.0, -6.0, -6.0]), lengths, 0.5, kind="antilm")
    np.testing.assert_allclose(anti, [-1.5, 0.0, -1.0])  # a likely reply under the LM is penalised
    with pytest.raises(ValueError, match="kind"):
        mmi.mmi_scores(forward, backward, lengths, 0.5, kind="other")
    with pytest.raises(ValueError, match="lambda"):
        mmi.mmi_scores(forward, backward, lengths, -0.5)


def test_backward_likelihood_scores_the_query_given_each_candidate():
    from seqvi.models.seq2seq import Seq2Seq

    model = Seq2Seq(V, **TINY)
    params = model.init(jax.random.key(14))
    query, length = jnp.array([5, 6, 7, 0]), jnp.asarray(3)
    candidates = jnp.array([[8, 9, EOS_ID, 0], [10, EOS_ID, 0, 0]])
    scores = mmi.backward_log_likelihood(model, params, candidates, query, length, go_id=GO_ID, eos_id=EOS_ID,
                                         pad_id=PAD_ID)
    for n, candidate in enumerate(([8, 9], [10])):  # the direct sum of log p(q_t | q_<t, T) over q and <eos>
        encoded = model.encode(params, jnp.array(candidate + [0] * (4 - len(candidate))), jnp.asarray(len(candidate)))
        carry, total = encoded.carry, 0.0
        for token, target in zip([GO_ID, 5, 6, 7], [5, 6, 7, EOS_ID]):
            carry, logits = model.decode_step(params, carry, jnp.asarray(token), encoded)
            total += float(jax.nn.log_softmax(logits)[target])
        assert float(scores[n]) == pytest.approx(total, rel=1e-5)
    np.testing.assert_array_equal(mmi.candidate_lengths(candidates, EOS_ID, PAD_ID), [2, 1])
