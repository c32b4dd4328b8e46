"""Evaluating a bound on a whole split, reported as the design asks: the
per-timestep figure is a ratio of sums (total log bound over the split / total
number of scored time steps), with per-sequence totals beside it, and the other
convention some papers use, the mean over sequences of (bound / length)."""

from typing import Any

import jax
import numpy as np

from seqvi import bounds
from seqvi.data.batching import eval_batches
from seqvi.models.base import StepModel


def evaluate_bound(
    model: StepModel,
    params: Any,
    sequences: list[np.ndarray],
    key: jax.Array,
    *,
    bound: str = "fivo",
    num_particles: int = 4,
    batch_size: int = 8,
    **bound_options,
) -> dict:
    """``bound`` with ``num_particles`` over every sequence of a split.

    Returns {'bound', 'num_particles', 'per_step', 'per_step_sequence_mean',
    'per_sequence', 'total', 'num_steps', 'num_sequences'}; per_step = total /
    num_steps; per_step_sequence_mean = mean_n (bound_n / length_n).
    """
    options = dict(bound_options)
    if bound != "elbo" or num_particles != 1:
        options["num_particles"] = num_particles
    fn = bounds.get_bound(bound, **options)
    compiled = jax.jit(lambda p, batch, k: bounds.batch_bounds(fn, model, p, batch, k).bound)
    total, steps, count, ratios = 0.0, 0, 0, 0.0
    for i, batch in enumerate(eval_batches(sequences, batch_size)):
        values = np.asarray(compiled(params, batch, jax.random.fold_in(key, i)), np.float64)
        real = batch["lengths"] > 0
        total += float(values[real].sum())
        steps += int(batch["lengths"].sum())
        count += int(real.sum())
        ratios += float((values[real] / batch["lengths"][real]).sum())
    return {
        "bound": bound,
        "num_particles": num_particles,
        "per_step": total / steps,
        "per_step_sequence_mean": ratios / count,
        "per_sequence": total / count,
        "total": total,
        "num_steps": steps,
        "num_sequences": count,
    }


def evaluate_elbo_per_frame(model, params: Any, sequences: list[np.ndarray], key: jax.Array, *,
                            batch_size: int = 8) -> dict:
    """For a model with its own ``loss(params, batch, key, recon_weight)`` (the
    KVAE): the ELBO over every sequence of a split per scored frame (a ratio of
    sums), with the reconstruction term unweighted. Returns {'elbo_per_frame',
    'per_sequence', 'num_frames', 'num_sequences'}."""
    compiled = jax.jit(lambda p, batch, k: model.loss(p, batch, k, recon_weight=1.0)[1]["elbo_per_frame"])
    total, frames, count = 0.0, 0, 0
    for i, batch in enumerate(eval_batches(sequences, batch_size)):
        n = int(batch["lengths"].sum())
        total += float(compiled(params, batch, jax.random.fold_in(key, i))) * n
        frames += n
        count += int((batch["lengths"] > 0).sum())
    return {"elbo_per_frame": total / frames, "per_sequence": total / count, "num_frames": frames,
            "num_sequences": count}
