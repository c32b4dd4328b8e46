"""From an ml_collections config to dialogue data, vocabulary, model and trainer:
what experiments/train_dialogue.py and evaluate_dialogue.py share.

Data (``config.dataset``): 'chatterbot', the embedded chatterbot-corpus English
conversations re-split 0.8/0.1/0.1 by conversation (seed ``config.split_seed``),
or 'cornell', the ParlAI Cornell pairs at ``config.data_path`` re-split the same
way (``seqvi.data.dialogue.cornell_resplit``). The vocabulary is built from the
training pairs and saved in the workdir (vocab.txt).

Objective (``config.bound``): 'own', each model's loss (the paper's), or for VMED
'elbo', 'iwae' or 'fivo' over its decoder as a StepModel (``VMEDSteps``, whose
prior is the exact mixture density rather than D_var) with
``config.num_particles`` particles.
"""

import functools
import pathlib

import jax
import ml_collections
import numpy as np

from seqvi import bounds
from seqvi.data import dialogue
from seqvi.models import decoding
from seqvi.models.cvae import CVAE, VLSTM
from seqvi.models.seq2seq import Seq2Seq
from seqvi.models.vmed import VMED, DNCSeq2Seq, VMEDSteps, step_inputs
from seqvi.train import experiment
from seqvi.train.trainer import Trainer

DIALOGUE_MODELS = {"seq2seq": Seq2Seq, "dnc": DNCSeq2Seq, "vmed": VMED, "cvae": CVAE, "vlstm": VLSTM}
LATENT_MODELS = ("vmed", "cvae", "vlstm")  # their loss is a negative ELBO, not the NLL
DIALOGUE_DATA = {"chatterbot": "", "cornell": "../shared/data/cornell_parlai_partial"}


def dialogue_config(dataset: str, model: dict) -> ml_collections.ConfigDict:
    """The training config every dialogue model shares, with ``model`` (a dict with
    'name' and the model's constructor arguments other than vocab_size)."""
    if dataset not in DIALOGUE_DATA:
        raise ValueError(f"dataset must be one of {sorted(DIALOGUE_DATA)}, got {dataset!r}")
    if model.get("name") not in DIALOGUE_MODELS:
        raise ValueError(f"model['name'] must be one of {sorted(DIALOGUE_MODELS)}, got {model.get('name')!r}")
    c = ml_collections.ConfigDict()
    c.dataset = dataset
    c.data_path = DIALOGUE_DATA[dataset]
    c.split_seed = 0
    c.vocab_size = 2000 if dataset == "chatterbot" else 8000  # Cornell: 8000 words cover 97% of tokens
    c.max_context = 20
    c.max_response = 20
    c.model = ml_collections.ConfigDict(model)
    c.bound = "own"  # the model's loss; for VMED also 'elbo', 'iwae' or 'fivo' over VMEDSteps
    c.num_particles = 4
    c.resampling = "systematic"
    c.ess_threshold = 0.5
    c.free_bits = 0.0
    c.batch_size = 32
    c.learning_rate = 1e-3
    c.lr_decay = "constant"
    c.warmup_steps = 0
    c.clip_norm = 5.0
    c.kl_anneal_steps = 0
    c.num_steps = 2000 if dataset == "chatterbot" else 3000  # Cornell: 4.4 epochs of the 22032 training pairs
    c.seed = 0
    c.log_every = 100
    c.checkpoint_every = 1000
    c.eval_every = 500
    c.eval = ml_collections.ConfigDict(dict(split="valid", batch_size=64))
    return c


def load_dialogue(config) -> dict[str, list[tuple[str, str]]]:
    """{'train', 'valid', 'test'}: (context, response) pairs of the config's data."""
    if config.dataset == "chatterbot":
        splits = dialogue.resplit(dialogue.chatterbot(), seed=config.split_seed)
    else:
        splits = dialogue.cornell_resplit(config.data_path, seed=config.split_seed)
    return {split: dialogue.pairs(conversations) for split, conversations in splits.items()}


def build_vocab(config, train_pairs) -> dialogue.Vocabulary:
    return dialogue.Vocabulary.build((dialogue.tokenize(u) for p in train_pairs for u in p), config.vocab_size)


def build_model(config, vocab: dialogue.Vocabulary):
    kwargs = {k: v for k, v in config.model.items() if k != "name"}
    return DIALOGUE_MODELS[config.model.name](vocab_size=len(vocab), **kwargs)


def training_loss(config, model):
    """``loss(params, batch, key, kl_weight=...)`` on dialogue batches: the model's
    own, or a bound of ``VMEDSteps(model)`` per response token (ratio of sums)."""
    if config.bound == "own":
        return model.loss
    if not isinstance(model, VMED):
        raise ValueError(f"bound {config.bound!r} needs the VMED model (its decoder is a StepModel); "
                         f"{type(model).__name__} trains with bound='own'")
    loss = bounds.batch_loss(experiment.training_bound(config), VMEDSteps(model))
    return lambda params, batch, key, **kwargs: loss(params, step_inputs(batch, model.vocab_size), key, **kwargs)


def build_trainer(config, model, workdir) -> Trainer:
    return experiment.build_trainer(config, model, workdir, loss=training_loss(config, model))


def step_bounds(model: VMED, params, pairs, vocab, config, num_particles: int) -> dict[str, float]:
    """{'elbo', 'iwae', 'fivo'}: the bounds of ``VMEDSteps(model)`` per response
    token over ``pairs`` (ratio of sums; the exact mixture prior; IWAE and FIVO
    with ``num_particles``, FIVO resampling systematically at ESS < N/2)."""
    steps = VMEDSteps(model)
    fns = {"elbo": bounds.get_bound("elbo"), "iwae": bounds.get_bound("iwae", num_particles=num_particles),
           "fivo": bounds.get_bound("fivo", num_particles=num_particles)}
    batch = dialogue.encode_pairs(pairs, vocab, config.max_context, config.max_response)
    size = config.eval.batch_size
    totals = {name: 0.0 for name in fns}
    for start in range(0, len(pairs), size):
        part = {k: np.asarray(v)[start:start + size] for k, v in batch._asdict().items()}
        inputs, key = step_inputs(part, model.vocab_size), jax.random.key(start)
        for name, fn in fns.items():
            totals[name] += float(_bound_sum(fn, steps, params, inputs, key))
    tokens = int(np.asarray(batch.response_length).sum())
    return {name: total / tokens for name, total in totals.items()}


@functools.partial(jax.jit, static_argnums=(0, 1))
def _bound_sum(bound_fn, steps, params, batch, key) -> jax.Array:
    return bounds.batch_bounds(bound_fn, steps, params, batch, key).bound.sum()


def eval_loss(model, params, pairs, vocab, config) -> float:
    """The model's loss per response token over ``pairs`` (ratio of sums, KL weight
    1): the negative log-likelihood for Seq2Seq and the DNC encoder-decoder, the
    negative ELBO (an upper bound on it, one latent sample) for ``LATENT_MODELS``."""
    batch = dialogue.encode_pairs(pairs, vocab, config.max_context, config.max_response)
    size = config.eval.batch_size
    loss = jax.jit(lambda p, b: model.loss(p, b, jax.random.key(0))[0] * b["response_length"].sum())
    total, tokens = 0.0, 0
    for start in range(0, len(pairs), size):
        rows = np.take(np.arange(len(pairs)), np.arange(start, start + size), mode="clip")
        part = {k: v[rows] for k, v in batch._asdict().items()}
        real = np.arange(start, start + size) < len(pairs)  # the clipped tail repeats the last pair: drop it
        part["response_length"] = np.where(real, part["response_length"], 0)
        total += float(loss(params, part))
        tokens += int(part["response_length"].sum())
    return total / tokens


def responses(model, params, contexts, vocab, config, *, method: str = "greedy", key=None, num_samples: int = 1,
              temperature: float = 1.0, beam_size: int = 5) -> list[list[list[str]]]:
    """For each context, ``num_samples`` responses (token lists): 'greedy', 'sample'
    (with ``temperature``) or 'beam' (the best of ``beam_size``)."""
    ids = dialogue.encode_pairs([(c, ".") for c in contexts], vocab, config.max_context, 1)
    length = config.max_response + 1

    def decode(context, context_length, k):
        encoded = model.encode(params, context, context_length)

        def step(carry, token):
            return model.decode_step(params, carry, token, encoded)

        k_latent, k_words = jax.random.split(k)  # latent draws (VMED), word draws
        if method == "greedy":
            return decoding.greedy(step, model.start(params, encoded, k_latent), length)[None]
        if method == "beam":
            return decoding.beam_search(step, model.start(params, encoded, k_latent), beam_size, length)[0][:1]
        keys = jax.random.split(k_words, num_samples)
        latent = jax.random.split(k_latent, num_samples)
        return jax.vmap(lambda kl, kw: decoding.sample(step, model.start(params, encoded, kl), kw, length,
                                                       temperature))(latent, keys)

    if method not in ("greedy", "sample", "beam"):
        raise ValueError(f"method must be 'greedy', 'sample' or 'beam', got {method!r}")
    key = jax.random.key(0) if key is None else key
    out = jax.jit(jax.vmap(decode))(ids.context, ids.context_length, jax.random.split(key, len(contexts)))
    return [[vocab.decode(row) for row in np.asarray(per_context)] for per_context in out]


def load_trained(workdir):
    """(config, splits, vocab, model, params) of a dialogue training workdir (the
    best parameters by validation NLL)."""
    config = experiment.load_config(workdir)
    splits = load_dialogue(config)
    vocab = dialogue.Vocabulary.load(pathlib.Path(workdir) / "vocab.txt")
    model = build_model(config, vocab)
    trainer = build_trainer(config, model, workdir)
    try:
        params = trainer.restore_best(model.init(jax.random.key(config.seed)))
    finally:
        trainer.close()
    return config, splits, vocab, model, params
