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

import dataclasses
import json
import pathlib
from typing import Any

import jax
import jax.numpy as jnp

from seqvi._extras import require
from seqvi.core import Objective, ObjectiveOptions
from seqvi.data import physics, synthetic
from seqvi.models import registry
from seqvi.models.parts import num_params
from seqvi.train.evaluation import evaluate
from seqvi.train.schedules import make_optimizer
from seqvi.train.tasks import SPEECH, ConfigError, file_record, get_task
from seqvi.train.trainer import Trainer

POLYPHONIC = ("jsb", "nottingham", "piano_midi", "muse_data")  # jsb is embedded; the others need data_path
DATASETS = POLYPHONIC + ("synthetic",) + tuple(f"physics_{e}" for e in physics.ENVIRONMENTS) + tuple(SPEECH)
DIALOGUE_DATA = ("chatterbot", "cornell", "parlai")  # chatterbot is embedded; the others need data_path

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


def dataset_config(dataset: str, model: dict) -> ml_collections.ConfigDict:
    """The shared training config for a sequence ``dataset``: a polyphonic set,
    'synthetic' or 'physics_<environment>' (box, gravity, polygon, pong, pendulum)."""
    if dataset == "synthetic":
        return synthetic_config(model)
    if dataset.startswith("physics_"):
        return physics_config(dataset[len("physics_"):], model)
    if dataset in SPEECH:
        return speech_config(dataset, model)
    return polyphonic_config(dataset, model)


def polyphonic_config(dataset: str, model: dict) -> ml_collections.ConfigDict:
    """Polyphonic music: JSB (embedded) trains on whole chorales; the others (their
    file in ``data_path``) on pieces of at most ``max_train_length`` = 128 steps
    (evaluation always uses whole sequences)."""
    if dataset not in POLYPHONIC:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {dataset!r}")
    c = base_config("sequences", dataset, model)
    c.max_train_length = 0 if dataset == "jsb" else 128  # 0: whole sequences
    return c


def synthetic_config(model: dict) -> ml_collections.ConfigDict:
    """The VHRNN paper's setup on its synthetic suite (``seqvi.data.synthetic``):
    FIVO with 4 particles, batch 4, Gaussian emissions; ``config.synthetic``
    holds the suite's ``SyntheticSpec`` fields."""
    c = polyphonic_config("jsb", dict(model, emission_type="gaussian"))
    c.dataset = "synthetic"
    c.synthetic = ml_collections.ConfigDict(dataclasses.asdict(synthetic.SyntheticSpec()))
    c.max_train_length = 0
    c.pad_multiple = c.synthetic.get_ref("length")  # every training sequence has this length
    c.num_steps = 3000
    c.eval_every = 500
    c.eval.batch_size = 50
    return c


def physics_config(environment: str, model: dict) -> ml_collections.ConfigDict:
    """Videos of ``seqvi.data.physics`` (``config.physics``: environment, sizes,
    seed); frames are flattened to [H * W] rows, with the pendulum's torque u_t
    appended for a model that takes inputs (``model.input_dim`` > 0);
    Bernoulli pixels, batch 32, whole sequences."""
    c = polyphonic_config("jsb", model)
    c.dataset = f"physics_{environment}"
    with_inputs = model.get("input_dim", 0) > 0
    c.physics = ml_collections.ConfigDict(dict(environment=environment, num_train=5000, num_valid=100,
                                               num_test=1000, seed=0, with_inputs=with_inputs))
    c.batch_size = 32
    c.max_train_length = 0
    c.pad_multiple = physics.PhysicsSpec.default(environment).num_steps  # every video has this many frames
    c.eval.batch_size = 50
    return c


def first_person_config(model: dict, kind: str = "rotating") -> ml_collections.ConfigDict:
    """GTM-SM's first-person 3-D navigation (thesis, sections 7.4.2 and 7.7.2; miniworld
    rooms in place of Labyrinth): 'rotating' videos of tau + 16 steps for training
    (tau = 33) and tau + 45 at test; 'walking' ones of 150 + 32 and 150 + 150.
    Rows are a 32 x 32 RGB view and a one-hot action; Adam 1e-3, batch 16. The
    videos are rendered once into ``first_person.data_dir`` (empty:
    ~/tensorflow_datasets)."""
    c = polyphonic_config("jsb", model)
    c.dataset = "first_person"
    steps = {"rotating": (49, 78), "walking": (182, 300)}[kind]
    c.first_person = ml_collections.ConfigDict(dict(
        kind=kind, num_steps=steps[0], test_steps=steps[1], size=32, repeat_rate=3.0, num_train=1000, num_valid=50,
        num_test=100, seed=0, data_dir="", displacements=False, avoid_walls=False))
    return _action_video_config(c, c.first_person)


def navigation_config(model: dict) -> ml_collections.ConfigDict:
    """GTM-SM's image navigation (thesis, sections 7.4.1 and 7.7.1): walks of
    tau + 32 steps for training (tau = 256), tau + 256 at test, views of 8 x 8
    pixels and one-hot actions per row; Adam 1e-3, batch 16."""
    c = polyphonic_config("jsb", model)
    c.dataset = "navigation"
    c.navigation = ml_collections.ConfigDict(dict(num_steps=288, test_steps=512, repeat_rate=3.0, num_train=2000,
                                                  num_valid=50, num_test=100, seed=0, avoid_walls=False))
    return _action_video_config(c, c.navigation)


def _action_video_config(c: ml_collections.ConfigDict, data: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """What GTM-SM's data sets share: the ELBO, batch 16, whole sequences padded to
    the training length ``data.num_steps``, evaluation batches of 10."""
    c.bound = "elbo"
    c.batch_size = 16
    c.max_train_length = 0
    c.pad_multiple = data.get_ref("num_steps")
    c.eval.batch_size = 10
    return c


def speech_config(dataset: str, model: dict) -> ml_collections.ConfigDict:
    """Raw speech (thesis, section 5.4, scaled to a CPU): the folder ``data_path``
    ('fsdd': the FSDD recordings; 'speech': TIMIT-style train/ and test/),
    normalised frames of 12.5 ms (``speech.frame_size`` 0), trained with the ELBO
    on one sample, beta from 0.2 to 1, and evaluated on whole recordings.

    Training sequences are cut into independent 2 s pieces (160 frames, states
    reset, as the thesis) and scored in 0.5 s chunks (``tbptt_length`` 40 frames:
    set it to 0.5 s of any other ``frame_size``) with the states carried from
    chunk to chunk and gradients truncated between them. Unlike the thesis, which
    updates the parameters after each chunk (4 updates per 2 s), seqvi sums the
    chunks' truncated gradients into one update per batch. On the FSDD (training
    recordings of at most 1.3 s) no piece is cut and 24% of the recordings span
    more than one chunk."""
    c = base_config("sequences", dataset, dict(model, emission_type=model.get("emission_type", "gaussian")))
    c.speech = ml_collections.ConfigDict(dict(frame_size=0, valid_takes=5, split_seed=0))
    c.max_train_length = 160  # 2 s of 12.5 ms frames
    c.bound = "elbo"
    c.num_particles = 1
    c.kl_anneal_start = 0.2
    c.kl_anneal_steps = 1000
    c.tbptt_length = 40  # 0.5 s of 12.5 ms frames, as the thesis
    c.batch_size = 32
    c.learning_rate = 1e-3
    c.num_steps = 3000
    c.eval_every = 500
    c.eval = ml_collections.ConfigDict(dict(num_particles=16, batch_size=50, split="valid"))
    return c


def dialogue_config(dataset: str, model: dict) -> ml_collections.ConfigDict:
    """The dialogue fields on top of ``base_config``: 'chatterbot' (embedded),
    'cornell' (the ParlAI Cornell folder in ``data_path``, re-split) or 'parlai'
    (a folder of the user's with train/valid/test.txt, kept unless ``resplit``)."""
    if dataset not in DIALOGUE_DATA:
        raise ValueError(f"dataset must be one of {sorted(DIALOGUE_DATA)}, got {dataset!r}")
    c = base_config("dialogue", dataset, model)
    c.split_seed = 0
    c.resplit = False  # 'parlai': re-split the union of the three files by conversation
    c.init_word_vectors = ""  # a GloVe/word2vec text file: the embedding rows of the words it has
    c.swap_pairs = False  # train on (response, context): the backward model p(context | response) of MMI-bidi
    c.lenient = False  # skip (and report) malformed lines of ParlAI files instead of refusing them
    c.vocab_size = 2000 if dataset == "chatterbot" else 8000  # Cornell: 8000 words cover 97% of tokens
    c.max_context = 20
    c.max_response = 20
    # training batches sorted by response length in runs of 8 and trimmed to a multiple of 7
    # steps (0: every batch max_response + 1 steps; seqvi.data.dialogue.DialogueSchedule)
    c.length_bucket = 7
    c.batch_size = 32
    c.learning_rate = 1e-3
    c.lr_decay = "constant"
    c.warmup_steps = 0
    c.clip_norm = 5.0
    c.num_steps = 2000 if dataset == "chatterbot" else 3000  # Cornell: 4.4 epochs of the 22032 training pairs
    c.checkpoint_every = 1000
    c.eval_every = 500
    c.eval = ml_collections.ConfigDict(dict(num_particles=16, split="valid", batch_size=64))
    return c


_POSITIVE = ("batch_size", "num_steps", "num_particles", "log_every", "checkpoint_every")
_NON_NEGATIVE = ("kl_anneal_steps", "warmup_steps", "eval_every", "free_bits", "weight_decay", "clip_norm",
                 "tbptt_length")


def validate_config(config: ml_collections.ConfigDict) -> None:
    """ConfigError naming the field for a value no run can use."""
    for name in _POSITIVE:
        value = config.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"config.{name} must be a positive int, got {value!r}")
    for name in _NON_NEGATIVE:
        if config.get(name, 0) is not None and config.get(name, 0) < 0:
            raise ConfigError(f"config.{name} must be >= 0, got {config.get(name)!r}")
    if not config.learning_rate > 0:
        raise ConfigError(f"config.learning_rate must be > 0, got {config.learning_rate!r}")
    if not 0.0 <= config.ess_threshold <= 1.0:
        raise ConfigError(f"config.ess_threshold must lie in [0, 1], got {config.ess_threshold!r}")
    if config.get("max_train_length", 0) < 0:
        raise ConfigError(f"config.max_train_length must be >= 0 (0: whole sequences), got {config.max_train_length}")


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


def build_trainer(config: ml_collections.ConfigDict, objective, workdir, *, tensorboard: bool = True) -> Trainer:
    """The trainer of ``objective`` under the config's optimiser. With
    ``config.discriminator_learning_rate``, an adversarial model's discriminator
    groups (``model.discriminator_groups``) step at that rate instead."""
    scales = ()
    if config.get("discriminator_learning_rate"):
        groups = getattr(getattr(objective, "model", None), "discriminator_groups", ())
        if not groups:
            raise ConfigError("config.discriminator_learning_rate applies to adversarial models only")
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
    try:
        entry = registry.get(config.model.name)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if entry.task != task.name:
        raise ConfigError(f"model {entry.name!r} is a {entry.task} model but the config's task is {task.name!r}")
    splits = task.load_splits(config)
    workdir = None if workdir is None else pathlib.Path(workdir)
    extras = task.extras(config, splits, workdir)
    try:
        model = build_model(config, task.model_dim(splits, extras))
        objective = model.objective(objective_options(config))
        if hasattr(model, "check_length"):  # a model that needs sequences longer than its memory
            model.check_length(min(len(x) for split in splits.values() for x in split))
    except (TypeError, ValueError) as e:
        raise ConfigError(f"config.model / config.bound: {e}") from None
    params = task.init_params(config, model, splits)
    if training and hasattr(task, "fit_params"):
        params = task.fit_params(config, model, params, splits, extras)
    if training and config.get("init_from"):
        params = start_from(config.init_from, params, extras)
    trainer = build_trainer(config, objective, workdir, tensorboard=training)
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
        raise ConfigError(f"{path} not found: is {workdir} a training workdir?")
    return ml_collections.ConfigDict(json.loads(path.read_text()))


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return out


_MODEL_FIELDS = ("task", "model")  # a checkpoint cannot be restored into another model


def train_and_evaluate(config: ml_collections.ConfigDict, workdir, *, stop_at: int | None = None):
    """Train ``config`` in ``workdir`` (resuming from its latest checkpoint), with
    the periodic evaluation of the objective on ``config.eval.split`` keeping the
    best parameters. Returns the final TrainState."""
    workdir = pathlib.Path(workdir)
    previous = workdir / "config.json"
    if previous.is_file():
        old = json.loads(previous.read_text())
        new = json.loads(config.to_json_best_effort())
        changed = [d for d in _differences({k: old.get(k) for k in _MODEL_FIELDS},
                                           {k: new.get(k) for k in _MODEL_FIELDS})]
        if changed:
            raise ConfigError(f"{workdir} holds a run of another model ({'; '.join(changed)}): use a new --workdir")
    run = prepare(config, workdir)
    print(f"model {config.model.name} with {num_params(run.params)} parameters; {run.task.describe(run.splits, run.extras)}"
          f"; devices {jax.devices()}", flush=True)
    state = run.trainer.restore_or_init(run.params)
    if jax.process_index() == 0:
        save_config(config, workdir)
        run.task.save_extras(run.extras, workdir)
        (workdir / "data.json").write_text(json.dumps(run.task.data_record(config, run.splits), indent=1) + "\n")
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

    try:
        return run.trainer.fit(
            state, run.batch_at, config.num_steps, log_every=config.log_every,
            eval_fn=eval_fn if config.eval_every else None, eval_every=config.eval_every,
            best_metric=f"{split}_{run.objective.target}" if config.eval_every and config.get("keep_best", True)
            else None, stop_at=stop_at)
    finally:
        run.trainer.close()


def load_trained(workdir, which: str = "best") -> tuple[Run, Any, str]:
    """(run, parameters, which ones) of a training workdir: the best by validation
    if kept and ``which == 'best'``, else the latest checkpoint."""
    config = load_config(workdir)
    run = prepare(config, workdir, training=False)
    try:
        if which == "best":
            try:
                return run, run.trainer.restore_best(run.params), "best by validation"
            except FileNotFoundError:
                pass
        state = run.trainer.restore(run.trainer.init_state(run.params))
        return run, state.params, f"checkpoint at step {int(state.step)}"
    finally:
        run.trainer.close()


__all__ = ["base_config", "dataset_config", "dialogue_config", "speech_config", "navigation_config", "first_person_config", "prepare", "train_and_evaluate", "load_trained",
           "load_config", "save_config", "build_model", "build_trainer", "validate_config", "Run", "file_record"]
