"""Markdown tables of test bounds, and figures of the validation curves:

  python experiments/results_table.py runs/results        VRNN runs of run_results.sh
                                                          (docs/figures/vrnn_valid_curves.png)
  python experiments/results_table.py --zoo runs/zoo      model-zoo runs of run_zoo.sh
                                                          (docs/figures/zoo_valid_curves.png)
  python experiments/results_table.py --vhrnn runs/vhrnn  synthetic-suite runs of run_vhrnn.sh
  python experiments/results_table.py --runs DIR...        any polyphonic runs, one row each
                                                          (sizes, weight decay, best step)
"""

import json
import pathlib
import sys

import jax
import ml_collections

from seqvi.data import synthetic
from seqvi.data.polyphonic import NUM_PITCHES
from seqvi.models.parts import num_params
from seqvi.train import experiment

DATA = [("jsb", "JSB"), ("nottingham", "Nottingham"), ("piano_midi", "Piano-midi")]
TRAINED = ["elbo", "iwae", "fivo"]


def read_run(wd: pathlib.Path, data_dim: int = NUM_PITCHES):
    """(config, parameter count, {bound: result row of eval_test.json}) of a workdir
    (the rows are {} when it has no test evaluation)."""
    config = ml_collections.ConfigDict(json.loads((wd / "config.json").read_text()))
    size = num_params(experiment.build_model(config, data_dim).init(jax.random.key(0)))
    path = wd / "eval_test.json"
    rows = {r["bound"]: r for r in json.loads(path.read_text())["results"]} if path.exists() else {}
    return config, size, rows


def main(runs: str) -> None:
    root = pathlib.Path(runs)
    print("| data | trained with | params | test ELBO(1) | test IWAE(K) | test FIVO(K) | K | steps trained |")
    print("|---|---|---|---|---|---|---|---|")
    for key, name in DATA:
        for bound in TRAINED:
            wd = root / f"{key}_{bound}"
            if not (wd / "eval_test.json").exists():
                print(f"| {name} | {bound.upper()} | | not run | | | | |")
                continue
            config, size, rows = read_run(wd)
            k = rows["fivo"]["num_particles"]
            cells = " | ".join(f"{rows[b]['per_step']:.3f}" for b in ("elbo", "iwae", "fivo"))
            print(f"| {name} | {bound.upper()} | {size} | {cells} | {k} | {config.num_steps} |")


def runs_table(dirs: list[str]) -> None:
    """One row per training workdir with an eval_test.json: its model sizes, weight
    decay, steps, the step of its validation-best parameters, and the test bounds."""
    print("| run | model sizes | params | weight decay | steps | best at | test ELBO(1) | "
          "test IWAE(K) | test FIVO(K) | K |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for wd in map(pathlib.Path, dirs):
        if not (wd / "eval_test.json").exists():
            continue
        config, size, rows = read_run(wd)
        sizes = ", ".join(f"{k[:-4]} {v}" for k, v in config.model.items() if k.endswith("_dim"))
        best = json.loads((wd / "best.json").read_text())["step"] if (wd / "best.json").exists() else ""
        cells = " | ".join(f"{rows[b]['per_step']:.3f}" if b in rows else "" for b in ("elbo", "iwae", "fivo"))
        k = rows.get("fivo", rows.get("iwae", {})).get("num_particles", "")
        print(f"| {wd.parent.name}/{wd.name} | {config.model.name}: {sizes} | {size} | "
              f"{config.get('weight_decay', 0.0):g} | {config.num_steps} | {best} | {cells} | {k} |")


def plot_valid_curves(runs: str, series: list[tuple[str, str]], path: str, ylabel: str) -> None:
    """Validation bound per step against training step, one panel per dataset and
    one line per (run-name pattern with {data}, label) in ``series``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqvi.train.logging import read_metrics

    fig, axes = plt.subplots(1, len(DATA), figsize=(4 * len(DATA), 3))
    for ax, (key, name) in zip(axes, DATA):
        for pattern, label in series:
            wd = pathlib.Path(runs) / pattern.format(data=key)
            if not (wd / "metrics.jsonl").exists():
                continue
            rows = [r for r in read_metrics(wd) if any(k.startswith("eval/") for k in r)]
            if rows:
                metric = next(k for k in rows[0] if k.startswith("eval/"))
                ax.plot([r["step"] for r in rows], [r[metric] for r in rows], marker="o", label=label)
        ax.set_title(name)
        ax.set_xlabel("training step")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
    fig.tight_layout()
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


ZOO = [("srnn", "SRNN (smooth, Res_q)"), ("dmm", "DMM (gated, smooth)"), ("vae_rnn", "VAE-RNN"),
       ("vrnn_i", "VRNN-I"), ("vrae", "VRAE"), ("vosp", "VOSP")]
# Published test figures per time step (log-likelihood bounds; STORN's and the DMM's
# are negative log-likelihood bounds, shown negated): the thesis / SRNN paper (ELBO),
# Pyro's DMM example (JSB only), STORN (Bayer & Osendorfer).
PUBLISHED = {
    "srnn": {"jsb": -4.74, "nottingham": -2.94, "piano_midi": -8.20},
    "dmm": {"jsb": -6.87},
    "vrae": {"jsb": -5.53, "nottingham": -2.00, "piano_midi": -4.00},
    "vosp": {"jsb": -6.21, "nottingham": -2.63, "piano_midi": -6.08},
}


def zoo(runs: str) -> None:
    root = pathlib.Path(runs)
    print("| model | data | params | steps | test ELBO(1) | ELBO, mean of per-sequence ratios | "
          "test IWAE(16) | test FIVO(16) | published |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model_key, model_name in ZOO:
        for key, name in DATA:
            wd = root / f"{model_key}-{key}"
            published = PUBLISHED.get(model_key, {}).get(key)
            published = "" if published is None else f"{published:.2f}"
            if not (wd / "eval_test.json").exists():
                print(f"| {model_name} | {name} | | not run | | | | | {published} |")
                continue
            config, size, rows = read_run(wd)
            elbo = rows["elbo"]
            cells = [f"{elbo['per_step']:.3f}", f"{elbo['per_step_sequence_mean']:.3f}"]
            cells += [f"{rows[b]['per_step']:.3f}" if b in rows else "n/a" for b in ("iwae", "fivo")]
            print(f"| {model_name} | {name} | {size} | {config.num_steps} | {' | '.join(cells)} | {published} |")


VHRNN_RUNS = [("vrnn_z8", "VRNN, z = 8"), ("vrnn_z6", "VRNN, z = 6"), ("vhrnn_z4", "VHRNN, z = 4"),
              ("vhrnn_z4_latent", "VHRNN, z = 4, hypernetworks see z_t only"),
              ("vhrnn_z4_hidden", "VHRNN, z = 4, hypernetworks see h_{t-1} only"),
              ("vrnn_z8_paper", "VRNN, z = 8, the paper's size"), ("vrnn_z6_paper", "VRNN, z = 6, the paper's size"),
              ("vhrnn_z4_paper", "VHRNN, z = 4, the paper's size")]
SYNTHETIC_SPLITS = ["test", "noiseless", "switch", "rand", "long", "zero_shot", "add"]


def vhrnn(runs: str) -> None:
    """Table 1 / Table 3 of the VHRNN paper: FIVO per time step on the synthetic
    test split and the six settings, with parameter counts."""
    root = pathlib.Path(runs)
    header = " | ".join(s.upper().replace("_", "-") for s in SYNTHETIC_SPLITS)
    print(f"| model | params | steps | {header} | K |")
    print("|---|---|---|" + "---|" * len(SYNTHETIC_SPLITS) + "---|")
    for run, label in VHRNN_RUNS:
        wd = root / run
        if not (wd / "config.json").exists():
            print(f"| {label} | | not run |" + " |" * len(SYNTHETIC_SPLITS) + " |")
            continue
        config, size, _ = read_run(wd, data_dim=2)
        cells, k = [], ""
        for split in SYNTHETIC_SPLITS:
            path = wd / f"eval_{split}.json"
            if not path.exists():
                cells.append("not run")
                continue
            row = json.loads(path.read_text())["results"][0]
            cells.append(f"{row['per_step']:.3f}")
            k = row["num_particles"]
        print(f"| {label} | {size} | {config.num_steps} | {' | '.join(cells)} | {k} |")
    ceiling = []
    for split in SYNTHETIC_SPLITS:
        try:
            ll = synthetic.true_log_likelihood(split)
            ceiling.append(f"{ll.sum() / (ll.shape[0] * synthetic.generate(split).xs.shape[1]):.3f}")
        except ValueError:
            ceiling.append("(no density)")
    print(f"| the true process, exact log p(x) | | | {' | '.join(ceiling)} | |")
    print()
    print("| model (JSB) | params | steps | test FIVO(K) per step | K |")
    print("|---|---|---|---|---|")
    for run, label in [("vrnn_jsb", "VRNN"), ("vhrnn_jsb", "VHRNN")]:
        wd = root / run
        if not (wd / "eval_test.json").exists():
            print(f"| {label} | | not run | | |")
            continue
        config, size, rows = read_run(wd)
        row = next(iter(rows.values()))
        print(f"| {label} | {size} | {config.num_steps} | {row['per_step']:.3f} | {row['num_particles']} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--runs":
        runs_table(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--vhrnn":
        vhrnn(sys.argv[2] if len(sys.argv) > 2 else "runs/vhrnn")
    elif len(sys.argv) > 1 and sys.argv[1] == "--zoo":
        runs_dir = sys.argv[2] if len(sys.argv) > 2 else "runs/zoo"
        zoo(runs_dir)
        plot_valid_curves(runs_dir, [(f"{m}-{{data}}", label) for m, label in ZOO],
                          "docs/figures/zoo_valid_curves.png", "valid ELBO per step (nats)")
    else:
        runs_dir = sys.argv[1] if len(sys.argv) > 1 else "runs/results"
        main(runs_dir)
        plot_valid_curves(runs_dir, [(f"{{data}}_{b}", f"trained with {b}") for b in TRAINED],
                          "docs/figures/vrnn_valid_curves.png", "valid bound per step (nats)")
