"""Markdown table of test bounds from runs made by experiments/run_results.sh, and
a figure of the validation curves (docs/figures/vrnn_valid_curves.png).

  python experiments/results_table.py runs/results > table.md
"""

import json
import pathlib
import sys

import jax
import ml_collections

from seqvi.data.polyphonic import NUM_PITCHES
from seqvi.models.parts import num_params
from seqvi.train import experiment

DATA = [("jsb", "JSB"), ("nottingham", "Nottingham"), ("piano_midi", "Piano-midi")]
TRAINED = ["elbo", "iwae", "fivo"]
COLOURS = {"elbo": "tab:green", "iwae": "tab:blue", "fivo": "tab:orange"}


def main(runs: str) -> None:
    root = pathlib.Path(runs)
    print("| data | trained with | params | test ELBO(1) | test IWAE(K) | test FIVO(K) | K | steps trained |")
    print("|---|---|---|---|---|---|---|---|")
    for key, name in DATA:
        for bound in TRAINED:
            wd = root / f"{key}_{bound}"
            path = wd / "eval_test.json"
            if not path.exists():
                print(f"| {name} | {bound.upper()} | | not run | | | | |")
                continue
            rows = {r["bound"]: r for r in json.loads(path.read_text())["results"]}
            config = ml_collections.ConfigDict(json.loads((wd / "config.json").read_text()))
            model = experiment.build_model(config, NUM_PITCHES)
            size = num_params(model.init(jax.random.key(0)))
            k = rows["fivo"]["num_particles"]
            cells = " | ".join(f"{rows[b]['per_step']:.3f}" for b in ("elbo", "iwae", "fivo"))
            print(f"| {name} | {bound.upper()} | {size} | {cells} | {k} | {config.num_steps} |")


def plot_curves(runs: str, path="docs/figures/vrnn_valid_curves.png") -> None:
    """Validation FIVO(K) per step against training step, one panel per dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqvi.train.logging import read_metrics

    fig, axes = plt.subplots(1, len(DATA), figsize=(4 * len(DATA), 3))
    for ax, (key, name) in zip(axes, DATA):
        for bound in TRAINED:
            wd = pathlib.Path(runs) / f"{key}_{bound}"
            if not (wd / "metrics.jsonl").exists():
                continue
            rows = [r for r in read_metrics(wd) if any(k.startswith("eval/") for k in r)]
            if rows:
                metric = next(k for k in rows[0] if k.startswith("eval/"))
                ax.plot([r["step"] for r in rows], [r[metric] for r in rows], marker="o", color=COLOURS[bound],
                        label=f"trained with {bound}")
        ax.set_title(name)
        ax.set_xlabel("training step")
        ax.set_ylabel("valid bound per step (nats)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    runs_dir = sys.argv[1] if len(sys.argv) > 1 else "runs/results"
    main(runs_dir)
    plot_curves(runs_dir)
