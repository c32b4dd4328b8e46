"""Random hyperparameter search, selected on the validation figure, then the best
configuration trained longer and evaluated on the test split: STORN's protocol
(Bayer & Osendorfer, section 4: a random search of 64 samples per data set),
with the number of samples and steps scaled to the machine.

  python experiments/random_search.py --config=experiments/configs/vosp.py:jsb \\
      --workdir=runs/storn_search/vosp-jsb --num_samples=8 --search_steps=500 \\
      --final_steps=3000 [--data_path=...] [--set=model.prior_type=wiener]

Each sample draws latent_dim, rnn_dim and hidden_dim from {8, 16, 32, 64},
{32, 64, 128}, {32, 64, 128} and the learning rate log-uniformly from [3e-4, 3e-3]
(seeded by --seed), trains --search_steps steps in <workdir>/sample_<i> and is
scored by its best validation figure (best.json); the winner is retrained for
--final_steps in <workdir>/final and evaluated with experiments/evaluate.py.
<workdir>/search.json lists every sample and the choice. Finished samples are
skipped, so the search can be rerun after a stop.
"""

import json
import pathlib
import subprocess
import sys

import numpy as np
from absl import flags

from seqvi.train import cli

_CONFIG = flags.DEFINE_string("config", None, "Config file[:argument], as for train.py.", required=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory of the search.", required=True)
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 8, "Configurations drawn.", lower_bound=1)
_SEARCH_STEPS = flags.DEFINE_integer("search_steps", 500, "Training steps of each sample.", lower_bound=1)
_FINAL_STEPS = flags.DEFINE_integer("final_steps", 3000, "Training steps of the chosen configuration.", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the draws.")
_NUM_PARTICLES = flags.DEFINE_integer("num_particles", 16, "K of the test evaluation.", lower_bound=1)
_SET = flags.DEFINE_multi_string("set", [], "Extra config overrides FIELD=VALUE for every run.")
_DATA_PATH = flags.DEFINE_string("data_path", "", "The data file (config.data_path), if not embedded.")

SPACE = {"model.latent_dim": (8, 16, 32, 64), "model.rnn_dim": (32, 64, 128), "model.hidden_dim": (32, 64, 128)}


def draw(rng: np.random.Generator) -> dict:
    """One configuration of the search space."""
    sample = {name: int(rng.choice(values)) for name, values in SPACE.items()}
    sample["learning_rate"] = float(np.exp(rng.uniform(np.log(3e-4), np.log(3e-3))))
    return sample


def train(workdir: pathlib.Path, overrides: dict, steps: int) -> float:
    """Train one run (skipped when finished) and return its best validation figure."""
    if not (workdir / "trained").exists():
        flags_ = [f"--config={_CONFIG.value}", f"--workdir={workdir}", f"--config.num_steps={steps}",
                  f"--config.eval_every={max(steps // 4, 1)}"]
        flags_ += [f"--config.{k}={v}" for k, v in overrides.items()]
        flags_ += [f"--config.{s}" for s in _SET.value]
        if _DATA_PATH.value:
            flags_.append(f"--config.data_path={_DATA_PATH.value}")
        subprocess.run([sys.executable, "experiments/train.py", *flags_], check=True)
        (workdir / "trained").write_text(f"{steps}\n")
    return json.loads((workdir / "best.json").read_text())["value"]


def main(argv):
    del argv
    root = pathlib.Path(_WORKDIR.value)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(_SEED.value)
    samples = [draw(rng) for _ in range(_NUM_SAMPLES.value)]
    scores = []
    for i, sample in enumerate(samples):
        scores.append(train(root / f"sample_{i}", sample, _SEARCH_STEPS.value))
        print(f"sample {i}: {sample} -> best validation {scores[-1]:.4f}", flush=True)
    best = int(np.argmax(scores))
    print(f"chosen: sample {best} {samples[best]}; training it for {_FINAL_STEPS.value} steps", flush=True)
    final = root / "final"
    valid = train(final, samples[best], _FINAL_STEPS.value)
    subprocess.run([sys.executable, "experiments/evaluate.py", f"--workdir={final}", "--split=test",
                    f"--num_particles={_NUM_PARTICLES.value}"], check=True)
    (root / "search.json").write_text(json.dumps(
        {"samples": [dict(s, best_validation=v) for s, v in zip(samples, scores)], "chosen": best,
         "search_steps": _SEARCH_STEPS.value, "final_steps": _FINAL_STEPS.value, "final_validation": valid,
         "overrides": _SET.value}, indent=1) + "\n")
    print(f"wrote {root / 'search.json'}")


if __name__ == "__main__":
    cli.run(main)
