"""Text metrics on hand-made examples."""

import math
import random

import numpy as np
import pytest

from conftest import SHARED_DATA
from seqvi import metrics
from seqvi.metrics import Embeddings


def test_bleu_by_hand():
    ref = "the cat sat on the mat".split()
    assert metrics.bleu([ref], ref) == pytest.approx(1.0)
    hyp = "the cat sat".split()  # every n-gram matches, p_4 smoothed to 0.1 / 1; brevity exp(1 - 6/3)
    expected = math.exp(1 - 2) * math.exp((0 + 0 + 0 + math.log(0.1)) / 4)
    assert metrics.bleu([ref], hyp) == pytest.approx(expected)
    assert metrics.bleu([ref], hyp, max_order=1) == pytest.approx(math.exp(1 - 2))
    assert metrics.bleu([ref], "dog".split()) == 0.0
    with pytest.raises(ValueError, match="non-empty reference"):
        metrics.bleu([[]], hyp)


def test_bleu_smoothing_methods():
    """Method 0 leaves a missing 4-gram at (almost) zero; the other methods score a
    partial match inside (0, 1); the VMED authors' method 7 is not method 1. (NLTK's
    methods 5 and 7 score a six-token exact match 1.117, not 1: they interpolate
    n-gram counts.)"""
    ref, hyp = "the cat sat on the mat".split(), "the cat sat".split()
    assert metrics.bleu([ref], hyp, smoothing=0) < 1e-50
    scores = {m: metrics.bleu([ref], hyp, smoothing=m) for m in (1, 2, 3, 4, 5, 7)}
    assert all(0.0 < v < 1.0 for v in scores.values())
    assert all(metrics.bleu([ref], ref, smoothing=m) == pytest.approx(1.0) for m in (0, 1, 2, 3, 4))
    assert scores[1] == pytest.approx(math.exp(1 - 2) * math.exp(math.log(0.1) / 4))  # method 1 by hand
    assert scores[7] != pytest.approx(scores[1])
    for bad in (6, 8):  # NLTK's method 6 fails on BLEU-1 and without a bigram match
        with pytest.raises(ValueError, match="smoothing"):
            metrics.bleu([ref], hyp, smoothing=bad)


def test_corpus_sentence_bleu_is_the_mean():
    refs = [[["a", "b"]], [["c", "d", "e"]]]
    hyps = [["a", "b"], ["c", "x", "e"]]
    expected = (metrics.bleu(refs[0], hyps[0], 2) + metrics.bleu(refs[1], hyps[1], 2)) / 2
    assert metrics.corpus_sentence_bleu(refs, hyps, 2) == pytest.approx(expected)
    with pytest.raises(ValueError, match="reference sets"):
        metrics.corpus_sentence_bleu(refs, hyps[:1])


def test_distinct_and_entropy_by_hand():
    responses = [["i", "do", "not", "know"], ["i", "do", "not", "know"], ["i", "see"]]
    assert metrics.distinct(responses, 1) == pytest.approx(5 / 10)  # i do not know see / 10 tokens
    assert metrics.distinct(responses, 2) == pytest.approx(4 / 7)  # i-do do-not not-know i-see / 7
    assert metrics.ngram_entropy(responses, 4) == 0.0  # one 4-gram, twice
    two = [["a", "b"], ["c", "d"]]
    assert metrics.ngram_entropy(two, 2) == pytest.approx(math.log(2))
    assert metrics.distinct([["a"]], 2) == 0.0


@pytest.fixture()
def toy():
    return Embeddings({"x": 0, "y": 1, "xy": 2, "neg": 3}, np.asarray([[1, 0], [0, 1], [1, 1], [-3, 0.5]], np.float32))


def test_embedding_similarities_by_hand(toy):
    assert metrics.embedding_average(toy, ["x"], ["y"]) == pytest.approx(0.0)
    assert metrics.embedding_average(toy, ["x", "y"], ["xy"]) == pytest.approx(1.0)
    assert metrics.embedding_average(toy, ["x", "unknown"], ["x"]) == pytest.approx(1.0)  # unknown words skipped
    assert metrics.embedding_average(toy, ["unknown"], ["x"]) == 0.0
    # extrema of {x, neg} = (-3, 0.5) (largest magnitude per dimension), of {y} = (0, 1)
    assert metrics.embedding_extrema(toy, ["x", "neg"], ["y"]) == pytest.approx(0.5 / math.hypot(3, 0.5))
    # greedy: x -> best of {y, xy} is xy (cos 1/sqrt 2); reverse y -> x: 0, xy -> x: 1/sqrt 2
    expected = (1 / math.sqrt(2) + (0 + 1 / math.sqrt(2)) / 2) / 2
    assert metrics.embedding_greedy(toy, ["x"], ["y", "xy"]) == pytest.approx(expected)


def test_glove_and_word2vec_files(tmp_path):
    glove = metrics.load_embeddings(SHARED_DATA / "glove" / "glove.6B.50d.subset.txt")
    assert glove.vectors.shape == (256, 50) and "the" in glove.index
    some = metrics.load_embeddings(SHARED_DATA / "glove" / "glove.6B.50d.subset.txt", vocabulary={"the", "zzz"})
    assert list(some.index) == ["the"]
    np.testing.assert_array_equal(some.vectors[0], glove.vectors[glove.index["the"]])
    w2v = tmp_path / "w2v.txt"
    w2v.write_text("2 3\ncat 1 0 0\ndog 0.5 0.5 0\n")
    emb = metrics.load_embeddings(w2v)
    assert emb.vectors.shape == (2, 3) and emb.index == {"cat": 0, "dog": 1}
    bad = tmp_path / "bad.txt"
    bad.write_text("cat one two\n")
    with pytest.raises(ValueError, match="bad.txt:1: not a GloVe"):
        metrics.load_embeddings(bad)
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("cat 1 2\ndog 1\n")
    with pytest.raises(ValueError, match="ragged.txt:2: 1 numbers where earlier lines have 2"):
        metrics.load_embeddings(ragged)


def test_trained_embeddings_are_reproducible():
    sentences = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat", "ran"]] * 20
    a = metrics.train_embeddings(sentences, dim=8, seed=3, epochs=2)
    b = metrics.train_embeddings(sentences, dim=8, seed=3, epochs=2)
    assert a.vectors.shape == (6, 8) and a.index == b.index
    np.testing.assert_array_equal(a.vectors, b.vectors)
    with pytest.raises(ValueError, match="no non-empty sentences"):
        metrics.train_embeddings([[]])
