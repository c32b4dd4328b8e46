"""From an ml_collections config to data, model, loss and trainer: the pieces the
binaries in experiments/ and the notebooks share."""

import json
import pathlib

import jax
import ml_collections
import numpy as np

from seqvi import bounds
from seqvi.data import polyphonic
from seqvi.data.batching import BatchSchedule, chop
from seqvi.models.vrnn import VRNN
from seqvi.train.schedules import make_optimizer
from seqvi.train.trainer import Trainer

MODELS = {"vrnn": VRNN}


def load_splits(config: ml_collections.ConfigDict) -> dict[str, list[np.ndarray]]:
    """The polyphonic splits at ``config.data_path`` (empty: the embedded JSB chorales)."""
    path = config.data_path or polyphonic.embedded_jsb_path()
    return polyphonic.load_polyphonic(path)


def build_model(config: ml_collections.ConfigDict, data_dim: int):
    if config.model.name not in MODELS:
        raise ValueError(f"config.model.name must be one of {sorted(MODELS)}, got {config.model.name!r}")
    kwargs = {k: v for k, v in config.model.items() if k != "name"}
    return MODELS[config.model.name](data_dim=data_dim, **kwargs)


def training_bound(config: ml_collections.ConfigDict):
    """The bound the loss optimises, with its options from the config."""
    if config.bound == "elbo":
        return bounds.get_bound("elbo", free_bits=config.free_bits)
    options = {"num_particles": config.num_particles}
    if config.bound == "fivo":
        options.update(resampling=config.resampling, ess_threshold=config.ess_threshold)
    return bounds.get_bound(config.bound, **options)


def build_trainer(config: ml_collections.ConfigDict, model, workdir) -> Trainer:
    optimizer = make_optimizer(
        config.learning_rate,
        config.num_steps,
        clip_norm=config.clip_norm,
        warmup_steps=config.warmup_steps,
        decay=config.lr_decay,
    )
    return Trainer(
        bounds.batch_loss(training_bound(config), model),
        optimizer,
        workdir,
        seed=config.seed,
        kl_anneal_steps=config.kl_anneal_steps,
        checkpoint_every=config.checkpoint_every,
    )


def train_schedule(config: ml_collections.ConfigDict, train: list[np.ndarray]) -> BatchSchedule:
    seqs = chop(train, config.max_train_length) if config.max_train_length else train
    return BatchSchedule(seqs, config.batch_size, seed=config.seed)


def init_params(config: ml_collections.ConfigDict, model, train: list[np.ndarray]):
    mean = polyphonic.training_mean(train)
    return model.init(jax.random.key(config.seed), mean)


def save_config(config: ml_collections.ConfigDict, workdir) -> None:
    path = pathlib.Path(workdir) / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config.to_json_best_effort(indent=2))


def load_config(workdir) -> ml_collections.ConfigDict:
    path = pathlib.Path(workdir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {workdir} a training workdir?")
    return ml_collections.ConfigDict(json.loads(path.read_text()))


def load_params(config: ml_collections.ConfigDict, model, splits, workdir, which: str = "best"):
    """Best-by-validation parameters if kept and ``which == 'best'``, else the
    latest checkpoint. Returns (params, a description of which)."""
    trainer = build_trainer(config, model, workdir)
    template = init_params(config, model, splits["train"])
    try:
        if which == "best":
            try:
                return trainer.restore_best(template), "best by validation"
            except FileNotFoundError:
                pass
        state = trainer.restore(trainer.init_state(template))
        return state.params, f"checkpoint at step {int(state.step)}"
    finally:
        trainer.close()

