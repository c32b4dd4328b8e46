"""Sample piano rolls from a trained model: free samples and continuations of
test sequences, as a PNG figure and MIDI files.

  python experiments/sample.py --workdir=runs/vrnn_jsb --num_samples=3 --num_steps=64
"""

import pathlib

import jax
import numpy as np
from absl import flags, logging

from seqvi import plot, smc
from seqvi.core import StepModel
from seqvi.train import cli, experiment

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir.", required=True)
_NUM = flags.DEFINE_integer("num_samples", 2, "Free samples (and continuations).", lower_bound=1)
_STEPS = flags.DEFINE_integer("num_steps", 64, "Length of each sample.", lower_bound=1)
_PREFIX = flags.DEFINE_integer("prefix_steps", 16, "Steps of a test sequence to continue.", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed.")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    run, params, which = experiment.load_trained(_WORKDIR.value, "best")
    config, splits, model = run.config, run.splits, run.model
    out = pathlib.Path(_WORKDIR.value) / "samples"
    keys = jax.random.split(jax.random.key(_SEED.value), 2 * _NUM.value)
    generate = jax.jit(lambda p, k: model.generate(p, k, _STEPS.value)[0])
    rolls, titles, markers = [], [], []
    for i in range(_NUM.value):
        roll = np.asarray(generate(params, keys[i]))
        rolls.append(roll)
        titles.append(f"sample {i}")
        markers.append(None)
        plot.roll_to_midi(roll, out / f"sample_{i}.mid")
    tests = splits["test"]
    num_continuations = _NUM.value if isinstance(model, StepModel) else 0  # VRAE: no sequential state
    for i in range(num_continuations):
        prefix = tests[i % len(tests)][: _PREFIX.value].astype(np.float32)
        cont = smc.continue_sequence(model, params, keys[_NUM.value + i], prefix, prefix.shape[0], _STEPS.value)
        roll = np.vstack([prefix, np.asarray(cont)])
        rolls.append(roll)
        titles.append(f"test sequence {i}: {prefix.shape[0]} given steps, then sampled")
        markers.append(prefix.shape[0])
        plot.roll_to_midi(roll, out / f"continuation_{i}.mid")
    png = plot.save_rolls(rolls, titles, out / "samples.png", markers)
    print(f"parameters: {which}; wrote {png} and {_NUM.value + num_continuations} MIDI files in {out}")


if __name__ == "__main__":
    cli.run(main)
