"""The text scores of generated responses against references, as the dialogue
papers report them (VMED, LocalGAN): BLEU, embedding similarities, diversity."""

import numpy as np

from seqvi.data import dialogue
from seqvi.metrics.bleu import bleu
from seqvi.metrics.diversity import distinct, ngram_entropy
from seqvi.metrics.embedding import (embedding_average, embedding_extrema, embedding_greedy, load_embeddings,
                                     train_embeddings)


def text_scores(pairs, generated, train_pairs, embeddings: str | None, seed: int,
                bleu_smoothing: int = 1) -> dict[str, float | int]:
    """BLEU-1/4 (sentence BLEU with NLTK's smoothing method ``bleu_smoothing``),
    embedding average/greedy/extrema (averaged over every response) and their sum
    'rel' (LocalGAN's Rel.), Distinct-1/2 and Ent-4 (natural log) over all
    responses, and the smoothing method used. Embeddings:
    the GloVe/word2vec text file ``embeddings``, else word2vec trained on ``train_pairs``."""
    references = [[dialogue.tokenize(r)] for _, r in pairs]
    if embeddings:
        emb = load_embeddings(embeddings)
    else:
        emb = train_embeddings([dialogue.tokenize(u) for p in train_pairs for u in p], seed=seed)
    scores = {name: [] for name in ("bleu1", "bleu4", "a_glove", "greedy", "extrema")}
    for refs, hyps in zip(references, generated):
        for hyp in hyps:
            scores["bleu1"].append(bleu(refs, hyp, 1, bleu_smoothing) if hyp else 0.0)
            scores["bleu4"].append(bleu(refs, hyp, 4, bleu_smoothing) if hyp else 0.0)
            scores["a_glove"].append(embedding_average(emb, hyp, refs[0]))
            scores["greedy"].append(embedding_greedy(emb, hyp, refs[0]))
            scores["extrema"].append(embedding_extrema(emb, hyp, refs[0]))
    everything = [hyp for hyps in generated for hyp in hyps]
    result = {name: float(np.mean(v)) for name, v in scores.items()}
    result.update(distinct1=distinct(everything, 1), distinct2=distinct(everything, 2),
                  ent4=ngram_entropy(everything, 4))
    result["rel"] = result["greedy"] + result["a_glove"] + result["extrema"]  # LocalGAN's Rel. (section 5.1)
    result["bleu_smoothing"] = bleu_smoothing
    return result
