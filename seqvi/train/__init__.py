"""Training: the jit-compiled step, data-parallel sharding, checkpoints, logging.

``Trainer``, ``evaluate`` and the schedules need only the core; the config-driven
pipeline (``train_and_evaluate``, ``prepare``, ``load_trained``, in
``seqvi.train.experiment``) needs the ``experiments`` extra and is imported on
first use."""

import importlib

from seqvi.bounds import kl_weight_schedule
from seqvi.train.evaluation import evaluate
from seqvi.train.schedules import learning_rate_schedule, make_optimizer
from seqvi.train.trainer import CheckpointError, NonFiniteError, TrainState, Trainer

_PIPELINE = ("train_and_evaluate", "prepare", "load_trained")

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


def __getattr__(name: str):
    if name in _PIPELINE:
        return getattr(importlib.import_module("seqvi.train.experiment"), name)
    raise AttributeError(f"module 'seqvi.train' has no attribute {name!r}")
