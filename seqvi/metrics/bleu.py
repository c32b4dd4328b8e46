"""Sentence-level BLEU (Papineni et al. 2002) with smoothing.

For a hypothesis h and references R (token lists), the modified n-gram precision
is p_n = sum_g min(c_h(g), max_r c_r(g)) / sum_g c_h(g) over the n-grams g of h.
BLEU-N (cumulative, uniform weights) = BP * exp((1/N) sum_{n=1..N} log p_n), with
brevity penalty BP = min(1, exp(1 - r / |h|)), r the reference length closest to
|h| (the shorter on ties).

Smoothing (Chen & Cherry 2014, method 1): a precision with zero matches becomes
epsilon / max(1, number of hypothesis n-grams), epsilon = 0.1, so a short or
partly matching sentence gets a small score instead of zero; a hypothesis that
matches no unigram at all scores 0. This is NLTK's ``sentence_bleu`` with
``SmoothingFunction().method1``; the tests check the two agree.
"""

import collections
import math
from collections.abc import Sequence

EPSILON = 0.1


def ngrams(tokens: Sequence[str], n: int) -> collections.Counter:
    return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _closest_length(references: Sequence[Sequence[str]], length: int) -> int:
    return min((len(r) for r in references), key=lambda r: (abs(r - length), r))


def bleu(references: Sequence[Sequence[str]], hypothesis: Sequence[str], max_order: int = 4) -> float:
    """Smoothed sentence BLEU-``max_order`` of ``hypothesis`` against ``references``."""
    if not references or any(len(r) == 0 for r in references):
        raise ValueError("bleu needs at least one non-empty reference")
    if max_order < 1:
        raise ValueError(f"max_order must be >= 1, got {max_order}")
    if not hypothesis:
        return 0.0
    log_precision = 0.0
    for n in range(1, max_order + 1):
        counts = ngrams(hypothesis, n)
        best = collections.Counter()
        for r in references:
            best |= ngrams(r, n)
        matches = sum(min(c, best[g]) for g, c in counts.items())
        if n == 1 and matches == 0:
            return 0.0
        log_precision += math.log((matches if matches else EPSILON) / max(1, sum(counts.values())))
    ref_length = _closest_length(references, len(hypothesis))
    brevity = 1.0 if len(hypothesis) > ref_length else math.exp(1 - ref_length / len(hypothesis))
    return brevity * math.exp(log_precision / max_order)


def corpus_sentence_bleu(references: Sequence[Sequence[Sequence[str]]], hypotheses: Sequence[Sequence[str]],
                         max_order: int = 4) -> float:
    """The mean over sentences of ``bleu`` (how dialogue papers report BLEU)."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} reference sets for {len(hypotheses)} hypotheses")
    if not hypotheses:
        raise ValueError("no hypotheses to score")
    return sum(bleu(r, h, max_order) for r, h in zip(references, hypotheses)) / len(hypotheses)
