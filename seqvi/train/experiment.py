"""From an ml_collections config to data, model, loss and trainer: the pieces the
binaries in experiments/ and the notebooks share."""

import dataclasses
import json
import pathlib

import jax
import ml_collections
import numpy as np

from seqvi import bounds
from seqvi.data import physics, polyphonic, synthetic
from seqvi.data.batching import BatchSchedule, chop
from seqvi.models.dssm import DMM
from seqvi.models.kvae import KVAE
from seqvi.models.srnn import SRNN
from seqvi.models.storn import VOSP, VRAE
from seqvi.models.vae_rnn import VAERNN
from seqvi.models.vhrnn import VHRNN
from seqvi.models.vrnn import VRNN
from seqvi.train.schedules import make_optimizer
from seqvi.train.trainer import Trainer

MODELS = {"vrnn": VRNN, "srnn": SRNN, "dmm": DMM, "vae_rnn": VAERNN, "vrae": VRAE, "vosp": VOSP, "vhrnn": VHRNN,
          "kvae": KVAE}

POLYPHONIC = {
    "jsb": "",  # empty: the JSB chorales shipped inside seqvi
    "nottingham": "../shared/data/polyphonic/Nottingham.mat",
    "piano_midi": "../shared/data/polyphonic/Piano_midi.mat",
}
DATASETS = tuple(POLYPHONIC) + ("synthetic",) + tuple(f"physics_{e}" for e in physics.ENVIRONMENTS)


def dataset_config(dataset: str, model: dict) -> ml_collections.ConfigDict:
    """The shared training config for ``dataset``: a polyphonic set, 'synthetic'
    or 'physics_<environment>' (box, gravity, polygon, pong, pendulum)."""
    if dataset == "synthetic":
        return synthetic_config(model)
    if dataset.startswith("physics_"):
        return physics_config(dataset[len("physics_"):], model)
    return polyphonic_config(dataset, model)


def polyphonic_config(dataset: str, model: dict) -> ml_collections.ConfigDict:
    """The training config every model shares on polyphonic music, with ``model``
    (a dict with 'name' and the model's constructor arguments). JSB trains on whole
    chorales; Nottingham and Piano-midi on pieces of at most 128 steps (evaluation
    always uses whole sequences)."""
    if dataset not in POLYPHONIC:
        raise ValueError(f"dataset must be one of {sorted(POLYPHONIC)}, got {dataset!r}")
    if model.get("name") not in MODELS:
        raise ValueError(f"model['name'] must be one of {sorted(MODELS)}, got {model.get('name')!r}")
    c = ml_collections.ConfigDict()
    c.dataset = dataset
    c.data_path = POLYPHONIC[dataset]
    c.model = ml_collections.ConfigDict(model)
    c.bound = "fivo"  # elbo | iwae | fivo
    c.num_particles = 4
    c.resampling = "systematic"
    c.ess_threshold = 0.5
    c.free_bits = 0.0  # elbo only
    c.kl_anneal_steps = 0
    c.batch_size = 4
    c.max_train_length = 0 if dataset == "jsb" else 128  # 0: whole sequences
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


def synthetic_config(model: dict) -> ml_collections.ConfigDict:
    """The VHRNN paper's setup on its synthetic suite (``seqvi.data.synthetic``):
    FIVO with 4 particles, batch 4, Gaussian emissions; ``config.synthetic``
    holds the suite's ``SyntheticSpec`` fields."""
    c = polyphonic_config("jsb", dict(model, emission_type="gaussian"))
    c.dataset = "synthetic"
    c.data_path = ""
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
    appended for a KVAE that takes inputs (``with_inputs``); Bernoulli pixels,
    batch 32, whole sequences."""
    c = polyphonic_config("jsb", model)
    c.dataset = f"physics_{environment}"
    c.data_path = ""
    with_inputs = model.get("name") == "kvae" and model.get("input_dim", 0) > 0
    c.physics = ml_collections.ConfigDict(dict(environment=environment, num_train=5000, num_valid=100,
                                               num_test=1000, seed=0, with_inputs=with_inputs))
    c.batch_size = 32
    c.max_train_length = 0
    c.pad_multiple = physics.PhysicsSpec.default(environment).num_steps  # every video has this many frames
    c.eval.batch_size = 50
    return c


def load_physics(options) -> dict[str, list[np.ndarray]]:
    """{'train', 'valid', 'test'}: lists of [T, H * W (+ k)] float32 rows (frames
    flattened; with ``with_inputs``, the pendulum's torques appended). Seeds:
    train ``seed``, test ``seed + 1``, valid ``seed + 2``."""
    spec = physics.PhysicsSpec.default(options.environment)
    out = {}
    for split, offset in (("train", 0), ("test", 1), ("valid", 2)):
        data = physics.generate(spec, int(options[f"num_{split}"]), seed=int(options.seed) + offset)
        rows = data.frames.reshape(data.frames.shape[:2] + (-1,))
        if options.get("with_inputs", False):
            rows = np.concatenate([rows, data.inputs], -1)
        out[split] = list(rows.astype(np.float32))
    return out


def load_splits(config: ml_collections.ConfigDict) -> dict[str, list[np.ndarray]]:
    """The config's data: the synthetic suite (every setting) if ``config.dataset``
    is 'synthetic', physics videos for 'physics_<environment>', else the
    polyphonic splits at ``config.data_path`` (empty: the embedded JSB chorales)."""
    dataset = config.get("dataset") or ""
    if dataset == "synthetic":
        return synthetic.load_synthetic(synthetic.SyntheticSpec(**config.synthetic))
    if dataset.startswith("physics_"):
        return load_physics(config.physics)
    path = config.data_path or polyphonic.embedded_jsb_path()
    return polyphonic.load_polyphonic(path)


def build_model(config: ml_collections.ConfigDict, data_dim: int):
    """The config's model for rows of ``data_dim`` entries (a KVAE takes its sizes
    from the config: its rows hold H * W pixels and k inputs)."""
    if config.model.name not in MODELS:
        raise ValueError(f"config.model.name must be one of {sorted(MODELS)}, got {config.model.name!r}")
    kwargs = {k: v for k, v in config.model.items() if k != "name"}
    if config.model.name == "kvae":
        model = KVAE(**kwargs)
        if model.row_dim != data_dim:
            raise ValueError(f"the data rows have {data_dim} entries but the KVAE expects {model.row_dim}")
        return model
    return MODELS[config.model.name](data_dim=data_dim, **kwargs)


def training_bound(config: ml_collections.ConfigDict):
    """The bound the loss optimises, with its options from the config."""
    if config.bound == "elbo":
        return bounds.get_bound("elbo", free_bits=config.free_bits)
    options = {"num_particles": config.num_particles}
    if config.bound == "fivo":
        options.update(resampling=config.resampling, ess_threshold=config.ess_threshold)
    return bounds.get_bound(config.bound, **options)


def training_loss(config: ml_collections.ConfigDict, model):
    """``loss(params, batch, key, ...)``: the bound's for a StepModel or SequenceModel,
    the model's own (``config.bound = 'own'``, for the KVAE)."""
    if config.bound == "own":
        return model.loss
    return bounds.batch_loss(training_bound(config), model)


def build_trainer(config: ml_collections.ConfigDict, model, workdir, loss=None) -> Trainer:
    """The config's trainer; ``loss`` (default ``training_loss(config, model)``)."""
    optimizer = make_optimizer(
        config.learning_rate,
        config.num_steps,
        clip_norm=config.clip_norm,
        warmup_steps=config.warmup_steps,
        decay=config.lr_decay,
        frozen=tuple(config.get("frozen", ())),
        frozen_steps=config.get("frozen_steps", 0),
        weight_decay=config.get("weight_decay", 0.0),
    )
    return Trainer(
        training_loss(config, model) if loss is None else loss,
        optimizer,
        workdir,
        seed=config.seed,
        kl_anneal_steps=config.kl_anneal_steps,
        checkpoint_every=config.checkpoint_every,
    )


def train_schedule(config: ml_collections.ConfigDict, train: list[np.ndarray]) -> BatchSchedule:
    """Training batches; ``config.pad_multiple`` (if set) pads to its multiples
    instead of the length ladder (for data of one fixed length)."""
    seqs = chop(train, config.max_train_length) if config.max_train_length else train
    return BatchSchedule(seqs, config.batch_size, seed=config.seed, pad_multiple=config.get("pad_multiple"))


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



def load_trained(workdir, which: str = "best"):
    """Everything a binary needs from a training workdir: (config, splits, model,
    params, a description of which parameters). ``which``: 'best' or 'latest'."""
    config = load_config(workdir)
    splits = load_splits(config)
    model = build_model(config, splits["train"][0].shape[1])
    params, description = load_params(config, model, splits, workdir, which)
    return config, splits, model, params, description
