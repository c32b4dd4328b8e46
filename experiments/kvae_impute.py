"""Missing-frame imputation with a trained KVAE (thesis, section 6.4 and Figure
6.3), against VAE-RNN / DMM baselines trained on the same videos, and generated
trajectories (Figure 6.5) with animated GIFs.

  python experiments/kvae_impute.py --workdir=runs/kvae/box \
      --baselines=runs/kvae/vae_rnn-box,runs/kvae/dmm-box --num_sequences=100

Two masking schemes on the test videos: every frame dropped independently with
probability p (``--drop_probs``), and a consecutive stretch of L missing frames
after the first 4 observed ones (``--missing_lengths``). The error is the
fraction of wrongly set pixels (threshold 0.5) over the unobserved frames, pooled
over the sequences. KVAE: filtering and smoothing (``KVAE.impute``); baselines:
the weighted posterior mean of SMC imputation (``seqvi.imputation.smc_impute``),
and empty frames (every pixel off), the floor any method must beat.
Writes <out_dir>/imputation.json, imputation.png, example.png, trajectories.png
and generations.gif.
"""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags, logging

from seqvi import imputation, plot
from seqvi.core import StepModel
from seqvi.train import cli, experiment

_WORKDIR = flags.DEFINE_string("workdir", None, "KVAE training workdir.", required=True)
_BASELINES = flags.DEFINE_list("baselines", [], "Workdirs of StepModels trained on the same videos.")
_NUM = flags.DEFINE_integer("num_sequences", 100, "Test sequences to score.", lower_bound=1)
_DROP = flags.DEFINE_list("drop_probs", ["0.1", "0.3", "0.5", "0.7", "0.9"], "Random-mask drop probabilities.")
_LENGTHS = flags.DEFINE_list("missing_lengths", ["2", "4", "8", "12", "16"], "Consecutive missing lengths.")
_OBSERVED_FIRST = flags.DEFINE_integer("observed_first", 4, "Observed frames before a missing stretch.", lower_bound=1)
_PARTICLES = flags.DEFINE_integer("num_particles", 64, "Particles for the baselines' SMC imputation.", lower_bound=1)
_GENERATIONS = flags.DEFINE_integer("num_generations", 8, "Generated videos to draw.", lower_bound=0)
_OUT = flags.DEFINE_string("out_dir", None, "Output folder (default: <workdir>/imputation).")
_SEED = flags.DEFINE_integer("seed", 0, "PRNG seed.")


def masks(num: int, num_steps: int, rng: np.random.Generator) -> dict[str, dict[str, np.ndarray]]:
    """{'random': {p: [N, T] bool}, 'consecutive': {L: [N, T] bool}}, True = observed."""
    out = {"random": {}, "consecutive": {}}
    for p in _DROP.value:
        out["random"][p] = rng.uniform(size=(num, num_steps)) >= float(p)
    for length in _LENGTHS.value:
        start = _OBSERVED_FIRST.value
        if start + int(length) > num_steps:
            raise app.UsageError(f"a missing stretch of {length} after {start} frames exceeds T = {num_steps}")
        mask = np.ones((num, num_steps), bool)
        mask[:, start:start + int(length)] = False
        out["consecutive"][length] = mask
    return out


def kvae_imputers(model, params):
    """{name: fn(rows [N, T, row], mask [N, T], key) -> pixel probabilities [N, T, H * W]}."""

    def make(method):
        one = lambda x, m, u: model.impute(params, x, m, u, method)  # noqa: E731
        batched = jax.jit(jax.vmap(one, in_axes=(0, 0, 0 if model.input_dim else None)))

        def run(rows, mask, key):
            del key  # deterministic
            frames, inputs = model.split_rows(rows)
            return batched(frames, mask, inputs)

        return run

    return {"KVAE filtering": make("filtering"), "KVAE smoothing": make("smoothing")}


def baseline_imputer(workdir, data_dim, environment):
    """(name, fn) for a StepModel trained on the same environment's frames (not inputs)."""
    run, params, _ = experiment.load_trained(workdir)
    config, model = run.config, run.model
    if not isinstance(model, StepModel) or not model.imputable:
        raise app.UsageError(f"{workdir}: {config.model.name} cannot impute by SMC")
    if config.get("physics", {}).get("environment") != environment or model.data_dim != data_dim:
        raise app.UsageError(f"{workdir} was not trained on the {environment} frames")
    num_particles = _PARTICLES.value

    @jax.jit
    def fn(rows, mask, key):
        keys = jax.random.split(key, rows.shape[0])
        one = lambda x, m, k: imputation.smc_impute(model, params, x, m, x.shape[0], k,  # noqa: E731
                                                    num_particles=num_particles).mean()
        return jax.vmap(one)(rows[..., :data_dim], mask, keys)

    return f"{config.model.name.upper().replace('_', '-')} (SMC)", fn


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    run, params, which = experiment.load_trained(_WORKDIR.value)
    config, splits, model = run.config, run.splits, run.model
    if config.model.name != "kvae":
        raise app.UsageError(f"{_WORKDIR.value} holds a {config.model.name}, not a KVAE")
    rows = jnp.asarray(np.stack(splits["test"][: _NUM.value]))
    frames, inputs = model.split_rows(rows)
    num, num_steps = frames.shape[:2]
    imputers = kvae_imputers(model, params)
    for wd in _BASELINES.value:
        name, fn = baseline_imputer(wd, model.data_dim, config.physics.environment)
        imputers[name] = fn
    print(f"KVAE ({which}); {num} test videos of {num_steps} frames; methods: {', '.join(imputers)}")
    all_masks = masks(num, num_steps, np.random.default_rng(_SEED.value))
    key = jax.random.key(_SEED.value)
    results = {scheme: {} for scheme in all_masks}
    cases = [(scheme, param, mask) for scheme, by_param in all_masks.items() for param, mask in by_param.items()]
    for i, (scheme, param, mask) in enumerate(cases):
        missing = jnp.asarray(~mask)[..., None]
        row = {"all pixels off": float(imputation.incorrect_fraction(frames, jnp.zeros_like(frames), missing))}
        for name, fn in imputers.items():
            estimate = fn(rows, jnp.asarray(mask), jax.random.fold_in(key, i))
            row[name] = float(imputation.incorrect_fraction(frames, estimate, missing))
        results[scheme][param] = row
        print(f"{scheme:>11} {param:>4}: " + " | ".join(f"{k} {v:.4f}" for k, v in row.items()), flush=True)
    out = pathlib.Path(_OUT.value or pathlib.Path(_WORKDIR.value) / "imputation")
    out.mkdir(parents=True, exist_ok=True)
    (out / "imputation.json").write_text(json.dumps({"params": which, "num_sequences": num, "results": results},
                                                    indent=2))
    plot_errors(results, out / "imputation.png", config.physics.environment)
    side = model.image_size
    mask = all_masks["consecutive"][_LENGTHS.value[len(_LENGTHS.value) // 2]][:1]
    example = [np.asarray(frames[0]).reshape(num_steps, side, side)]
    for name, fn in imputers.items():
        example.append(np.asarray(fn(rows[:1], jnp.asarray(mask), key)[0]).reshape(num_steps, side, side))
    plot.save_frame_grid(example, ["truth"] + list(imputers), out / "example.png", missing=~mask[0])
    gen_inputs = None if inputs is None else inputs[: _GENERATIONS.value]
    keys = jax.random.split(jax.random.fold_in(key, 7), _GENERATIONS.value)
    one = lambda k, u: model.generate(params, k, num_steps, inputs=u, emission_mode="mean")[0]  # noqa: E731
    generate = jax.vmap(one, in_axes=(0, None if gen_inputs is None else 0))
    videos = np.asarray(generate(keys, gen_inputs)).reshape(-1, num_steps, side, side)
    plot.save_trajectories(list(videos), [f"generation {i}" for i in range(len(videos))], out / "trajectories.png")
    plot.save_gif(list(videos[:4]), out / "generations.gif", [f"gen {i}" for i in range(min(4, len(videos)))])
    print(f"written to {out}")


def plot_errors(results: dict, path, environment: str) -> None:
    """Figure 6.3: error against the drop probability and against the missing length."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, (scheme, xlabel) in zip(axes, [("random", "drop probability"), ("consecutive", "missing frames")]):
        params = list(results[scheme])
        for method in results[scheme][params[0]]:
            ax.plot([float(p) for p in params], [results[scheme][p][method] for p in params], marker="o", label=method)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("incorrect pixels (unobserved frames)")
        ax.set_title(f"{environment}: {scheme} missing frames", fontsize=9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    cli.run(main)
