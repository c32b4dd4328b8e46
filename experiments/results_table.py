"""Markdown table of test bounds from runs made by experiments/run_results.sh.

  python experiments/results_table.py runs/results > docs/results_vrnn_table.md
"""

import json
import pathlib
import sys

import jax
import ml_collections

from seqvi.data.polyphonic import NUM_PITCHES
from seqvi.models.vrnn import num_params
from seqvi.train import experiment

DATA = [("jsb", "JSB"), ("nottingham", "Nottingham"), ("piano_midi", "Piano-midi")]
TRAINED = ["elbo", "iwae", "fivo"]


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


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/results")
