"""Evaluate a training workdir of any task on one split.

  python experiments/evaluate.py --workdir=runs/vrnn_jsb --split=test --num_particles=16
  python experiments/evaluate.py --workdir=runs/vmed --method=sample --num_samples=10

Sequences: ELBO(1), IWAE(K) and FIVO(K) on the same parameters, per timestep
(total bound over the split / total time steps) and per sequence (a model with
its own ELBO, the KVAE, reports it per frame). Dialogue: the model's loss per
token (and VMED's decoder bounds), then responses scored with BLEU-1/4,
embedding average/greedy/extrema, Distinct-1/2 and Ent-4 (samples in
samples_<split>.txt). Results go to <workdir>/eval_<split>.json.
"""

import json
import pathlib

from absl import flags, logging

from seqvi.train import cli, experiment
from seqvi.core import ConfigError

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir (holds config.json).", required=True)
_SPLIT = flags.DEFINE_string(
    "split", "test", "Split to evaluate: train, valid, test, or a synthetic setting (noiseless, switch, ...)."
)
_PARTICLES = flags.DEFINE_integer("num_particles", 16, "Particles K for IWAE(K) and FIVO(K).", lower_bound=1)
_BOUNDS = flags.DEFINE_list("bounds", ["elbo", "iwae", "fivo"], "Bounds to evaluate (sequences).")
_WHICH = flags.DEFINE_enum("params", "best", ["best", "latest"], "Best-by-validation or latest parameters.")
_BATCH = flags.DEFINE_integer("batch_size", 8, "Sequences per evaluation batch (sequences).", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 1234, "PRNG seed of the estimators (sequences).")
_METHOD = flags.DEFINE_enum("method", "greedy", ["greedy", "sample", "beam", "mmi"],
                            "How responses are decoded (dialogue); mmi: beam_size-best reranked by MMI-bidi.")
_BACKWARD = flags.DEFINE_string("backward", None, "With --method=mmi: workdir of the backward Seq2Seq p(S | T).")
_MMI_WEIGHT = flags.DEFINE_float("mmi_weight", 0.5, "With --method=mmi: lambda, the weight of log p(S | T).")
_LENGTH_BONUS = flags.DEFINE_float("length_bonus", 0.0, "With --method=mmi: gamma, the reward per response word.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 10, "Responses per context with --method=sample.", lower_bound=1)
_TEMPERATURE = flags.DEFINE_float("temperature", 1.0, "Sampling temperature.")
_BEAM = flags.DEFINE_integer("beam_size", 5, "Beam size with --method=beam.", lower_bound=1)
_MAX_PAIRS = flags.DEFINE_integer("max_pairs", 0, "Score only the first N pairs (0: all; dialogue).", lower_bound=0)
_EMBEDDINGS = flags.DEFINE_string("embeddings", None, "GloVe/word2vec text file (default: trained on train).")
_SHOW = flags.DEFINE_integer("show", 5, "Sample responses to print (dialogue).", lower_bound=0)
_BLEU_SMOOTHING = flags.DEFINE_enum("bleu_smoothing", "1", ["0", "1", "2", "3", "4", "5", "7"],
                                    "NLTK's BLEU smoothing method (dialogue; the VMED authors use 7).")
_TAG = flags.DEFINE_string("tag", "", "Name the results eval_<split>_<tag>.json (beside the plain evaluation).")
_OTHER_DATA = flags.DEFINE_bool("other_data", False, "Evaluate even if the data differ from those the run recorded "
                                 "(data.json); the results say so.")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax is chatty at INFO
    run, params, which = experiment.load_trained(_WORKDIR.value, _WHICH.value, other_data=_OTHER_DATA.value)
    if _SPLIT.value not in run.splits:
        raise ConfigError(f"--split must be one of {sorted(run.splits)}, got {_SPLIT.value!r}")
    options = flags.FLAGS
    options_view = type("Options", (), {name: getattr(options, name) for name in (
        "num_particles", "bounds", "batch_size", "seed", "method", "num_samples", "temperature", "beam_size",
        "max_pairs", "embeddings", "show", "mmi_weight", "length_bonus")})
    options_view.bleu_smoothing = int(_BLEU_SMOOTHING.value)
    if _BACKWARD.value:
        backward_run, backward_params, _ = experiment.load_trained(_BACKWARD.value)
        if backward_run.extras.get("vocab") is None or (
                backward_run.extras["vocab"].tokens != run.extras["vocab"].tokens):
            raise ConfigError(f"--backward={_BACKWARD.value}: its vocabulary differs from {_WORKDIR.value}'s "
                              "(train it on the same data and vocab_size, with --config.swap_pairs=True)")
        options_view.backward = (backward_run.model, backward_params)
    result = run.task.report(run, params, _SPLIT.value, options_view)
    out = pathlib.Path(_WORKDIR.value) / f"eval_{_SPLIT.value}{'_' + _TAG.value if _TAG.value else ''}.json"
    out.write_text(json.dumps(dict(result, params=which), indent=2) + "\n")
    print(f"parameters: {which}; written to {out}")


if __name__ == "__main__":
    cli.run(main)
