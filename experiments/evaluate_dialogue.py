"""Evaluate a trained dialogue model: its loss per test token (the NLL; for the
latent-variable models the negative ELBO, an upper bound on it) and exp of it
(perplexity, or a bound on it), then responses to the test contexts scored
against the references.

  python experiments/evaluate_dialogue.py --workdir=runs/seq2seq --num_samples=10 \
      [--embeddings=path/to/glove.txt]

Metrics (``seqvi.metrics``): BLEU-1 and BLEU-4 (smoothed sentence BLEU, averaged
over contexts), A-Glove (embedding average), embedding greedy and extrema,
Distinct-1/2 and Ent-4 over all responses. With --method=sample each context gets
--num_samples responses at --temperature and every score is averaged over them
(the protocol of the VMED paper for stochastic models); greedy and beam give one.
Embeddings: --embeddings (GloVe or word2vec text), else word2vec trained on the
training pairs. For VMED it also reports ELBO, IWAE(K) and FIVO(K) per token of
its decoder as a StepModel (the exact mixture prior; K = --num_particles), the
common measure of VMEDs trained with different objectives. Writes
eval_<split>.json and samples_<split>.txt in the workdir.
"""

import json
import logging as pylogging
import pathlib

import jax
import numpy as np
from absl import app, flags, logging

from seqvi import metrics
from seqvi.data import dialogue
from seqvi.train import dialogue_experiment as dx

_WORKDIR = flags.DEFINE_string("workdir", None, "A dialogue training workdir.", required=True)
_SPLIT = flags.DEFINE_enum("split", "test", ["valid", "test"], "Which split.")
_METHOD = flags.DEFINE_enum("method", "greedy", ["greedy", "sample", "beam"], "How responses are decoded.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 10, "Responses per context with --method=sample.")
_TEMPERATURE = flags.DEFINE_float("temperature", 1.0, "Sampling temperature.")
_BEAM = flags.DEFINE_integer("beam_size", 5, "Beam size with --method=beam.")
_MAX_PAIRS = flags.DEFINE_integer("max_pairs", 0, "Score only the first N pairs (0: all).")
_EMBEDDINGS = flags.DEFINE_string("embeddings", None, "GloVe/word2vec text file (default: trained on train).")
_PARTICLES = flags.DEFINE_integer("num_particles", 16, "K of VMED's IWAE(K) and FIVO(K) per token.")
_SHOW = flags.DEFINE_integer("show", 5, "Sample responses to print.")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    pylogging.getLogger("gensim").setLevel(pylogging.WARNING)  # it logs every epoch at INFO
    workdir = pathlib.Path(_WORKDIR.value)
    config, splits, vocab, model, params = dx.load_trained(workdir)
    pairs = splits[_SPLIT.value][: _MAX_PAIRS.value or None]
    nll = dx.eval_loss(model, params, pairs, vocab, config)
    what = "negative ELBO" if config.model.name in dx.LATENT_MODELS else "NLL"
    print(f"{_SPLIT.value}: {what} per token {nll:.4f}, exp {np.exp(nll):.2f} ({len(pairs)} pairs)", flush=True)
    step_bounds = {}
    if config.model.name == "vmed":
        step_bounds = dx.step_bounds(model, params, pairs, vocab, config, _PARTICLES.value)
        print(f"{_SPLIT.value}: per token ELBO {step_bounds['elbo']:.4f}, IWAE({_PARTICLES.value}) "
              f"{step_bounds['iwae']:.4f}, FIVO({_PARTICLES.value}) {step_bounds['fivo']:.4f}", flush=True)
    num = _NUM_SAMPLES.value if _METHOD.value == "sample" else 1
    generated = dx.responses(model, params, [c for c, _ in pairs], vocab, config, method=_METHOD.value,
                             key=jax.random.key(config.seed + 2), num_samples=num, temperature=_TEMPERATURE.value,
                             beam_size=_BEAM.value)
    references = [[dialogue.tokenize(r)] for _, r in pairs]
    if _EMBEDDINGS.value:
        emb = metrics.load_embeddings(_EMBEDDINGS.value)
    else:
        emb = metrics.train_embeddings([dialogue.tokenize(u) for p in splits["train"] for u in p], seed=config.seed)
    scores = {name: [] for name in ("bleu1", "bleu4", "a_glove", "greedy", "extrema")}
    for refs, hyps in zip(references, generated):
        for hyp in hyps:
            scores["bleu1"].append(metrics.bleu(refs, hyp, 1) if hyp else 0.0)
            scores["bleu4"].append(metrics.bleu(refs, hyp, 4) if hyp else 0.0)
            scores["a_glove"].append(metrics.embedding_average(emb, hyp, refs[0]))
            scores["greedy"].append(metrics.embedding_greedy(emb, hyp, refs[0]))
            scores["extrema"].append(metrics.embedding_extrema(emb, hyp, refs[0]))
    everything = [hyp for hyps in generated for hyp in hyps]
    result = {name: float(np.mean(v)) for name, v in scores.items()}
    result.update(distinct1=metrics.distinct(everything, 1), distinct2=metrics.distinct(everything, 2),
                  ent4=metrics.ngram_entropy(everything, 4), loss_per_token=nll, loss_kind=what,
                  perplexity=float(np.exp(nll)), step_bounds=step_bounds,
                  step_bounds_particles=_PARTICLES.value if step_bounds else None,
                  num_pairs=len(pairs), responses_per_context=num, method=_METHOD.value,
                  embeddings=_EMBEDDINGS.value or "word2vec trained on the training pairs")
    for name in ("bleu1", "bleu4", "a_glove", "greedy", "extrema", "distinct1", "distinct2", "ent4"):
        print(f"{_SPLIT.value} {name}: {result[name]:.4f}")
    (workdir / f"eval_{_SPLIT.value}.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = []
    for (context, reference), hyps in zip(pairs, generated):
        lines += [f"context:   {context}", f"reference: {reference}"] + [f"response:  {' '.join(h)}" for h in hyps] + [""]
    (workdir / f"samples_{_SPLIT.value}.txt").write_text("\n".join(lines))
    print("\n".join(lines[: _SHOW.value * (3 + num)]))


if __name__ == "__main__":
    app.run(main)
