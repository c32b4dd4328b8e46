"""Evaluating any objective on a whole split.

``objective.eval_terms`` is compiled once per objective (and once per batch
shape by jit), not once per call: the periodic evaluation of a training run
reuses the compiled function every time. Terms are summed over the split in
float64 on the host; ``objective.summarise`` turns the sums into the reported
figures (ratios of sums: a bound per time step is the split's total bound over
its total number of scored steps, as the design asks).
"""

import functools
from collections.abc import Iterable
from typing import Any

import jax
import numpy as np

from seqvi.core import Objective


@functools.lru_cache(maxsize=64)
def compiled_eval_terms(objective: Objective):
    """``jax.jit(objective.eval_terms)``, one per (hashable) objective."""
    return jax.jit(objective.eval_terms)


def evaluate(objective: Objective, params: Any, batches: Iterable[dict], key: jax.Array, *,
             same_key_every_batch: bool = False) -> dict[str, float]:
    """``objective.summarise`` of the sums of ``objective.eval_terms`` over ``batches``.

    Batch i uses key ``fold_in(key, i)`` (or ``key`` itself with
    ``same_key_every_batch``, the dialogue evaluations' convention).
    """
    terms = compiled_eval_terms(objective)
    sums: dict[str, float] = {}
    for i, batch in enumerate(batches):
        values = terms(params, batch, key if same_key_every_batch else jax.random.fold_in(key, i))
        for name, value in values.items():
            sums[name] = sums.get(name, 0.0) + float(np.asarray(value, np.float64).sum())
    if not sums:
        raise ValueError("evaluate got no batches: is the split empty?")
    return {name: float(value) for name, value in objective.summarise(sums).items()}
