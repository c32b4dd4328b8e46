"""Text metrics for generated responses: BLEU, diversity, embedding similarity,
and the dialogue papers' table of them (``text_scores``)."""

from seqvi.metrics.bleu import bleu, corpus_sentence_bleu
from seqvi.metrics.diversity import distinct, ngram_entropy
from seqvi.metrics.embedding import (Embeddings, embedding_average, embedding_extrema, embedding_greedy,
                                     load_embeddings, train_embeddings)
from seqvi.metrics.text import text_scores

__all__ = [
    "bleu",
    "corpus_sentence_bleu",
    "distinct",
    "ngram_entropy",
    "Embeddings",
    "load_embeddings",
    "train_embeddings",
    "embedding_average",
    "embedding_extrema",
    "embedding_greedy",
    "text_scores",
]
