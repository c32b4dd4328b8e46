"""Embedding-based similarity of a response to its reference (Liu et al. 2016),
from word vectors read from a GloVe or word2vec text file, or trained on the
training corpus.

For hypothesis words h_1..h_m and reference words r_1..r_k with vectors e(.)
(words without a vector are left out), and cos the cosine similarity:

  average  cos(mean_i e(h_i), mean_j e(r_j))     (VMED's "A-Glove" with GloVe vectors)
  extrema  cos(x(h), x(r)), x(.)_d the entry of largest magnitude in dimension d
  greedy   (G(h, r) + G(r, h)) / 2,  G(a, b) = mean_i max_j cos(e(a_i), e(b_j))

Each is 0 when either side has no word with a vector.
"""

import pathlib
import zlib
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from seqvi._extras import require


class Embeddings(NamedTuple):
    index: dict[str, int]  # word -> row of vectors
    vectors: np.ndarray  # [V, D] float32

    def lookup(self, tokens: Sequence[str]) -> np.ndarray:
        """[n, D] vectors of the tokens that have one (n may be 0)."""
        rows = [self.index[t] for t in tokens if t in self.index]
        return self.vectors[rows] if rows else np.zeros((0, self.vectors.shape[1]), np.float32)

    def table(self, tokens: Sequence[str]) -> np.ndarray:
        """[len(tokens), D]: row i is the vector of tokens[i], zeros where it has none
        (a vocabulary's word-vector matrix)."""
        out = np.zeros((len(tokens), self.vectors.shape[1]), np.float32)
        for i, t in enumerate(tokens):
            if t in self.index:
                out[i] = self.vectors[self.index[t]]
        return out


def load_embeddings(path, vocabulary: Iterable[str] | None = None) -> Embeddings:
    """Word vectors from a GloVe text file ("word v_1 .. v_D" per line) or a word2vec
    text file (the same after a "count D" header line). With ``vocabulary``, only
    those words are kept."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no embedding file at {path}")
    keep = None if vocabulary is None else set(vocabulary)
    index, vectors, dim = {}, [], None
    with path.open(encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            fields = line.rstrip().split(" ")
            if number == 1 and len(fields) == 2 and all(x.isdigit() for x in fields):
                dim = int(fields[1])  # word2vec header
                continue
            if len(fields) < 2:
                continue
            try:
                values = np.asarray(fields[1:], np.float32)
            except ValueError:
                raise ValueError(f"{path}:{number}: not a GloVe/word2vec text line (word then numbers)") from None
            if dim is None:
                dim = values.size
            if values.size != dim:
                raise ValueError(f"{path}:{number}: {values.size} numbers where earlier lines have {dim}")
            if (keep is None or fields[0] in keep) and fields[0] not in index:
                index[fields[0]] = len(vectors)
                vectors.append(values)
    if dim is None:
        raise ValueError(f"{path}: no word vectors found")
    return Embeddings(index, np.stack(vectors) if vectors else np.zeros((0, dim), np.float32))


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def train_embeddings(sentences: Sequence[Sequence[str]], dim: int = 50, seed: int = 0, epochs: int = 10) -> Embeddings:
    """Skip-gram word2vec vectors (gensim) trained on tokenized ``sentences``; one
    worker and a fixed hash make them reproducible for a seed."""
    Word2Vec = require("gensim.models", "dialogue").Word2Vec

    sentences = [list(s) for s in sentences if len(s)]
    if not sentences:
        raise ValueError("no non-empty sentences to train embeddings on")
    model = Word2Vec(sentences, vector_size=dim, window=5, min_count=1, sg=1, workers=1, seed=seed, epochs=epochs,
                     hashfxn=_stable_hash)
    words = model.wv.index_to_key
    return Embeddings({w: i for i, w in enumerate(words)}, np.asarray(model.wv.vectors, np.float32))


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    denominator = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denominator) if denominator > 0 else 0.0


def embedding_average(emb: Embeddings, hypothesis: Sequence[str], reference: Sequence[str]) -> float:
    h, r = emb.lookup(hypothesis), emb.lookup(reference)
    return _cosine(h.mean(0), r.mean(0)) if len(h) and len(r) else 0.0


def _extrema(x: np.ndarray) -> np.ndarray:
    return x[np.argmax(np.abs(x), axis=0), np.arange(x.shape[1])]


def embedding_extrema(emb: Embeddings, hypothesis: Sequence[str], reference: Sequence[str]) -> float:
    h, r = emb.lookup(hypothesis), emb.lookup(reference)
    return _cosine(_extrema(h), _extrema(r)) if len(h) and len(r) else 0.0


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def embedding_greedy(emb: Embeddings, hypothesis: Sequence[str], reference: Sequence[str]) -> float:
    h, r = emb.lookup(hypothesis), emb.lookup(reference)
    if not (len(h) and len(r)):
        return 0.0
    similarity = _unit(h) @ _unit(r).T  # [m, k]
    return float((similarity.max(1).mean() + similarity.max(0).mean()) / 2)
