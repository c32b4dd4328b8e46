"""The one experiment pipeline, in the shape of the flax examples:
``train_and_evaluate(config, workdir)`` for ``experiments/train.py`` and
``evaluate_workdir`` for ``experiments/evaluate.py``.

A config (ml_collections) names a task ('sequences' or 'dialogue',
``seqvi.train.tasks``), its data, a registered model (``seqvi.models.registry``)
with its constructor arguments, and the training fields shared by every model.
The model builds its own objective from the config's flat fields
(``model.objective(ObjectiveOptions)``), so nothing here depends on the kind of
model. Nothing is written to a workdir before the config is validated, the data
loaded and the checkpoint restored.
"""

import contextlib
import dataclasses
import json
import pathlib
from typing import Any

import jax
import jax.numpy as jnp

from seqvi import datasets
from seqvi._extras import require
from seqvi.core import ChecksLength, ConfigError, HasDiscriminator, Objective, ObjectiveOptions
from seqvi.models import registry
from seqvi.models.parts import num_params, renamed_options_message
from seqvi.smc import RESAMPLERS
from seqvi.train.evaluation import evaluate
from seqvi.train.schedules import DECAYS, make_optimizer
from seqvi.train.tasks import get_task
from seqvi.train.trainer import Trainer, describe_error
from seqvi.train.workdir import DATA_RECORD, data_mismatch, differences
from seqvi.train.workdir import lock as workdir_lock

ml_collections = require("ml_collections", "experiments")


# ---- configs ------------------------------------------------------------------------------------
def base_config(task: str, dataset: str, model: dict) -> ml_collections.ConfigDict:
    """The fields every task and model share; ``model`` holds 'name' and the
    model's constructor arguments."""
    entry = registry.get(model.get("name"))
    if entry.task != task:
        raise ValueError(f"model {entry.name!r} is a {entry.task} model, not a {task} one")
    c = ml_collections.ConfigDict()
    c.task = task
    c.dataset = dataset
    c.data_path = ""  # a file or folder of the user's; empty: the embedded default
    c.dataset_module = ""  # a module of the user's that registers config.dataset (seqvi.datasets.of_config)
    if task == "sequences":
        c.max_train_length = 0  # > 0: train on pieces of at most this many steps; 0: whole sequences
    c.model = ml_collections.ConfigDict(model)
    c.bound = "fivo"  # what the model trains with: elbo | iwae | fivo, or its own (model.objective says)
    c.num_particles = 4
    c.resampling = "systematic"
    c.ess_threshold = 0.5
    c.free_bits = 0.0  # elbo only
    c.kl_anneal_steps = 0
    c.kl_anneal_start = 0.0  # beta rises linearly from this to 1 over kl_anneal_steps
    c.tbptt_length = 0  # > 0: train on chunks of this many steps, states carried (truncated BPTT)
    c.batch_size = 4
    c.learning_rate = 3e-3
    c.lr_decay = "cosine"
    c.warmup_steps = 100
    c.clip_norm = 10.0
    c.weight_decay = 0.0  # > 0: AdamW's decoupled decay
    c.num_steps = 4000
    c.seed = 0
    c.log_every = 100
    c.checkpoint_every = 500
    c.eval_every = 1000
    c.eval = ml_collections.ConfigDict(dict(num_particles=16, batch_size=16, split="valid"))
    return c


def dataset_config(dataset: str, model: dict, **options) -> ml_collections.ConfigDict:
    """The training config of the registered data set ``dataset``
    (``seqvi.datasets``) for ``model`` ('name' and constructor arguments): the
    shared fields of ``base_config`` with the data set's own (its config block,
    batch size, budget). ``options``: the data set's named variants (for
    'first_person', ``kind='walking'``). ValueError for an unknown data set or a
    model of another task."""
    data = datasets.get(dataset)
    c = base_config(data.task, dataset, data.model_fields(model))
    module = type(data).__module__
    if not module.startswith("seqvi.") and module != "__main__":  # a user's data set: every process imports it
        c.dataset_module = module
    data.configure(c, **options)
    return c


# The ranges of a training config's numeric fields (``validate_config``, which also checks
# learning_rate, ess_threshold, kl_anneal_start and eval's fields): every numeric field of
# every shipped config outside ``model`` and the data sets' blocks is checked there, seeds
# aside (tests/train/test_workdir.py walks each config file's default).
_POSITIVE = ("batch_size", "num_steps", "num_particles", "log_every", "checkpoint_every")
_POSITIVE_IF_SET = ("vocab_size", "max_context", "max_response")  # dialogue's
_NON_NEGATIVE = ("kl_anneal_steps", "warmup_steps", "eval_every", "free_bits", "weight_decay", "clip_norm",
                 "tbptt_length", "frozen_steps", "pad_multiple", "prediction_start", "max_train_length",
                 "discriminator_learning_rate", "length_bucket")


def validate_config(config: ml_collections.ConfigDict) -> None:
    """ConfigError naming the field for a value no run can use, or a model option
    under its old name (``seqvi.models.parts.RENAMED_OPTIONS``)."""
    if renamed := renamed_options_message(config.model, prefix="config.model."):
        raise ConfigError(renamed)
    for name in _POSITIVE:
        _check_positive_int(f"config.{name}", config.get(name))
    for name in _POSITIVE_IF_SET:
        if config.get(name) is not None:
            _check_positive_int(f"config.{name}", config.get(name))
    for name in _NON_NEGATIVE:
        if config.get(name, 0) is not None and config.get(name, 0) < 0:
            raise ConfigError(f"config.{name} must be >= 0, got {config.get(name)!r}")
    if not config.learning_rate > 0:
        raise ConfigError(f"config.learning_rate must be > 0, got {config.learning_rate!r}")
    if not 0.0 <= config.ess_threshold <= 1.0:
        raise ConfigError(f"config.ess_threshold must lie in [0, 1], got {config.ess_threshold!r}")
    if config.get("lr_decay", "constant") not in DECAYS:
        raise ConfigError(f"config.lr_decay must be one of {list(DECAYS)}, got {config.lr_decay!r}")
    if not 0.0 <= config.get("kl_anneal_start", 0.0) <= 1.0:
        raise ConfigError(f"config.kl_anneal_start must lie in [0, 1], got {config.kl_anneal_start!r}")
    if not isinstance(config.get("seed", 0), int) or isinstance(config.get("seed", 0), bool):
        raise ConfigError(f"config.seed must be an int, got {config.seed!r}")
    if config.get("resampling", "systematic") not in RESAMPLERS:
        raise ConfigError(f"config.resampling must be one of {sorted(RESAMPLERS)}, got {config.resampling!r}")
    for name in ("num_particles", "batch_size"):  # evaluation's, used only after training has run
        _check_positive_int(f"config.eval.{name}", config.get("eval", {}).get(name, 1))
    if (config.get("eval", {}).get("num_generated") or 0) < 0:  # None or 0: none generated
        raise ConfigError(f"config.eval.num_generated must be >= 0, got {config.eval.num_generated!r}")


def _check_positive_int(field: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{field} must be a positive int, got {value!r}")


def objective_options(config: ml_collections.ConfigDict) -> ObjectiveOptions:
    return ObjectiveOptions(
        bound=config.bound, num_particles=config.num_particles, resampling=config.resampling,
        ess_threshold=config.ess_threshold, free_bits=config.free_bits, kl_anneal_steps=config.kl_anneal_steps,
        kl_anneal_start=config.get("kl_anneal_start", 0.0), tbptt_length=config.get("tbptt_length", 0),
        eval_num_particles=config.eval.get("num_particles", 16))


# ---- building a run ----------------------------------------------------------------------------
def build_model(config: ml_collections.ConfigDict, dim: int):
    """The config's registered model for data of ``dim`` entries per step (a
    vocabulary of ``dim`` words for dialogue)."""
    entry = registry.get(config.model.name)
    return entry.build(dim, **{k: _hashable(v) for k, v in config.model.items() if k != "name"})


def _hashable(value):
    """Lists (as a config read back from JSON holds its tuples) as tuples, so that
    models, frozen dataclasses, stay hashable for jit."""
    return tuple(_hashable(v) for v in value) if isinstance(value, (list, tuple)) else value


def build_trainer(config: ml_collections.ConfigDict, objective, workdir, *, tensorboard: bool = True,
                  model=None) -> Trainer:
    """The trainer of ``objective`` under the config's optimiser. With
    ``config.discriminator_learning_rate``, the discriminator groups of an
    adversarial ``model`` (``seqvi.core.HasDiscriminator``) step at that rate
    instead; ConfigError for any other model."""
    scales = ()
    if config.get("discriminator_learning_rate"):
        if not isinstance(model, HasDiscriminator):
            raise ConfigError("config.discriminator_learning_rate applies to adversarial models only")
        groups = model.discriminator_groups
        scales = tuple((g, config.discriminator_learning_rate / config.learning_rate) for g in groups)
    optimizer = make_optimizer(
        config.learning_rate, config.num_steps, clip_norm=config.clip_norm, warmup_steps=config.warmup_steps,
        decay=config.lr_decay, frozen=tuple(config.get("frozen", ())), frozen_steps=config.get("frozen_steps", 0),
        weight_decay=config.get("weight_decay", 0.0), group_scales=scales)
    return Trainer(objective, optimizer, workdir, seed=config.seed, checkpoint_every=config.checkpoint_every,
                   tensorboard=tensorboard, write_metrics=tensorboard)


@dataclasses.dataclass
class Run:
    """Everything a binary needs: the config, its task and data, the model, its
    objective, initial parameters, the trainer and the training batches."""

    config: ml_collections.ConfigDict
    task: Any
    splits: dict
    extras: dict  # task-specific (the dialogue vocabulary)
    model: Any
    objective: Objective
    params: Any  # initial parameters (also the template for restoring)
    trainer: Trainer
    batch_at: Any  # step -> training batch
    workdir: pathlib.Path | None


def prepare(config: ml_collections.ConfigDict, workdir=None, *, training: bool = True) -> Run:
    """Validate ``config``, load its data and build the run (its trainer reads
    and writes checkpoints in ``workdir``; metrics only when ``training``).
    User errors raise ``ConfigError`` (one line)."""
    if "task" not in config:  # workdirs written before tasks existed
        config.task = "dialogue" if registry.get(config.model.name).task == "dialogue" else "sequences"
    validate_config(config)
    task = get_task(config.task)
    data = datasets.of_config(config)
    if data.task != task.name:
        raise ConfigError(f"dataset {config.dataset!r} is a {data.task} data set, but the config's task is "
                          f"{task.name!r}")
    try:
        entry = registry.get(config.model.name)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if entry.task != task.name:
        raise ConfigError(f"model {entry.name!r} is a {entry.task} model but the config's task is {task.name!r}")
    splits = task.load_splits(config)
    if config.get("eval", {}).get("split", "valid") not in splits:
        raise ConfigError(f"config.eval.split must be one of {sorted(splits)}, got {config.eval.split!r}")
    workdir = None if workdir is None else pathlib.Path(workdir)
    extras = task.extras(config, splits, workdir)
    try:
        model = build_model(config, task.model_dim(splits, extras))
        objective = model.objective(objective_options(config))
        if isinstance(model, ChecksLength):  # a model that needs sequences longer than its memory
            model.check_length(min(len(x) for split in splits.values() for x in split))
    except (TypeError, ValueError) as e:
        raise ConfigError(f"config.model / config.bound: {e}") from None
    params = task.init_params(config, model, splits)
    if training:
        params = task.fit_params(config, model, params, splits, extras)
    if training and config.get("init_from"):
        params = start_from(config.init_from, params, extras)
    trainer = build_trainer(config, objective, workdir, tensorboard=training, model=model)
    return Run(config, task, splits, extras, model, objective, params, trainer,
               task.train_batches(config, splits, extras), workdir)


def start_from(workdir, params: dict, extras: dict) -> dict:
    """``params`` with every group that the trained run in ``workdir`` also has
    replaced by its best parameters (an adversarial model's generator from a
    pretrained Seq2Seq). ConfigError when the vocabularies differ or a shared
    group has other shapes."""
    source, trained, which = load_trained(workdir)
    if "vocab" in extras and source.extras["vocab"].tokens != extras["vocab"].tokens:
        raise ConfigError(f"--config.init_from={workdir}: its vocabulary differs from this run's "
                          "(train both on the same data with the same vocab_size)")
    shared = sorted(set(trained) & set(params))
    if not shared:
        raise ConfigError(f"--config.init_from={workdir}: its model shares no parameter group with this one")
    for group in shared:
        if jax.tree.map(jnp.shape, trained[group]) != jax.tree.map(jnp.shape, params[group]):
            raise ConfigError(f"--config.init_from={workdir}: parameter group {group!r} has other shapes "
                              f"(use the same model sizes)")
    print(f"starting from {workdir} ({which}): {', '.join(shared)}", flush=True)
    return dict(params, **{g: trained[g] for g in shared})


def save_config(config: ml_collections.ConfigDict, workdir) -> None:
    path = pathlib.Path(workdir) / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config.to_json_best_effort(indent=2))


def load_config(workdir) -> ml_collections.ConfigDict:
    path = pathlib.Path(workdir) / "config.json"
    if not path.is_file():
        what = "no such folder" if not path.parent.exists() else "a file" if not path.parent.is_dir() else (
            "a folder without a training run (no config.json)")
        raise ConfigError(f"{workdir}: {what}; give the --workdir of a training run")
    return ml_collections.ConfigDict(json.loads(path.read_text()))


_MODEL_FIELDS = ("task", "model")  # a checkpoint cannot be restored into another model


def train_and_evaluate(config: ml_collections.ConfigDict, workdir, *, stop_at: int | None = None):
    """Train ``config`` in ``workdir`` (resuming from its latest checkpoint), with
    the periodic evaluation of the objective on ``config.eval.split`` keeping the
    best parameters. Returns the final TrainState.

    The run holds the workdir's lock while it trains (``seqvi.train.workdir.lock``:
    a second run there is refused naming the first), and resumes only on the data
    its data.json records (ConfigError naming both otherwise)."""
    workdir = pathlib.Path(workdir)
    previous = workdir / "config.json"
    if previous.is_file():
        old = json.loads(previous.read_text())
        new = json.loads(config.to_json_best_effort())
        changed = differences({k: old.get(k) for k in _MODEL_FIELDS}, {k: new.get(k) for k in _MODEL_FIELDS})
        if changed:
            raise ConfigError(f"{workdir} holds a run of another model ({'; '.join(changed)}): use a new --workdir")
    run = prepare(config, workdir)
    try:
        with contextlib.ExitStack() as owned:
            if jax.process_index() == 0:  # the other hosts run the same command on the same workdir
                owned.enter_context(workdir_lock(workdir))
            return _train(config, workdir, run, stop_at)
    finally:
        run.trainer.close()


def _train(config: ml_collections.ConfigDict, workdir: pathlib.Path, run: Run, stop_at: int | None):
    """``train_and_evaluate`` once ``run`` is prepared and the workdir is this run's."""
    record = run.task.data_record(config, run.splits)
    if mismatch := data_mismatch(workdir, record):
        raise ConfigError(f"{mismatch}: resume with the recorded data, or use a new --workdir")
    print(f"model {config.model.name} with {num_params(run.params)} parameters; {run.task.describe(run.splits, run.extras)}"
          f"; devices {jax.devices()}", flush=True)
    state = run.trainer.restore_or_init(run.params)
    if jax.process_index() == 0:
        save_config(config, workdir)
        run.task.save_extras(run.extras, workdir)
        (workdir / DATA_RECORD).write_text(json.dumps(record, indent=1) + "\n")
    split = config.eval.split
    key = jax.random.key(config.seed + 1)
    dialogue_keys = run.task.name == "dialogue"

    def eval_fn(params):
        batches = run.task.eval_batches(config, run.splits[split], config.eval.batch_size, run.extras)
        result = evaluate(run.objective, params, batches, jax.random.key(0) if dialogue_keys else key,
                          same_key_every_batch=dialogue_keys)
        if config.eval.get("num_generated", 0):  # diversity of greedy responses (adversarial runs)
            pairs = run.splits[split][: config.eval.num_generated]
            result.update(run.task.generation_scores(config, params, run.model, pairs, run.extras))
        return {f"{split}_{k}": v for k, v in result.items() if not k.startswith("num_")}

    return run.trainer.fit(
        state, run.batch_at, config.num_steps, log_every=config.log_every,
        eval_fn=eval_fn if config.eval_every else None, eval_every=config.eval_every,
        best_metric=f"{split}_{run.objective.target}" if config.eval_every and config.get("keep_best", True)
        else None, stop_at=stop_at)


def load_trained(workdir, which: str = "best", *, other_data: bool = False) -> tuple[Run, Any, str]:
    """(run, parameters, which ones) of a training workdir: the best by validation
    if kept and ``which == 'best'``, else the newest readable checkpoint (an
    unreadable one is named in a warning and skipped, nothing is moved;
    CheckpointError when none can be read). The data read
    must be those the run recorded (data.json: sizes and SHA-256): ConfigError
    naming both otherwise, unless ``other_data``, which reads them anyway, prints
    a warning and says so in the returned description."""
    config = load_config(workdir)
    run = prepare(config, workdir, training=False)
    try:
        on = ""
        if mismatch := data_mismatch(workdir, run.task.data_record(config, run.splits)):
            if not other_data:
                raise ConfigError(f"{mismatch} (--other_data reads them anyway)")
            print(f"warning: {mismatch}; reading them, as --other_data asks", flush=True)
            on = ", on other data than the run recorded"
        if which == "best":
            try:
                return run, run.trainer.restore_best(run.params), "best by validation" + on
            except FileNotFoundError:
                pass
            except Exception as e:  # noqa: BLE001 - any failure to read the files
                print(f"warning: the best parameters in {workdir}/best cannot be read ({describe_error(e)}); "
                      "using the newest readable checkpoint", flush=True)
        state = run.trainer.restore_readable(run.trainer.init_state(run.params))
        return run, state.params, f"checkpoint at step {int(state.step)}{on}"
    finally:
        run.trainer.close()


__all__ = ["base_config", "dataset_config", "prepare", "train_and_evaluate", "load_trained", "load_config",
           "save_config", "build_model", "build_trainer", "validate_config", "Run"]
