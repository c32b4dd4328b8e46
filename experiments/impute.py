"""Impute a missing stretch of test sequences and denoise corrupted ones with a
trained model; writes piano rolls (clean / corrupted / recovered, the missing
steps shaded) and the error fractions.

  python experiments/impute.py --workdir=runs/zoo/dmm-jsb --gap_start=16 --gap_length=8

StepModels whose context feeds only the proposal use SMC imputation; models with
``reconstruct`` (STORN's VRAE and VOSP) use the iterative scheme and also denoise
(mode of q, then mean of p). The error is the fraction of wrongly set pitches
(threshold 0.5) in the gap, or over the whole sequence for denoising; the
training mean is reported beside it as a baseline.
"""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags, logging

from seqvi import imputation, plot
from seqvi.data.polyphonic import training_mean
from seqvi.core import ConfigError, Reconstructs, StepModel
from seqvi.train import cli, experiment

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir.", required=True)
_SPLIT = flags.DEFINE_enum("split", "test", ["train", "valid", "test"], "Split to use.")
_NUM = flags.DEFINE_integer("num_sequences", 10, "Sequences to score (the first one is plotted).", lower_bound=1)
_START = flags.DEFINE_integer("gap_start", 16, "First missing step.", lower_bound=1)
_LENGTH = flags.DEFINE_integer("gap_length", 8, "Number of missing steps.", lower_bound=1)
_NOISE = flags.DEFINE_float("flip_prob", 0.05, "Denoising: probability of flipping each pitch.")
_PARTICLES = flags.DEFINE_integer("num_particles", 64, "Particles for SMC imputation.", lower_bound=1)
_ITERATIONS = flags.DEFINE_integer("iterations", 10, "Iterations of the iterative imputation.", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed.")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    run, params, which = experiment.load_trained(_WORKDIR.value, "best")
    config, splits, model = run.config, run.splits, run.model
    use_smc = isinstance(model, StepModel) and model.imputable
    can_reconstruct = isinstance(model, Reconstructs)
    if not (use_smc or can_reconstruct):
        raise ConfigError(f"{config.model.name}: neither SMC imputation nor reconstruction applies (see its docstring)")
    mean = jnp.asarray(training_mean(splits["train"]))
    end = _START.value + _LENGTH.value
    sequences = [s for s in splits[_SPLIT.value] if s.shape[0] > end][: _NUM.value]
    if not sequences:
        raise ConfigError(f"no {_SPLIT.value} sequence is longer than gap_start + gap_length = {end}")

    @jax.jit
    def impute(p, x, observed, key):
        if use_smc:
            return imputation.smc_impute(model, p, x, observed, x.shape[0], key, num_particles=_PARTICLES.value).mean()
        return imputation.iterative_impute(model, p, x, observed, x.shape[0], _ITERATIONS.value)

    errors = {"imputed": [], "training_mean_in_gap": [], "denoised": [], "noisy": []}
    key = jax.random.key(_SEED.value)
    for i, seq in enumerate(sequences):
        x = jnp.asarray(seq, jnp.float32)
        steps = jnp.arange(x.shape[0])
        observed = (steps < _START.value) | (steps >= end)
        gap = ~observed[:, None]
        k_impute, k_noise = jax.random.split(jax.random.fold_in(key, i))
        recovered = impute(params, x, observed, k_impute)
        errors["imputed"].append(float(imputation.incorrect_fraction(x, recovered, gap)))
        errors["training_mean_in_gap"].append(
            float(imputation.incorrect_fraction(x, jnp.broadcast_to(mean, x.shape), gap)))
        rolls = [x, imputation.fill_missing(params, x, observed), recovered]
        titles = ["clean", "gap filled with the training mean",
                  f"{'SMC posterior mean' if use_smc else 'iterative imputation'} ({config.model.name})"]
        if can_reconstruct:
            noisy = imputation.corrupt_binary(k_noise, x, _NOISE.value)
            denoised = model.reconstruct(params, noisy, x.shape[0])
            everywhere = jnp.ones_like(x, bool)
            errors["denoised"].append(float(imputation.incorrect_fraction(x, denoised, everywhere)))
            errors["noisy"].append(float(imputation.incorrect_fraction(x, noisy, everywhere)))
            rolls += [noisy, denoised]
            titles += [f"{_NOISE.value:.0%} of pitches flipped", "denoised: mode of q, then mean of p"]
        if i == 0:
            out = pathlib.Path(_WORKDIR.value) / "imputation"
            png = plot.save_rolls([np.asarray(r[: end + 16]) for r in rolls], titles, out / "imputation.png",
                                  missing=np.asarray(~observed[: end + 16]))
    summary = {k: float(np.mean(v)) for k, v in errors.items() if v}
    summary.update(num_sequences=len(sequences), gap=[_START.value, end], params=which)
    (out / "errors.json").write_text(json.dumps(summary, indent=2))
    for k, v in summary.items():
        print(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")
    print(f"wrote {png} and {out / 'errors.json'}")


if __name__ == "__main__":
    cli.run(main)
