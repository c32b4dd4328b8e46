"""Learning-rate and KL-weight schedules, and the default optimiser."""

import jax.numpy as jnp
import optax


def learning_rate_schedule(
    learning_rate: float, num_steps: int, warmup_steps: int = 0, decay: str = "constant"
) -> optax.Schedule:
    """Linear warm-up from 0 over ``warmup_steps``, then 'constant' or 'cosine'
    decay (to 1% of the peak at ``num_steps``)."""
    if decay not in ("constant", "cosine"):
        raise ValueError(f"decay must be 'constant' or 'cosine', got {decay!r}")
    if decay == "constant":
        after = optax.constant_schedule(learning_rate)
    else:
        after = optax.cosine_decay_schedule(learning_rate, max(1, num_steps - warmup_steps), alpha=0.01)
    if warmup_steps <= 0:
        return after
    warm = optax.linear_schedule(0.0, learning_rate, warmup_steps)
    return optax.join_schedules([warm, after], [warmup_steps])


def make_optimizer(
    learning_rate: float,
    num_steps: int,
    clip_norm: float | None = 10.0,
    warmup_steps: int = 0,
    decay: str = "constant",
) -> optax.GradientTransformation:
    """Adam after global-norm clipping of the gradient (``clip_norm=None``: no clipping)."""
    schedule = learning_rate_schedule(learning_rate, num_steps, warmup_steps, decay)
    parts = [optax.clip_by_global_norm(clip_norm)] if clip_norm else []
    return optax.chain(*parts, optax.adam(schedule))


def kl_weight_schedule(anneal_steps: int, start: float = 0.0):
    """beta(step) rising linearly from ``start`` to 1 over ``anneal_steps`` (1 if 0)."""
    if anneal_steps <= 0:
        return lambda step: jnp.asarray(1.0)
    return lambda step: jnp.minimum(1.0, start + (1.0 - start) * step / anneal_steps)
