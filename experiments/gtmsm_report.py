"""GTM-SM's image navigation results (thesis, section 7.4.1) from trained workdirs:

  python experiments/gtmsm_report.py runs/gtmsm/memory runs/gtmsm/state [--out docs/figures] [--num_neighbours=5]

On the test walks (environments cut from images never seen in training; tau
memorised steps, then the rest predicted from the actions alone) it prints, per
workdir: the test ELBO per predicted frame, the per-pixel absolute error and the
log-likelihood of the true frame under the model's pixel likelihood at the predicted means
against the prediction horizon, split into positions visited during the
memorisation phase ("revisited") and the others, and the R^2 of an affine map
from the inferred memorised states to the true grid positions, fitted per walk
(with, for scale, the same R^2 of untrained models: random displacements already
correlate with the positions). It draws Figure 7.2 (one test
walk: the environment and true path, the inferred states, true and predicted
frames far into the prediction phase), the horizon curves of every workdir
(gtmsm_horizon.png) and a GIF of the prediction phase (gtmsm_prediction.gif).
Writes <workdir>/gtmsm_test.json.
"""

import argparse
import dataclasses
import json
import pathlib

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from seqvi.data import navigation  # noqa: E402
from seqvi.train import experiment  # noqa: E402
from seqvi.train.evaluation import evaluate  # noqa: E402
from seqvi.data.batching import eval_batches  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_walks(config) -> navigation.Navigation:
    """The test split of ``seqvi.train.tasks.load_navigation``, with its positions."""
    o = config.navigation
    spec = navigation.NavigationSpec(int(o.test_steps), float(o.repeat_rate))
    return navigation.generate(spec, int(o.num_test), seed=int(o.seed) + 1, images=navigation.TEST_IMAGES)


def affine_r2(states: np.ndarray, positions: np.ndarray) -> float:
    """R^2 of the least-squares affine map states [T, S] -> positions [T, 2]."""
    design = np.concatenate([states, np.ones((states.shape[0], 1))], 1)
    coef, *_ = np.linalg.lstsq(design, positions, rcond=None)
    residual = np.sum((positions - design @ coef) ** 2)
    total = np.sum((positions - positions.mean(0)) ** 2)
    return float(1.0 - residual / total) if total > 0 else float("nan")


def horizon_metrics(model, params, walks: navigation.Navigation, seed: int = 0) -> dict:
    """Per-horizon error and log-likelihood (revisited / unvisited) and the R^2."""
    rows = jnp.asarray(navigation.rows(walks))
    keys = jax.random.split(jax.random.key(seed), rows.shape[0])
    predictions = jax.jit(jax.vmap(lambda xs, k: model.predict(params, xs, k)))(rows, keys)
    tau = model.memory_length
    predicted = np.asarray(predictions.frames[:, tau:])
    true = walks.frames[:, tau:]
    error = np.abs(predicted - true).mean(-1)  # [N, H]
    logits = jnp.log(jnp.clip(predicted, 1e-6, 1 - 1e-6)) - jnp.log1p(-jnp.clip(predicted, 1e-6, 1 - 1e-6))
    log_lik = np.asarray(model.frame_log_prob(logits, jnp.asarray(true)))  # under the model's likelihood
    revisited = np.zeros(error.shape, bool)
    for n in range(walks.positions.shape[0]):
        seen = {tuple(q) for q in walks.positions[n, :tau]}
        revisited[n] = [tuple(q) in seen for q in walks.positions[n, tau:]]
    states = np.asarray(predictions.states)
    r2 = [affine_r2(states[n, :tau], walks.positions[n, :tau].astype(float)) for n in range(states.shape[0])]

    def by_horizon(values, mask):
        total, count = (values * mask).sum(0), mask.sum(0)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    return {"error_revisited": by_horizon(error, revisited), "error_unvisited": by_horizon(error, ~revisited),
            "error_all": error.mean(0), "loglik_revisited": by_horizon(log_lik, revisited),
            "loglik_unvisited": by_horizon(log_lik, ~revisited), "fraction_revisited": float(revisited.mean()),
            "r2": r2, "predicted": predicted, "states": states}


def figure_7_2(walks, result, out: pathlib.Path, index: int = 0, tau: int = 256) -> None:
    fig = plt.figure(figsize=(11, 5.2))
    grid = fig.add_gridspec(3, 8)
    ax = fig.add_subplot(grid[:2, :2])
    ax.imshow(walks.environments[index], cmap="gray", vmin=0, vmax=1)
    path = walks.positions[index, :tau] * navigation.STRIDE + navigation.VIEW / 2
    ax.plot(path[:, 1], path[:, 0], "y-", lw=0.8)
    ax.set(title="(a) environment, true path", xticks=[], yticks=[])
    ax = fig.add_subplot(grid[:2, 2:4])
    true = walks.positions[index, :tau]
    ax.scatter(true[:, 1], -true[:, 0], c=np.arange(tau), s=6, cmap="viridis")
    ax.set(title="(b) true grid positions", xticks=[], yticks=[])
    ax = fig.add_subplot(grid[:2, 4:6])
    s = result["states"][index, :tau]
    ax.scatter(s[:, 0], s[:, 1], c=np.arange(tau), s=6, cmap="viridis")
    ax.set(title=f"(c) inferred s (R^2 {result['r2'][index]:.2f})", xticks=[], yticks=[])
    horizons = [1, 2, 50, 100, 150, 200, 255, 256][: 8]
    horizons = [h for h in horizons if h <= result["predicted"].shape[1]]
    for j, h in enumerate(horizons):
        pair = np.concatenate([walks.frames[index, tau + h - 1].reshape(8, 8), np.ones((8, 1)),
                               result["predicted"][index, h - 1].reshape(8, 8)], 1)
        ax = fig.add_subplot(grid[2, j])
        ax.imshow(pair, cmap="gray", vmin=0, vmax=1)
        ax.set(xticks=[], yticks=[], title=f"t = {tau + h}", xlabel="true | pred.")
    fig.suptitle("GTM-SM on image navigation (thesis Figure 7.2; (d): true and predicted views far into the "
                 "prediction phase)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def horizon_figure(results: dict, out: pathlib.Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for (name, r), colour in zip(results.items(), ("C0", "C1", "C2", "C3")):
        h = np.arange(1, len(r["error_all"]) + 1)
        axes[0].plot(h, r["error_revisited"], color=colour, label=f"{name}: revisited")
        axes[0].plot(h, r["error_unvisited"], color=colour, ls=":", label=f"{name}: unvisited")
        axes[1].plot(h, r["loglik_revisited"], color=colour, label=f"{name}: revisited")
        axes[1].plot(h, r["loglik_unvisited"], color=colour, ls=":", label=f"{name}: unvisited")
    axes[0].set(xlabel="prediction horizon (steps after tau)", ylabel="per-pixel absolute error")
    axes[1].set(xlabel="prediction horizon (steps after tau)", ylabel="log p(true view | prediction), nats")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def prediction_gif(walks, result, out: pathlib.Path, index: int = 0, tau: int = 256, scale: int = 8) -> None:
    frames = []
    for h in range(result["predicted"].shape[1]):
        pair = np.concatenate([walks.frames[index, tau + h].reshape(8, 8), np.ones((8, 1)),
                               result["predicted"][index, h].reshape(8, 8)], 1)
        image = Image.fromarray((255 * np.clip(pair, 0, 1)).astype(np.uint8)).resize(
            (pair.shape[1] * scale, pair.shape[0] * scale), Image.NEAREST)
        frames.append(image)
    frames[0].save(out, save_all=True, append_images=frames[1:], duration=80, loop=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdirs", nargs="+")
    parser.add_argument("--out", default=str(ROOT / "docs" / "figures"))
    parser.add_argument("--num_neighbours", type=int, default=0,
                        help="read K neighbours at test instead of the trained model's K (0: its own)")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results, walks = {}, None
    for wd in args.workdirs:
        run, params, which = experiment.load_trained(wd)
        if args.num_neighbours:
            run.model = dataclasses.replace(run.model, num_neighbours=args.num_neighbours)
            run.objective = run.model.objective(experiment.objective_options(run.config))
        walks = test_walks(run.config)
        elbo = evaluate(run.objective, params, eval_batches(run.splits["test"], run.config.eval.batch_size),
                        jax.random.key(1))
        r = horizon_metrics(run.model, params, walks)
        name = (f"GTM-SM ({run.model.prior_kind} prior, K = {run.model.num_neighbours})" if run.model.prior_kind == "memory"
                else "GTM-SM without memory (state prior)")
        results[name] = r
        tau = run.model.memory_length
        untrained = [float(np.nanmean(horizon_metrics(run.model, run.model.init(jax.random.key(seed)), walks)["r2"]))
                     for seed in range(3)]
        summary = {"r2_untrained_mean": float(np.mean(untrained)), "params": which, "num_neighbours": run.model.num_neighbours, "test_elbo_per_frame": elbo["elbo_per_frame"],
                   "fraction_revisited": r["fraction_revisited"], "r2_mean": float(np.nanmean(r["r2"])),
                   "r2_min": float(np.nanmin(r["r2"]))}
        for key in ("error_revisited", "error_unvisited", "loglik_revisited", "loglik_unvisited"):
            for h in (1, 10, 50, 100, 200, 256):
                if h <= len(r[key]):
                    summary[f"{key}_h{h}"] = float(r[key][h - 1])
        suffix = f"_k{args.num_neighbours}" if args.num_neighbours else ""
        (pathlib.Path(wd) / f"gtmsm_test{suffix}.json").write_text(json.dumps(summary, indent=1) + "\n")
        print(f"{name} ({wd}, {which}): test ELBO per predicted frame {elbo['elbo_per_frame']:.3f}; "
              f"affine R^2 mean {summary['r2_mean']:.3f} (min {summary['r2_min']:.3f}; untrained models "
              f"{summary['r2_untrained_mean']:.3f}); "
              f"{100 * r['fraction_revisited']:.0f}% of predicted steps revisit a memorised position")
        for h in (1, 10, 50, 100, 200, 256):
            if h <= len(r["error_all"]):
                print(f"  horizon {h:3d}: error revisited {r['error_revisited'][h - 1]:.4f}, unvisited "
                      f"{r['error_unvisited'][h - 1]:.4f}; log-lik revisited {r['loglik_revisited'][h - 1]:.2f}")
        if run.model.prior_kind == "memory":
            figure_7_2(walks, r, out / "gtmsm_figure_7_2.png", tau=tau)
            prediction_gif(walks, r, out / "gtmsm_prediction.gif", tau=tau)
    horizon_figure(results, out / "gtmsm_horizon.png")
    print(f"figures in {out}")


if __name__ == "__main__":
    main()
