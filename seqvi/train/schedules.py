"""Learning-rate schedules and the default optimiser (the KL weight's schedule
belongs to the objectives: ``seqvi.bounds.kl_weight_schedule``)."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


DECAYS = ("constant", "cosine")


def learning_rate_schedule(
    learning_rate: float, num_steps: int, warmup_steps: int = 0, decay: str = "constant"
) -> optax.Schedule:
    """Linear warm-up from 0 over ``warmup_steps``, then 'constant' or 'cosine'
    decay (to 1% of the peak at ``num_steps``)."""
    if decay not in DECAYS:
        raise ValueError(f"decay must be 'constant' or 'cosine', got {decay!r}")
    if decay == "constant":
        after = optax.constant_schedule(learning_rate)
    else:
        after = optax.cosine_decay_schedule(learning_rate, max(1, num_steps - warmup_steps), alpha=0.01)
    if warmup_steps <= 0:
        return after
    warm = optax.linear_schedule(0.0, learning_rate, warmup_steps)
    return optax.join_schedules([warm, after], [warmup_steps])


class _CountState(NamedTuple):
    count: jax.Array


def zero_until(num_steps: int) -> optax.GradientTransformation:
    """Updates multiplied by 0 for the first ``num_steps`` calls, then passed on."""

    def init(params):
        del params
        return _CountState(jnp.zeros((), jnp.int32))

    def update(updates, state, params=None):
        del params
        keep = (state.count >= num_steps).astype(jnp.float32)
        updates = jax.tree.map(lambda u: u * keep.astype(u.dtype), updates)
        return updates, _CountState(state.count + 1)

    return optax.GradientTransformation(init, update)


def make_optimizer(
    learning_rate: float,
    num_steps: int,
    clip_norm: float | None = 10.0,
    warmup_steps: int = 0,
    decay: str = "constant",
    frozen: tuple[str, ...] = (),
    frozen_steps: int = 0,
    weight_decay: float = 0.0,
    group_scales: tuple[tuple[str, float], ...] = (),
) -> optax.GradientTransformation:
    """Adam after global-norm clipping of the gradient (``clip_norm=None``: no
    clipping). The top-level parameter groups named in ``frozen`` get zero
    gradients (so Adam leaves them unchanged) for the first ``frozen_steps`` steps.
    ``weight_decay`` > 0 makes it AdamW: after Adam's step, every parameter also
    moves by -lr(step) * weight_decay * theta (decoupled decay); frozen groups do not
    decay while they are frozen. ``group_scales`` ((group, factor), ...) multiply the
    steps of those top-level groups by factor > 0: their learning rate is factor
    times the others' (an adversarial model's discriminator)."""
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    for group, factor in group_scales:
        if not factor > 0:
            raise ValueError(f"the learning-rate factor of group {group!r} must be > 0, got {factor}")
    scales = [optax.masked(optax.scale(factor), lambda params, g=group: {k: jax.tree.map(lambda _: k == g, v)
                                                                         for k, v in params.items()})
              for group, factor in group_scales]
    schedule = learning_rate_schedule(learning_rate, num_steps, warmup_steps, decay)
    freeze = []
    if frozen and frozen_steps > 0:
        mask = lambda params: {k: jax.tree.map(lambda _: k in frozen, v) for k, v in params.items()}  # noqa: E731
        freeze = [optax.masked(zero_until(frozen_steps), mask)]
    parts = list(freeze)
    if clip_norm:
        parts.append(optax.clip_by_global_norm(clip_norm))
    if weight_decay > 0:  # the decay is in the update, so the frozen groups' updates are zeroed again
        return optax.chain(*parts, optax.adamw(schedule, weight_decay=weight_decay), *scales, *freeze)
    return optax.chain(*parts, optax.adam(schedule), *scales)
