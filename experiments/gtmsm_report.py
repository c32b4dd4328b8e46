"""GTM-SM's navigation results (thesis, sections 7.4.1 and 7.4.2) from trained workdirs:

  python experiments/gtmsm_report.py runs/gtmsm/memory runs/gtmsm/state [--out DIR] [--num_neighbours=5]
  python experiments/gtmsm_report.py runs/gtmsm_fp/rotating runs/gtmsm_fp/rotating_state   (first-person 3-D)

On the test walks (environments cut from images never seen in training; tau
memorised steps, then the rest predicted from the actions alone) it prints, per
workdir: the test ELBO per predicted frame, the per-pixel absolute error and the
log-likelihood of the true frame under N(prediction, 0.1^2 I) against the
prediction horizon, split into places visited during the memorisation phase
("revisited") and the others, and the R^2 of an affine map from the inferred
states to the true pose, per walk (with, for scale, the same R^2 of untrained
models): for image navigation from the memorised states to the grid positions;
for first-person videos from [cos s3, sin s3] to the true heading's (fitted on
the memorised steps, scored on the predicted ones) and from the memorised
[s1, s2] to the position (r2_position_mean; None when the agent does not move).
An action-conditioned baseline (configs/gtmsm.py:vrnn, :srnn) is filtered over the
first tau steps and predicts the rest from the actions; it has no states. The
KVAE baseline (configs/gtmsm.py:kvae) smooths with the later views missing; its
states are the smoothed means of z. It
draws Figure 7.2 (image navigation: the environment and true path, the inferred
states, true and predicted frames far into the prediction phase) or Figure 7.3
(first-person: the inferred heading and true and predicted views), the horizon
curves of every workdir (gtmsm_horizon.png, gtmsm_<kind>_horizon.png) and a GIF
of the prediction phase (gtmsm_prediction.gif, gtmsm_<kind>_prediction.gif).
Writes <workdir>/gtmsm_test.json. The workdirs must share one environment.
"""

import argparse
import dataclasses
import json
import pathlib

import jax
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from seqvi.data import navigation  # noqa: E402
from seqvi import datasets  # noqa: E402
from seqvi.datasets.navigation import navigation_test_walks  # noqa: E402
from seqvi.train import experiment  # noqa: E402
from seqvi.data import first_person  # noqa: E402
from seqvi.models.gtmsm import GTMSM  # noqa: E402
from seqvi.prediction import first_person_metrics, horizon_metrics  # noqa: E402
from seqvi.train.evaluation import evaluate  # noqa: E402
from seqvi.data.batching import eval_batches  # noqa: E402

HORIZONS = (1, 8, 10, 16, 45, 50, 100, 150, 200, 256)  # printed and written where the test phase reaches them


def test_walks(config) -> navigation.Navigation:
    """The test split of the 'navigation' data set, with its positions."""
    return navigation_test_walks(config.navigation)


def first_person_videos(config) -> first_person.FirstPerson:
    """The test split of the 'first_person' data set, with its poses."""
    from seqvi.data import tfds_first_person

    return tfds_first_person.videos(datasets.first_person.FIRST_PERSON.sources(config.first_person)["test"])


def model_name(model) -> str:
    if not isinstance(model, GTMSM):
        return f"action-conditioned {type(model).__name__} (no memory)"
    if model.prior_type == "state":
        return "GTM-SM without memory (state prior)"
    landmark = ", landmark inference" if model.state_inference == "landmark" else ""
    return f"GTM-SM ({model.prior_type} prior, K = {model.num_neighbours}{landmark})"


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


def figure_7_3(videos, result, out: pathlib.Path, index: int = 0, tau: int = 33) -> None:
    """Thesis Figure 7.3 for the first-person agent: the inferred heading against the
    true one, and true over predicted views through the prediction phase."""
    size = videos.frames.shape[2]
    horizons = np.unique(np.linspace(1, result["predicted"].shape[1], 10).astype(int))
    fig = plt.figure(figsize=(12, 4.6))
    grid = fig.add_gridspec(2, len(horizons) + 3)
    ax = fig.add_subplot(grid[:, :3])
    s, true = result["states"][index], videos.poses[index, :, 2]
    ax.plot(np.arange(1, tau + 1), np.unwrap(true[:tau]), "k-", label="true heading (memorised)")
    ax.plot(np.arange(1, tau + 1), s[:tau, 2], "C0.", label="inferred s3 (memorised)")
    ax.plot(np.arange(tau + 1, len(s) + 1), s[tau:, 2], "C1.", ms=3, label="s3 in prediction")
    ax.set(xlabel="t", ylabel="radians", title=f"heading (R^2 {result['r2'][index]:.2f})")
    ax.legend(fontsize=7)
    for j, h in enumerate(horizons):
        for row, image in enumerate((videos.frames[index, tau + h - 1] / 255.0,
                                     result["predicted"][index, h - 1].reshape(size, size, 3))):
            ax = fig.add_subplot(grid[row, j + 3])
            ax.imshow(np.clip(image, 0, 1))
            ax.set(xticks=[], yticks=[], title=f"t = {tau + h}" if row == 0 else "")
            if j == 0:
                ax.set_ylabel("true" if row == 0 else "predicted")
    fig.suptitle("GTM-SM, first-person agent in a miniworld room (thesis Figure 7.3): memorised until "
                 f"t = {tau}, then predicted from the actions", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def first_person_gif(videos, result, out: pathlib.Path, index: int = 0, tau: int = 33, scale: int = 4) -> None:
    size = videos.frames.shape[2]
    frames = []
    for h in range(result["predicted"].shape[1]):
        pair = np.concatenate([videos.frames[index, tau + h] / 255.0, np.ones((size, 2, 3)),
                               result["predicted"][index, h].reshape(size, size, 3)], 1)
        frames.append(Image.fromarray((255 * np.clip(pair, 0, 1)).astype(np.uint8)).resize(
            (pair.shape[1] * scale, size * scale), Image.NEAREST))
    frames[0].save(out, save_all=True, append_images=frames[1:], duration=120, loop=0)


def horizon_figure(results: dict, out: pathlib.Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for i, (name, r) in enumerate(results.items()):
        colour = f"C{i % 10}"
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


def _finite_mean(values) -> float | None:
    values = np.asarray(values, float)
    return float(values[np.isfinite(values)].mean()) if np.isfinite(values).any() else None


def _finite_or_none(value):
    """``value`` with every non-finite float, at any depth of dicts and lists, as None (valid JSON)."""
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def memory_length(run) -> int:
    """tau: GTM-SM's memory_length, or a baseline config's ``prediction_start``."""
    return run.model.memory_length if isinstance(run.model, GTMSM) else int(run.config.prediction_start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdirs", nargs="+")
    parser.add_argument("--out", default="", help="where the figures go (default: <first workdir>/figures; "
                        "docs/figures holds the published ones)")
    parser.add_argument("--num_neighbours", type=int, default=0,
                        help="read K neighbours at test instead of the trained model's K (0: its own)")
    args = parser.parse_args()
    out = pathlib.Path(args.out or pathlib.Path(args.workdirs[0]) / "figures")
    out.mkdir(parents=True, exist_ok=True)
    results, walks, kinds = {}, None, set()
    for wd in args.workdirs:
        run, params, which = experiment.load_trained(wd)
        three_d = isinstance(datasets.get(run.config.dataset), datasets.first_person.FirstPerson)
        kinds.add(run.config.first_person.kind if three_d else run.config.dataset)
        if len(kinds) > 1:
            parser.error(f"the workdirs mix data sets ({sorted(kinds)}): report one environment at a time")
        if args.num_neighbours:
            if not (isinstance(run.model, GTMSM) and run.model.prior_type == "memory"):
                parser.error(f"--num_neighbours applies to GTM-SM's mixture prior only ({wd} has "
                             f"{model_name(run.model)}; the network prior's input width is fixed by K)")
            run.model = dataclasses.replace(run.model, num_neighbours=args.num_neighbours)
            run.objective = run.model.objective(experiment.objective_options(run.config))
        walks = first_person_videos(run.config) if three_d else test_walks(run.config)
        metrics = first_person_metrics if three_d else horizon_metrics
        elbo = evaluate(run.objective, params, eval_batches(run.splits["test"], run.config.eval.batch_size),
                        jax.random.key(1))
        tau = memory_length(run)
        r = metrics(run.model, params, walks, tau)
        name = model_name(run.model)
        results[name if name not in results else f"{name} ({wd})"] = r
        untrained = ([float(np.nanmean(metrics(run.model, run.model.init(jax.random.key(seed)), walks, tau)["r2"]))
                      for seed in range(3)] if r["states"] is not None else [np.nan])
        summary = {"model": name, "r2_untrained_mean": _finite_mean(untrained), "params": which,
                   "num_neighbours": getattr(run.model, "num_neighbours", None),
                   # GTM-SM's ELBO over the predicted frames; a baseline's own bound over whole sequences
                   "test_elbo_per_frame": elbo.get("elbo_per_frame"),
                   "test_bound": None if isinstance(run.model, GTMSM) else elbo,
                   "fraction_revisited": r["fraction_revisited"], "r2_mean": _finite_mean(r["r2"]),
                   "r2_min": float(np.nanmin(r["r2"])) if np.isfinite(r["r2"]).any() else None}
        if three_d:
            summary["r2_position_mean"] = _finite_mean(r["r2_position"])  # None: the rotating agent does not move
        else:  # the median too: one walk whose states run off can take the mean far below zero
            summary["r2_predicted_mean"] = _finite_mean(r["r2_predicted"])
            finite = np.asarray(r["r2_predicted"], float)
            finite = finite[np.isfinite(finite)]
            summary["r2_predicted_median"] = float(np.median(finite)) if finite.size else None
        for key in ("error_revisited", "error_unvisited", "loglik_revisited", "loglik_unvisited"):
            for h in HORIZONS:
                if h <= len(r[key]):
                    summary[f"{key}_h{h}"] = float(r[key][h - 1])
        suffix = f"_k{args.num_neighbours}" if args.num_neighbours else ""
        (pathlib.Path(wd) / f"gtmsm_test{suffix}.json").write_text(
            json.dumps(_finite_or_none(summary), indent=1, allow_nan=False) + "\n")
        what = "heading's affine R^2" if three_d else "affine R^2"
        if summary["r2_mean"] is None:
            print(f"{name} ({wd}, {which}): no states to localise; {100 * r['fraction_revisited']:.0f}% of "
                  "predicted steps revisit a memorised position")
        else:
            bound = ("test ELBO per predicted frame" if isinstance(run.model, GTMSM)
                     else "test bound per frame (its own, all frames)")
            print(f"{name} ({wd}, {which}): {bound} {elbo['elbo_per_frame']:.3f}; "
                  f"{what} mean {summary['r2_mean']:.3f} (min {summary['r2_min']:.3f}; untrained models "
                  f"{summary['r2_untrained_mean']:.3f}); "
                  + (f"memorised positions' affine R^2 mean {summary['r2_position_mean']:.3f}; "
                     if summary.get("r2_position_mean") is not None else "")
                  + (f"the same map on the predicted steps' states: R^2 mean {summary['r2_predicted_mean']:.3f}, "
                     f"median {summary['r2_predicted_median']:.3f}; "
                     if summary.get("r2_predicted_mean") is not None else "")
                  + f"{100 * r['fraction_revisited']:.0f}% of predicted steps revisit a memorised position")
        for h in HORIZONS:
            if h <= len(r["error_all"]):
                print(f"  horizon {h:3d}: error revisited {r['error_revisited'][h - 1]:.4f}, unvisited "
                      f"{r['error_unvisited'][h - 1]:.4f}; log-lik revisited {r['loglik_revisited'][h - 1]:.2f}")
        figures = isinstance(run.model, GTMSM) and run.model.prior_type != "state"
        if figures and three_d:
            kind = run.config.first_person.kind
            figure_7_3(walks, r, out / f"gtmsm_{kind}_figure_7_3.png", tau=tau)
            first_person_gif(walks, r, out / f"gtmsm_{kind}_prediction.gif", tau=tau)
        elif figures:
            figure_7_2(walks, r, out / "gtmsm_figure_7_2.png", tau=tau)
            prediction_gif(walks, r, out / "gtmsm_prediction.gif", tau=tau)
    prefix = f"gtmsm_{run.config.first_person.kind}" if three_d else "gtmsm"
    horizon_figure(results, out / f"{prefix}_horizon.png")
    print(f"figures in {out}")


if __name__ == "__main__":
    main()
