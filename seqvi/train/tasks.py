"""Tasks: what a kind of data supplies to the one experiment pipeline
(``seqvi.train.experiment``): its splits, the size the model is built for,
training and evaluation batches, and what the evaluation binary reports.

* ``SequenceTask``: [T, D] float arrays, batched as {'xs', 'lengths'}.
* ``DialogueTask``: (context, response) pairs, batched as padded token ids.

The data come from the registered data set ``config.dataset``
(``seqvi.datasets``). A task never looks at the kind of model: the model's objective
(``model.objective(options)``) says how it trains and what it reports.
"""

import logging as pylogging
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from seqvi import datasets, generation, metrics
from seqvi.core import ConfigError, FitsToData
from seqvi.data import dialogue, polyphonic
from seqvi.data.batching import BatchSchedule, chop, eval_batches
from seqvi.train.evaluation import evaluate

LONGEST_WHOLE_SEQUENCE = 1024  # longer training sequences need --config.max_train_length


class _RegisteredData:
    """What every task reads from the config's registered data set (``seqvi.datasets``)."""

    def load_splits(self, config) -> dict[str, list]:
        """The data set's splits: [T, D] sequences or (context, response) pairs."""
        return datasets.of_config(config).load_splits(config)

    def data_record(self, config, splits) -> dict:
        """What the run records about its data (data.json)."""
        return datasets.of_config(config).record(config, splits)


# ---- sequences --------------------------------------------------------------------------------
class SequenceTask(_RegisteredData):
    """[T, D] float32 sequences of a registered data set of task 'sequences'."""

    name = "sequences"

    def load_splits(self, config) -> dict[str, list]:
        """The data set's [T, D] sequences; ConfigError naming the data and the
        sequence if one has no steps (a batch of such would have nothing to score)."""
        splits = super().load_splits(config)
        for split, sequences in splits.items():
            for i, sequence in enumerate(sequences):
                if len(sequence) == 0:
                    where = config.get("data_path") or "its generated or embedded data"
                    raise ConfigError(f"dataset {config.dataset!r} ({where}): sequence {i} of the {split} split "
                                      "has no steps; remove it")
        return splits

    def extras(self, config, splits, workdir=None) -> dict:
        """What the run needs beside the model and data (nothing for sequences)."""
        return {}

    def save_extras(self, extras: dict, workdir) -> None:
        """Nothing to save for sequences."""

    def model_dim(self, splits, extras: dict) -> int:
        return int(splits["train"][0].shape[1])

    def describe(self, splits, extras: dict) -> str:
        return "sequences " + ", ".join(f"{s} {len(v)}" for s, v in splits.items())

    def init_params(self, config, model, splits):
        return model.init(jax.random.key(config.seed), polyphonic.training_mean(splits["train"]))

    def fit_params(self, config, model, params, splits, extras: dict):
        """``params`` unchanged: no sequence model has constants fitted to data."""
        return params

    def train_batches(self, config, splits, extras: dict) -> Callable[[int], dict]:
        """``batch_at(step)``: training pieces of at most ``max_train_length`` steps
        (0: whole sequences, refused above ``LONGEST_WHOLE_SEQUENCE`` steps)."""
        train = splits["train"]
        if config.max_train_length:
            train = chop(train, config.max_train_length)
        else:
            longest = max(s.shape[0] for s in train)
            if longest > LONGEST_WHOLE_SEQUENCE:
                raise ConfigError(
                    f"the longest training sequence has {longest} steps: train on pieces with "
                    f"--config.max_train_length=128 (evaluation still scores whole sequences)")
        return BatchSchedule(train, config.batch_size, seed=config.seed, pad_multiple=config.get("pad_multiple")).batch

    def eval_batches(self, config, split_data, batch_size: int, extras: dict) -> Iterator[dict]:
        return eval_batches(split_data, batch_size)

    def report(self, run, params, split: str, options) -> dict:
        """ELBO(1), IWAE(K), FIVO(K) or the model's own figures on ``split``, printed."""
        rows = []
        objectives = run.objective.evaluation_objectives(options.num_particles)
        offered = {o.eval_name for o in objectives}
        for name in options.bounds:
            if name not in offered and None not in offered:
                print(f"{run.config.model.name}: {name.upper()} does not apply to this model "
                      f"(it offers {', '.join(sorted(offered))}); skipped", flush=True)
        for objective in objectives:
            if objective.eval_name not in (None, *options.bounds):
                continue
            batches = self.eval_batches(run.config, run.splits[split], options.batch_size, run.extras)
            result = evaluate(objective, params, batches, jax.random.key(options.seed))
            rows.append(_row(objective, result))
            print(f"{split} {_describe(objective.label, result)}", flush=True)
        return {"results": rows}


def _row(objective, result: dict) -> dict:
    """eval_<split>.json's row: bound, num_particles, per_step, per_step_sequence_mean,
    per_sequence, total, num_steps, num_sequences (or the per-frame ELBO's fields)."""
    name = next((k[: -len("_per_step")] for k in result if k.endswith("_per_step")), None)
    if name is None:
        return dict(result, bound="elbo", num_particles=1, label=objective.label,
                    per_sequence=result.get("elbo_per_sequence"))
    return {"bound": objective.eval_name, "num_particles": objective.eval_num_particles, "label": objective.label,
            "per_step": result[f"{name}_per_step"], "per_step_sequence_mean": result[f"{name}_per_step_sequence_mean"],
            "per_sequence": result[f"{name}_per_sequence"],
            "total": result[f"{name}_per_sequence"] * result["num_sequences"],
            "num_steps": int(result["num_steps"]), "num_sequences": int(result["num_sequences"])}


def _describe(label: str, result: dict) -> str:
    per_step = [k for k in result if k.endswith("_per_step")]
    if per_step:
        name = per_step[0][: -len("_per_step")]
        return (f"{label} per timestep {result[f'{name}_per_step']:.4f} nats (mean of per-sequence ratios "
                f"{result[f'{name}_per_step_sequence_mean']:.4f}) | per sequence {result[f'{name}_per_sequence']:.2f}"
                f" | {int(result['num_sequences'])} sequences, {int(result['num_steps'])} steps")
    if "elbo_per_frame" in result:
        return (f"{label} per frame {result['elbo_per_frame']:.4f} nats | per sequence "
                f"{result['elbo_per_sequence']:.2f} | {int(result['num_sequences'])} sequences, "
                f"{int(result['num_frames'])} frames")
    return f"{label}: " + ", ".join(f"{k} {v:.4f}" for k, v in result.items() if isinstance(v, float))


# ---- dialogue ---------------------------------------------------------------------------------
class DialogueTask(_RegisteredData):
    """(context, response) pairs of a registered data set of task 'dialogue'.
    The vocabulary of the training pairs is saved in the workdir (vocab.txt)."""

    name = "dialogue"

    def extras(self, config, splits, workdir=None) -> dict:
        """{'vocab'}: the workdir's vocab.txt when it has one (a resumed or
        evaluated run), else the ``vocab_size`` commonest training tokens."""
        if workdir is not None and (pathlib.Path(workdir) / "vocab.txt").exists():
            return {"vocab": dialogue.Vocabulary.load(pathlib.Path(workdir) / "vocab.txt")}
        tokens = (dialogue.tokenize(u) for p in splits["train"] for u in p)
        return {"vocab": dialogue.Vocabulary.build(tokens, config.vocab_size)}

    def save_extras(self, extras: dict, workdir) -> None:
        """Writes vocab.txt (kept when the run resumes)."""
        path = pathlib.Path(workdir) / "vocab.txt"
        if not path.exists():
            extras["vocab"].save(path)

    def model_dim(self, splits, extras: dict) -> int:
        return len(extras["vocab"])

    def describe(self, splits, extras: dict) -> str:
        return f"vocabulary {len(extras['vocab'])}; pairs " + ", ".join(f"{s} {len(p)}" for s, p in splits.items())

    def init_params(self, config, model, splits):
        return model.init(jax.random.key(config.seed))

    def fit_params(self, config, model, params, splits, extras: dict):
        """``params`` with the embedding rows of ``config.init_word_vectors`` (a
        GloVe/word2vec file) where it has the word, and a model's data-fitted constants (``model.fit_to_data``:
        LocalGAN's word vectors, standardisation and DBM) set from the training
        pairs; word vectors from ``config.embeddings`` (a GloVe/word2vec text file)
        or word2vec trained on the training pairs. Other models: unchanged."""
        vocab = extras["vocab"]
        if config.get("init_word_vectors"):
            params = initial_word_vectors(params, config.init_word_vectors, vocab)
        if not isinstance(model, FitsToData):
            return params
        if config.get("embeddings"):
            try:
                emb = metrics.load_embeddings(config.embeddings, vocab.tokens)
            except (OSError, ValueError) as e:
                raise ConfigError(f"--config.embeddings: {e}") from None
        else:
            pylogging.getLogger("gensim").setLevel(pylogging.WARNING)
            emb = metrics.train_embeddings([dialogue.tokenize(u) for p in splits["train"] for u in p],
                                           dim=model.word_dim, seed=config.seed)
        encoded = dialogue.encode_pairs(splits["train"], vocab, config.max_context, config.max_response)
        print(f"fitting {type(model).__name__}'s constants on {len(splits['train'])} training pairs", flush=True)
        try:
            return model.fit_to_data(params, jax.random.key(config.seed + 3), emb.table(vocab.tokens),
                                     {k: jnp.asarray(v) for k, v in encoded._asdict().items()})
        except ValueError as e:
            raise ConfigError(f"config.model: {e}") from None

    def generation_scores(self, config, params, model, pairs, extras: dict) -> dict[str, float]:
        """Distinct-1/2 and Ent-4 of greedy responses to the contexts of ``pairs``
        (the diversity curve of an adversarial run, LocalGAN Figure 2)."""
        generated = generation.responses(model, params, [c for c, _ in pairs], extras["vocab"], config)
        everything = [hyps[0] for hyps in generated]
        return {"distinct1": metrics.distinct(everything, 1), "distinct2": metrics.distinct(everything, 2),
                "ent4": metrics.ngram_entropy(everything, 4)}

    def train_batches(self, config, splits, extras: dict) -> Callable[[int], dict]:
        return dialogue.DialogueSchedule(splits["train"], extras["vocab"], config.batch_size, config.max_context,
                                         config.max_response, seed=config.seed,
                                         length_multiple=config.get("length_bucket", 0)).batch

    def eval_batches(self, config, pairs, batch_size: int, extras: dict) -> Iterator[dict]:
        """Fixed-size batches in order; the last one repeats its final pair with
        response_length 0 (scored as nothing)."""
        batch = dialogue.encode_pairs(pairs, extras["vocab"], config.max_context, config.max_response)
        for start in range(0, len(pairs), batch_size):
            rows = np.take(np.arange(len(pairs)), np.arange(start, start + batch_size), mode="clip")
            part = {k: v[rows] for k, v in batch._asdict().items()}
            real = np.arange(start, start + batch_size) < len(pairs)
            part["response_length"] = np.where(real, part["response_length"], 0)
            yield part

    def report(self, run, params, split: str, options) -> dict:
        """The model's figures per token (loss, and VMED's bounds), then responses to
        the split's contexts scored against the references (BLEU-1/4, embedding
        average/greedy/extrema, Distinct-1/2, Ent-4); writes samples_<split>.txt."""
        pylogging.getLogger("gensim").setLevel(pylogging.WARNING)
        config, vocab = run.config, run.extras["vocab"]
        pairs = run.splits[split][: options.max_pairs or None]
        result: dict[str, Any] = {"num_pairs": len(pairs)}
        for objective in run.objective.evaluation_objectives(options.num_particles):
            batches = self.eval_batches(config, pairs, config.eval.batch_size, run.extras)
            r = evaluate(objective, params, batches, jax.random.key(config.seed), same_key_every_batch=True)
            label = objective.label
            if "loss_per_token" in r:
                result.update(loss_per_token=r["loss_per_token"], loss_kind=label,
                              perplexity=r["exp_loss_per_token"])
                print(f"{split}: {label} per token {r['loss_per_token']:.4f}, exp {r['exp_loss_per_token']:.2f} "
                      f"({len(pairs)} pairs)", flush=True)
            else:
                per_token = [v for k, v in r.items() if k.endswith("_per_step")][0]
                result.setdefault("step_bounds", {})[objective.eval_name] = per_token
                result["step_bounds_particles"] = options.num_particles
                labels = result.setdefault("step_bound_labels", [])
                labels.append(f"{label} {per_token:.4f}")
        if result.get("step_bounds"):
            print(f"{split}: per token " + ", ".join(result.pop("step_bound_labels")), flush=True)
        num = options.num_samples if options.method == "sample" else 1
        contexts = [c for c, _ in pairs]
        if options.method == "mmi":
            backward = getattr(options, "backward", None)
            if not backward:
                raise ConfigError("--method=mmi needs --backward=WORKDIR (a Seq2Seq trained with swap_pairs)")
            generated = generation.mmi_responses(run.model, params, *backward, contexts, vocab, config,
                                      beam_size=options.beam_size, weight=options.mmi_weight,
                                      length_bonus=options.length_bonus)
        else:
            generated = generation.responses(run.model, params, contexts, vocab, config, method=options.method,
                                  key=jax.random.key(config.seed + 2), num_samples=num,
                                  temperature=options.temperature, beam_size=options.beam_size)
        result.update(metrics.text_scores(pairs, generated, run.splits["train"], options.embeddings, config.seed,
                                  options.bleu_smoothing))
        result.update(responses_per_context=num, method=options.method,
                      embeddings=options.embeddings or "word2vec trained on the training pairs")
        for name in ("bleu1", "bleu4", "a_glove", "greedy", "extrema", "rel", "distinct1", "distinct2", "ent4"):
            print(f"{split} {name}: {result[name]:.4f}")
        lines = []
        for (context, reference), hyps in zip(pairs, generated):
            lines += [f"context:   {context}", f"reference: {reference}"]
            lines += [f"response:  {' '.join(h)}" for h in hyps] + [""]
        suffix = "_mmi" if options.method == "mmi" else ""
        (pathlib.Path(run.workdir) / f"samples_{split}{suffix}.txt").write_text("\n".join(lines))
        print("\n".join(lines[: options.show * (3 + num)]))
        return result


def initial_word_vectors(params: dict, path, vocab: dialogue.Vocabulary) -> dict:
    """``params`` with the rows of its embedding table ('embed') set from the word
    vectors in ``path`` for the vocabulary's words that have one (the others keep
    their random initialisation). ConfigError for a model without 'embed' or a
    file whose width is not the embedding's."""
    if "embed" not in params:
        raise ConfigError("config.init_word_vectors: this model has no embedding table ('embed')")
    try:
        emb = metrics.load_embeddings(path, vocab.tokens)
    except (OSError, ValueError) as e:
        raise ConfigError(f"config.init_word_vectors: {e}") from None
    table = params["embed"]["params"]["embedding"]
    if emb.vectors.shape[1] != table.shape[1]:
        raise ConfigError(f"config.init_word_vectors: {path} has {emb.vectors.shape[1]}-d vectors but the model's "
                          f"embeddings have {table.shape[1]} (set model.embed_dim)")
    rows = [i for i, t in enumerate(vocab.tokens) if t in emb.index]
    table = table.at[jnp.asarray(rows, jnp.int32)].set(emb.table(vocab.tokens)[rows]) if rows else table
    print(f"embeddings: {len(rows)} of {len(vocab)} words from {path}", flush=True)
    return dict(params, embed={"params": dict(params["embed"]["params"], embedding=table)})


TASKS = {"sequences": SequenceTask(), "dialogue": DialogueTask()}


def get_task(name: str):
    if name not in TASKS:
        raise ConfigError(f"task must be one of {sorted(TASKS)}, got {name!r}")
    return TASKS[name]
