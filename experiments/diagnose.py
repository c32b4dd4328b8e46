"""Per-step diagnostic figures of trained models on the synthetic suite (the
VHRNN paper's Figures 2-4): data, KL(q || p), L2 error of the predicted mean and
predicted emission log-variance, one figure per setting, models overlaid.

  python experiments/diagnose.py --workdirs=runs/vhrnn/vrnn_z8,runs/vhrnn/vhrnn_z4 \
      --labels=VRNN,VHRNN --out_dir=docs/figures --sequence=0

Writes <out_dir>/<prefix><setting>.png and prints, per setting and model, the
per-step KL, prediction error and log-variance averaged over all the setting's
sequences, and the mean KL in the 5 steps from each change (a noise switch or a
SWITCH boundary) against the mean KL at the other steps.
"""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from seqvi import datasets, plot
from seqvi.data import synthetic
from seqvi.diagnostics import step_diagnostics
from seqvi.train import cli, experiment

_WORKDIRS = flags.DEFINE_list("workdirs", None, "Training workdirs of synthetic-suite runs.", required=True)
_LABELS = flags.DEFINE_list("labels", None, "A label per workdir (default: the model names).")
_SETTINGS = flags.DEFINE_list("settings", list(synthetic.SETTINGS[2:]), "Settings to plot.")
_SEQUENCE = flags.DEFINE_integer("sequence", 0, "Index of the plotted sequence in each setting.", lower_bound=0)
_OUT = flags.DEFINE_string("out_dir", "docs/figures", "Where the figures go.")
_PREFIX = flags.DEFINE_string("prefix", "vhrnn_diagnostics_", "File-name prefix of the figures.")
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed of the posterior samples.")


AFTER_CHANGE = 5


def after_change_mask(data: synthetic.SyntheticSet) -> np.ndarray:
    """[N, T] True in the AFTER_CHANGE steps from each change of noise level or matrix."""
    mask = np.zeros(data.noise_scale.shape, bool)
    for n in range(mask.shape[0]):
        changes = set(plot.change_points(data.noise_scale[n])) | set(plot.change_points(data.matrix[n]))
        for t in changes:
            mask[n, t:t + AFTER_CHANGE] = True
    return mask


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    labels = _LABELS.value or [None] * len(_WORKDIRS.value)
    if len(labels) != len(_WORKDIRS.value):
        raise app.UsageError("--labels needs one label per workdir")
    runs = []
    for wd, label in zip(_WORKDIRS.value, labels):
        run, params, which = experiment.load_trained(wd)
        config, model = run.config, run.model
        if not isinstance(datasets.get(config.get("dataset", "")), datasets.synthetic.Synthetic):
            raise app.UsageError(f"{wd} was not trained on the synthetic suite")
        diag = jax.jit(jax.vmap(lambda x, n, k, m=model, p=params: step_diagnostics(m, p, x, n, k)))
        runs.append((label or config.model.name, diag, synthetic.SyntheticSpec(**config.synthetic)))
        print(f"{wd}: {config.model.name}, {which}")
    for setting in _SETTINGS.value:
        data = synthetic.generate(setting, runs[0][2])
        xs = jnp.asarray(data.xs)
        lengths = jnp.full((xs.shape[0],), xs.shape[1], jnp.int32)
        keys = jax.random.split(jax.random.key(_SEED.value), xs.shape[0])
        after = after_change_mask(data)
        traces = {}
        for label, diag, _ in runs:
            out = jax.device_get(diag(xs, lengths, keys))
            traces[label] = jax.tree.map(lambda v: v[_SEQUENCE.value], out)
            change = ""
            if after.any():
                change = f" | KL after a change {out.kl[after].mean():.3f}, elsewhere {out.kl[~after].mean():.3f}"
            print(f"{setting:>10} {label:>12}: KL {np.mean(out.kl):8.3f} | L2 error {np.mean(out.error):8.3f}"
                  f" | log-variance {np.mean(out.log_var):8.3f}  (per step, mean over {xs.shape[0]} sequences)"
                  + change)
        path = pathlib.Path(_OUT.value) / f"{_PREFIX.value}{setting}.png"
        plot.diagnostics_figure(data.xs[_SEQUENCE.value], traces, path, data.noise_scale[_SEQUENCE.value],
                                data.matrix[_SEQUENCE.value], title=f"{setting}, sequence {_SEQUENCE.value}")
        print(f"written {path}")


if __name__ == "__main__":
    cli.run(main)
