"""Training: the jit-compiled step, data-parallel sharding, checkpoints, logging."""

from seqvi.bounds import kl_weight_schedule
from seqvi.train.schedules import learning_rate_schedule, make_optimizer
from seqvi.train.evaluation import evaluate
from seqvi.train.experiment import load_trained, prepare, train_and_evaluate
from seqvi.train.trainer import CheckpointError, NonFiniteError, TrainState, Trainer

__all__ = [
    "train_and_evaluate",
    "prepare",
    "load_trained",
    "evaluate",
    "Trainer",
    "TrainState",
    "NonFiniteError",
    "CheckpointError",
    "make_optimizer",
    "learning_rate_schedule",
    "kl_weight_schedule",
]
