"""Training: the jit-compiled step, data-parallel sharding, checkpoints, logging."""

from seqvi.train.schedules import kl_weight_schedule, learning_rate_schedule, make_optimizer
from seqvi.train.trainer import NonFiniteError, TrainState, Trainer

__all__ = [
    "Trainer",
    "TrainState",
    "NonFiniteError",
    "make_optimizer",
    "learning_rate_schedule",
    "kl_weight_schedule",
]
