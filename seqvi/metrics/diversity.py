"""Diversity of generated responses.

Distinct-n (Li et al. 2016): the number of distinct n-grams over all responses
divided by the total number of n-grams. Ent-n (Zhang et al. 2018): the entropy
-sum_g p(g) log p(g) (natural log) of the empirical n-gram distribution over all
responses.
"""

import collections
import math
from collections.abc import Sequence


def ngrams(tokens: Sequence[str], n: int) -> collections.Counter:
    """Counts of the n-grams (tuples of n consecutive tokens) of ``tokens``."""
    return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _counts(responses: Sequence[Sequence[str]], n: int) -> collections.Counter:
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    total = collections.Counter()
    for r in responses:
        total.update(ngrams(r, n))
    return total


def distinct(responses: Sequence[Sequence[str]], n: int) -> float:
    """Distinct-n; 0 when the responses hold no n-gram."""
    counts = _counts(responses, n)
    total = sum(counts.values())
    return len(counts) / total if total else 0.0


def ngram_entropy(responses: Sequence[Sequence[str]], n: int = 4) -> float:
    """Ent-n in nats; 0 when the responses hold no n-gram."""
    counts = _counts(responses, n)
    total = sum(counts.values())
    return -sum(c / total * math.log(c / total) for c in counts.values()) if total else 0.0
