"""The Cornell tables of docs/results.md from the runs of run_dialogue.sh, and the
figure of their validation curves (docs/figures/dialogue_valid_curves.png):

  python experiments/dialogue_table.py [RUNS_DIR]        (default runs/dialogue)

Prints three markdown tables (the Table-1-style comparison, the StepModel bounds
of the VMED runs, sample responses) from each workdir's config.json, vocab.txt,
metrics.jsonl, eval_test.json and samples_test.txt.
"""

import json
import pathlib
import sys

import jax

from seqvi.data import dialogue
from seqvi.models.parts import num_params
from seqvi.train import experiment
from seqvi.train.logging import read_metrics

RUNS = [("seq2seq", "Seq2Seq"), ("seq2seq_attention", "Seq2Seq + attention"), ("dnc", "DNC encoder-decoder"),
        ("cvae", "CVAE"), ("vlstm", "VLSTM"), ("vmed_k1", "VMED (K=1)"), ("vmed_k2", "VMED (K=2)"),
        ("vmed_k3", "VMED (K=3)"), ("vmed_k4", "VMED (K=4)")]
OBJECTIVE_RUNS = [("vmed_k4_elbo", "ELBO"), ("vmed_k4_iwae", "IWAE(4)"), ("vmed_k4_fivo", "FIVO(4)")]
SAMPLE_RUNS = ["seq2seq_attention", "cvae", "vmed_k4"]
METRICS = ["bleu1", "bleu4", "a_glove", "greedy", "extrema", "distinct1", "distinct2", "ent4"]


def _params(wd: pathlib.Path) -> int:
    config = experiment.load_config(wd)
    model = experiment.build_model(config, len(dialogue.Vocabulary.load(wd / "vocab.txt")))
    return num_params(model.init(jax.random.key(0)))


def _row(wd: pathlib.Path, name: str) -> str:
    r = json.loads((wd / "eval_test.json").read_text())
    config = experiment.load_config(wd)
    loss = f"{r['loss_per_token']:.3f}" + (" (bound)" if r["loss_kind"] != "NLL" else "")
    cells = ([f"{100 * r['bleu1']:.1f}", f"{100 * r['bleu4']:.1f}"] + [f"{r[m]:.3f}" for m in METRICS[2:5]]
             + [f"{r[m]:.4f}" for m in METRICS[5:7]])
    return (f"| {name} | {_params(wd)} | {config.num_steps} | {loss} | " + " | ".join(cells)
            + f" | {r['ent4']:.2f} | {r['responses_per_context']} |")


def comparison(root: pathlib.Path, runs) -> None:
    print("| model | params | steps | test NLL/token | BLEU-1 | BLEU-4 | A-Glove | greedy | extrema "
          "| Distinct-1 | Distinct-2 | Ent-4 | responses/context |")
    print("|" + "---|" * 13)
    for run, name in runs:
        wd = root / run
        print(_row(wd, name) if (wd / "eval_test.json").exists() else f"| {name} | not run |" + " |" * 11)


def step_bounds(root: pathlib.Path) -> None:
    """The VMED runs' test bounds per token as StepModels (exact mixture prior)."""
    print("| run | trained with | steps | test ELBO | test IWAE(K) | test FIVO(K) | K |")
    print("|---|---|---|---|---|---|---|")
    for run, _ in RUNS[5:] + OBJECTIVE_RUNS:
        path = root / run / "eval_test.json"
        if not path.exists():
            continue
        r = json.loads(path.read_text())
        config = experiment.load_config(root / run)
        trained = "paper's (D_var)" if config.bound == "dvar" else config.bound.upper()
        b = r["step_bounds"]
        print(f"| {run} | {trained} | {config.num_steps} | {b['elbo']:.3f} | {b['iwae']:.3f} | {b['fivo']:.3f} "
              f"| {r['step_bounds_particles']} |")


def _samples(path: pathlib.Path) -> list[dict]:
    """The blocks of a samples_<split>.txt: {'context', 'reference', 'responses'}."""
    out = []
    for block in path.read_text().split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if lines:
            out.append({"context": lines[0].partition(":")[2].strip(), "reference": lines[1].partition(":")[2].strip(),
                        "responses": [ln.partition(":")[2].strip() for ln in lines[2:]]})
    return out


def samples(root: pathlib.Path, count: int = 4, per_model: int = 3) -> None:
    """Responses to the first ``count`` test contexts of 3 to 12 tokens (no choosing)."""
    runs = [r for r in SAMPLE_RUNS if (root / r / "samples_test.txt").exists()]
    if not runs:
        return
    blocks = {r: _samples(root / r / "samples_test.txt") for r in runs}
    shown = [i for i, b in enumerate(blocks[runs[0]]) if 3 <= len(b["context"].split()) <= 12][:count]
    print("| context | reference | model | responses |")
    print("|---|---|---|---|")
    for i in shown:
        first = blocks[runs[0]][i]
        for j, r in enumerate(runs):
            said = " / ".join(blocks[r][i]["responses"][:per_model])
            lead = f"| {first['context']} | {first['reference']} |" if j == 0 else "| | |"
            print(f"{lead} {r} | {said} |")


def plot_curves(root: pathlib.Path, path: str = "docs/figures/dialogue_valid_curves.png") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (run, name) in enumerate(RUNS + [(r, f"VMED (K=4), {n}") for r, n in OBJECTIVE_RUNS]):
        if not (root / run / "metrics.jsonl").exists():
            continue
        rows = [m for m in read_metrics(root / run) if "eval/valid_neg_loss_per_token" in m]
        ax.plot([m["step"] for m in rows], [-m["eval/valid_neg_loss_per_token"] for m in rows], marker="o",
                label=name, color=plt.cm.tab20(i), linestyle="--" if run.startswith("vmed_k4_") else "-")
    ax.set_xlabel("training step")
    ax.set_ylabel("validation loss per token (nats)")
    ax.set_title("Cornell re-split: NLL (deterministic), negative ELBO (latent)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    runs_dir = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "runs/dialogue")
    comparison(runs_dir, RUNS)
    print()
    comparison(runs_dir, [(r, f"VMED (K=4), {n}") for r, n in OBJECTIVE_RUNS])
    print()
    step_bounds(runs_dir)
    print()
    samples(runs_dir)
    plot_curves(runs_dir)
