"""LocalGAN's Table 1 on Cornell from the runs of run_localgan.sh, sample
responses, and Figure 2 (Ent-4 of greedy validation responses against training
batches for every adversarial model, docs/figures/localgan_entropy.png):

  python experiments/localgan_table.py [RUNS_DIR]        (default runs/localgan)

Rel. is the sum of the greedy, average and extrema embedding similarities
(LocalGAN document, section 5.1); Ent-4 in nats.
"""

import json
import pathlib
import statistics
import sys

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from seqvi.data import dialogue  # noqa: E402
from seqvi.models.parts import num_params  # noqa: E402
from seqvi.train import experiment  # noqa: E402
from seqvi.train.logging import read_metrics  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROWS = [("Seq2Seq (256, the adversarial models' start)", ["pretrain_seq2seq256", "pretrain_seq2seq256_seed1"],
         "eval_test.json"),
        ("Seq2Seq (512, the paper's size)", ["seq2seq512"], "eval_test.json"),
        ("Seq2Seq-MMI (256, bidi, 10-best)", ["pretrain_seq2seq256"], "eval_test_mmi.json"),
        ("Adver-REGS", ["adver_regs"], "eval_test.json"),
        ("GAN-AEL", ["gan_ael"], "eval_test.json"),
        ("LocalGAN", ["localgan", "localgan_seed1"], "eval_test.json")]
COLUMNS = [("distinct1", "{:.4f}"), ("distinct2", "{:.4f}"), ("ent4", "{:.3f}"), ("rel", "{:.3f}"),
           ("greedy", "{:.3f}"), ("a_glove", "{:.3f}"), ("extrema", "{:.3f}"), ("bleu1", "{:.3f}")]
ADVERSARIAL = [("localgan", "LocalGAN (seed 0)"), ("localgan_seed1", "LocalGAN (seed 1)"),
               ("gan_ael", "GAN-AEL"), ("adver_regs", "Adver-REGS")]


def _params(wd: pathlib.Path) -> int:
    config = experiment.load_config(wd)
    model = experiment.build_model(config, len(dialogue.Vocabulary.load(wd / "vocab.txt")))
    params = model.init(jax.random.key(0))
    return num_params({k: v for k, v in params.items() if k != "constants"})


def _cell(values: list[float], form: str) -> str:
    if len(values) == 1:
        return form.format(values[0])
    return f"{form.format(statistics.mean(values))} ± {form.format(statistics.stdev(values))}"


def table(root: pathlib.Path) -> None:
    print("| model | params | steps | seeds | test NLL/token | Dist-1 | Dist-2 | Ent4 | Rel. | greedy | average "
          "| extrema | BLEU-1 |")
    print("|" + "---|" * 13)
    for name, runs, file in ROWS:
        results = [(root / r, json.loads((root / r / file).read_text())) for r in runs if (root / r / file).exists()]
        if not results:
            print(f"| {name} | not run |" + " |" * 11)
            continue
        wd = results[0][0]
        config = experiment.load_config(wd)
        cells = [_cell([r[k] for _, r in results], form) for k, form in COLUMNS]
        nll = _cell([r["loss_per_token"] for _, r in results], "{:.3f}")
        print(f"| {name} | {_params(wd)} | {config.num_steps} | {len(results)} | {nll} | " + " | ".join(cells) + " |")


def samples(root: pathlib.Path, count: int = 8) -> None:
    """Test contexts with every model's response (the document's Appendix C style):
    the first ``count`` where LocalGAN's response differs from its starting
    Seq2Seq's (most contexts get the same generic answer from both)."""
    files = {name: root / runs[0] / ("samples_test_mmi.txt" if "mmi" in file else "samples_test.txt")
             for name, runs, file in ROWS}
    parsed = {}
    for name, path in files.items():
        if path.exists():
            blocks = path.read_text().split("\n\n")
            parsed[name] = [b.splitlines() for b in blocks if b.strip()]
    if not parsed:
        return
    answer = lambda name, i: parsed[name][i][2].split(":", 1)[1].strip()  # noqa: E731
    first = next(iter(parsed.values()))
    start, local = ROWS[0][0], ROWS[-1][0]
    chosen = [i for i in range(len(first)) if start in parsed and local in parsed
              and answer(start, i) != answer(local, i)][:count] or list(range(count))
    print(f"{len(chosen)} test contexts where LocalGAN and its start answer differently:")
    for i in chosen:
        print(f"- **{first[i][0].split(':', 1)[1].strip()}** (reference: {first[i][1].split(':', 1)[1].strip()})")
        for name in parsed:
            print(f"  - {name}: {answer(name, i) or '(empty)'}")


def figure(root: pathlib.Path, out: pathlib.Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    for run, label in ADVERSARIAL:
        path = root / run / "metrics.jsonl"
        if not path.exists():
            continue
        rows = [r for r in read_metrics(root / run) if "eval/valid_ent4" in r]
        axes[0].plot([r["step"] for r in rows], [r["eval/valid_ent4"] for r in rows], "o-", label=label, ms=3)
        axes[1].plot([r["step"] for r in rows], [r["eval/valid_loss_per_token"] for r in rows], "o-", label=label,
                     ms=3)
        train = [r for r in read_metrics(root / run) if "train/hinge_active" in r]
        if train:  # LocalGAN's phases (section 4.3): the share of pairs whose hinge acts
            axes[2].plot([r["step"] for r in train], [r["train/hinge_active"] for r in train], label=label)
    axes[0].set(xlabel="adversarial training batches", ylabel="Ent-4 (nats), greedy, 500 valid contexts",
                title="Figure 2: diversity during adversarial training")
    axes[1].set(xlabel="adversarial training batches", ylabel="valid NLL per token", title="likelihood of gold responses")
    axes[2].set(xlabel="adversarial training batches", ylabel="share of pairs with delta-alpha > 0",
                title="LocalGAN's hinge: phase 2 when it acts")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    print(f"\nwrote {out}")


def main() -> None:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "runs/localgan")
    table(root)
    print()
    samples(root)
    figure(root, ROOT / "docs" / "figures" / "localgan_entropy.png")


if __name__ == "__main__":
    main()
