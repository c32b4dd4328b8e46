"""Evaluate ELBO, IWAE(K) and FIVO(K) on the same checkpoint.

  python experiments/evaluate.py --workdir=runs/vrnn_jsb --split=test --num_particles=16

Prints per-timestep figures (total bound over the split / total time steps) and
per-sequence means, and writes them to <workdir>/eval_<split>.json. A model with
its own ELBO (the KVAE) gets its ELBO per frame and per sequence.
"""

import json
import pathlib

import jax
from absl import app, flags, logging

from seqvi.models.base import StepModel
from seqvi.train import experiment
from seqvi.train.evaluation import evaluate_bound, evaluate_elbo_per_frame

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir (holds config.json).", required=True)
_SPLIT = flags.DEFINE_string(
    "split", "test", "Split to evaluate: train, valid, test, or a synthetic setting (noiseless, switch, ...)."
)
_PARTICLES = flags.DEFINE_integer("num_particles", 16, "Particles K for IWAE(K) and FIVO(K).")
_BOUNDS = flags.DEFINE_list("bounds", ["elbo", "iwae", "fivo"], "Bounds to evaluate.")
_WHICH = flags.DEFINE_enum("params", "best", ["best", "latest"], "Best-by-validation or latest parameters.")
_BATCH = flags.DEFINE_integer("batch_size", 8, "Sequences per evaluation batch.")
_SEED = flags.DEFINE_integer("seed", 1234, "PRNG seed of the estimators.")


def own_elbo_rows(model, params, sequences, key) -> list[dict]:
    """A model with its own ELBO (the KVAE): the ELBO per frame and per sequence."""
    r = evaluate_elbo_per_frame(model, params, sequences, key, batch_size=_BATCH.value)
    print(f"{_SPLIT.value} ELBO(1) per frame {r['elbo_per_frame']:.4f} nats | per sequence "
          f"{r['per_sequence']:.2f} | {r['num_sequences']} sequences, {r['num_frames']} frames")
    return [dict(r, bound="elbo", num_particles=1)]


def bound_rows(config, model, params, sequences, key) -> list[dict]:
    """ELBO(1), IWAE(K), FIVO(K) (as --bounds asks, where they apply), per time step."""
    rows = []
    for name in _BOUNDS.value:
        if name == "fivo" and not isinstance(model, StepModel):
            print(f"{config.model.name}: FIVO does not apply (x_t depends on the whole latent sequence); skipped")
            continue
        k = 1 if name == "elbo" else _PARTICLES.value
        options = {"resampling": config.resampling, "ess_threshold": config.ess_threshold} if name == "fivo" else {}
        r = evaluate_bound(model, params, sequences, key, bound=name, num_particles=k, batch_size=_BATCH.value,
                           **options)
        rows.append(r)
        print(
            f"{_SPLIT.value} {name.upper()}({k}) per timestep {r['per_step']:.4f} nats "
            f"(mean of per-sequence ratios {r['per_step_sequence_mean']:.4f}) | "
            f"per sequence {r['per_sequence']:.2f} | {r['num_sequences']} sequences, {r['num_steps']} steps"
        )
    return rows


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax is chatty at INFO
    config, splits, model, params, which = experiment.load_trained(_WORKDIR.value, _WHICH.value)
    if _SPLIT.value not in splits:
        raise app.UsageError(f"--split must be one of {sorted(splits)}, got {_SPLIT.value!r}")
    sequences, key = splits[_SPLIT.value], jax.random.key(_SEED.value)
    if config.bound == "own":
        rows = own_elbo_rows(model, params, sequences, key)
    else:
        rows = bound_rows(config, model, params, sequences, key)
    out = pathlib.Path(_WORKDIR.value) / f"eval_{_SPLIT.value}.json"
    out.write_text(json.dumps({"params": which, "results": rows}, indent=2))
    print(f"parameters: {which}; written to {out}")


if __name__ == "__main__":
    app.run(main)
