"""Sentence-level BLEU (Papineni et al. 2002), computed by NLTK.

For a hypothesis h and references R (token lists), the modified n-gram precision
is p_n = sum_g min(c_h(g), max_r c_r(g)) / sum_g c_h(g) over the n-grams g of h.
BLEU-N (cumulative, uniform weights) = BP * exp((1/N) sum_{n=1..N} log p_n), with
brevity penalty BP = min(1, exp(1 - r / |h|)), r the reference length closest to
|h| (the shorter on ties).

A sentence rarely matches every order, so a zero precision is smoothed by one of
the methods of Chen & Cherry (2014) as NLTK's ``SmoothingFunction`` numbers
them: method 1 (a zero count becomes epsilon = 0.1) is seqvi's default; the VMED
authors score with method 7. Methods 5 and 7 interpolate n-gram counts and can
score above 1 (a six-token exact match: 1.117). Method 6 is refused: NLTK's fails
on BLEU-1 and on any sentence without a bigram match. Needs the 'dialogue' extra
(nltk).
"""

import warnings
from collections.abc import Sequence

from seqvi._extras import require

SMOOTHING_METHODS = (0, 1, 2, 3, 4, 5, 7)  # 0: none; Chen & Cherry (2014) as NLTK numbers them


def bleu(references: Sequence[Sequence[str]], hypothesis: Sequence[str], max_order: int = 4,
         smoothing: int = 1) -> float:
    """Smoothed sentence BLEU-``max_order`` of ``hypothesis`` (tokens) against
    ``references`` (token lists): in [0, 1] except under methods 5 and 7 (module
    docstring); 0 for an empty hypothesis or one that matches no unigram.
    ``smoothing``: NLTK's method number (``SMOOTHING_METHODS``).

    Raises ValueError for no reference, an empty reference, ``max_order`` < 1 or an
    unknown smoothing method."""
    if not references or any(len(r) == 0 for r in references):
        raise ValueError("bleu needs at least one non-empty reference")
    if max_order < 1:
        raise ValueError(f"max_order must be >= 1, got {max_order}")
    if smoothing not in SMOOTHING_METHODS:
        raise ValueError(f"smoothing must be one of NLTK's methods {SMOOTHING_METHODS}, got {smoothing!r}")
    if not hypothesis:
        return 0.0
    score = require("nltk.translate.bleu_score", "dialogue")
    method = getattr(score.SmoothingFunction(), f"method{smoothing}")
    with warnings.catch_warnings():  # method 0 warns on every sentence without a match at some order
        warnings.simplefilter("ignore", UserWarning)
        return float(score.sentence_bleu([list(r) for r in references], list(hypothesis),
                                         weights=(1.0 / max_order,) * max_order, smoothing_function=method))


def corpus_sentence_bleu(references: Sequence[Sequence[Sequence[str]]], hypotheses: Sequence[Sequence[str]],
                         max_order: int = 4, smoothing: int = 1) -> float:
    """The mean over sentences of ``bleu`` (how dialogue papers report BLEU).
    Raises ValueError when the two lists differ in length or are empty."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} reference sets for {len(hypotheses)} hypotheses")
    if not hypotheses:
        raise ValueError("no hypotheses to score")
    return sum(bleu(r, h, max_order, smoothing) for r, h in zip(references, hypotheses)) / len(hypotheses)
