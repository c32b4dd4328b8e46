"""Sample from a trained model: free samples and continuations of test sequences.

Piano-roll runs (polyphonic music) give a PNG figure and MIDI files; speech runs
give WAV files (frames turned back into audio with the training set's
normalisation) and their spectrograms. Runs of other data answer in one line
naming the binary that shows their output.

  python experiments/sample.py --workdir=runs/vrnn_jsb --num_samples=3 --num_steps=64
  python experiments/sample.py --workdir=runs/speech/srnn_smooth_resq --num_steps=400
"""

import pathlib

import jax
import numpy as np
from absl import flags, logging

from seqvi import datasets, plot, smc
from seqvi.core import ConfigError, StepModel
from seqvi.data import speech
from seqvi.datasets.polyphonic import Polyphonic
from seqvi.datasets.speech import Speech
from seqvi.train import cli, experiment

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir.", required=True)
_NUM = flags.DEFINE_integer("num_samples", 2, "Free samples (and continuations).", lower_bound=1)
_STEPS = flags.DEFINE_integer("num_steps", 64, "Length of each sample in time steps (speech: frames).",
                              lower_bound=1)
_PREFIX = flags.DEFINE_integer("prefix_steps", 16, "Steps of a test sequence to continue.", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed.")

# Where the output of runs on other data is shown, by the data set's class.
_ELSEWHERE = {
    "Dialogue": "its responses are printed by experiments/evaluate.py --workdir=DIR --show=N",
    "Physics": "its generations and imputations are drawn by experiments/kvae_impute.py --workdir=DIR",
    "Navigation": "its predictions are drawn by experiments/gtmsm_report.py DIR",
    "FirstPerson": "its predictions are drawn by experiments/gtmsm_report.py DIR",
    "Synthetic": "its per-step diagnostics are drawn by experiments/diagnose.py --workdirs=DIR",
}


def _samples(model, params, tests: list[np.ndarray], key) -> tuple[list[np.ndarray], list[int | None]]:
    """``--num_samples`` free samples [num_steps, D], then as many continuations of
    test sequences (their first ``--prefix_steps`` steps given, [prefix + num_steps, D])
    for step models; each with the number of given steps (None for a free sample)."""
    keys = jax.random.split(key, 2 * _NUM.value)
    generate = jax.jit(lambda p, k: model.generate(p, k, _STEPS.value)[0])
    out = [(np.asarray(generate(params, keys[i])), None) for i in range(_NUM.value)]
    if isinstance(model, StepModel):  # VRAE: no sequential state to continue
        for i in range(_NUM.value):
            prefix = tests[i % len(tests)][: _PREFIX.value].astype(np.float32)
            cont = smc.continue_sequence(model, params, keys[_NUM.value + i], prefix, prefix.shape[0], _STEPS.value)
            out.append((np.vstack([prefix, np.asarray(cont)]), prefix.shape[0]))
    return [s for s, _ in out], [g for _, g in out]


def _titles(given: list[int | None]) -> list[tuple[str, str]]:
    """(figure title, file stem) of each sample."""
    free = [i for i, g in enumerate(given) if g is None]
    return [(f"sample {i}", f"sample_{i}") if g is None else
            (f"test sequence {i - len(free)}: {g} given steps, then sampled", f"continuation_{i - len(free)}")
            for i, g in enumerate(given)]


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    dataset = datasets.of_config(experiment.load_config(_WORKDIR.value))
    if not isinstance(dataset, (Polyphonic, Speech)):
        where = next((v for k, v in _ELSEWHERE.items() if any(c.__name__ == k for c in type(dataset).__mro__)),
                     "this data set has no sampler here")
        raise ConfigError(f"{_WORKDIR.value} is a run on {dataset.name!r} ({dataset.task}); sample.py writes piano "
                          f"rolls (polyphonic music) and audio (speech): {where}")
    run, params, which = experiment.load_trained(_WORKDIR.value, "best")
    out = pathlib.Path(_WORKDIR.value) / "samples"
    out.mkdir(parents=True, exist_ok=True)
    samples, given = _samples(run.model, params, run.splits["test"], jax.random.key(_SEED.value))
    titles = _titles(given)
    if isinstance(dataset, Speech):
        data = dataset.load(run.config)
        signals = {}
        for sample, (title, stem) in zip(samples, titles):
            audio = np.clip(data.to_audio(sample), -1.0, 1.0)
            speech.write_wav(out / f"{stem}.wav", audio, data.sample_rate)
            signals[title] = audio
        figure = out / "spectrograms.png"
        plot.spectrograms(signals, figure, data.sample_rate)
        print(f"parameters: {which}; wrote {figure} and {len(samples)} WAV files ({data.sample_rate} Hz) in {out}")
        return
    for sample, (_, stem) in zip(samples, titles):
        plot.roll_to_midi(sample, out / f"{stem}.mid")
    png = plot.save_rolls(samples, [t for t, _ in titles], out / "samples.png", given)
    print(f"parameters: {which}; wrote {png} and {len(samples)} MIDI files in {out}")


if __name__ == "__main__":
    cli.run(main)
