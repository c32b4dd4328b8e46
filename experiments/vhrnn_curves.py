"""The VHRNN paper's parameter-performance curves (section 5, Figure 5a-b; the GRU
variant of appendix D, Figure 9): VRNN and VHRNN at several latent sizes on JSB
and Piano-midi, each trained with FIVO(4), batch 4 (the paper's appendix), its
best parameters by validation FIVO(16) evaluated with FIVO(128) on the test split.

  python experiments/vhrnn_curves.py --runs_dir=runs/vhrnn_curves --jobs=2
  python experiments/vhrnn_curves.py --runs_dir=runs/vhrnn_curves --only='jsb-*-gru-*'
  python experiments/vhrnn_curves.py --runs_dir=runs/vhrnn_curves --report

As in the paper, the RNN's hidden state has the latent size d (rnn_dim = d) and so
do phi_x, phi_z and the heads' hidden layers (hidden_dim = d); the VHRNN's
hypernetwork LSTM theta has d units and omega one hidden layer of 64. Runs whose
test evaluation exists are skipped and an interrupted training resumes from its
checkpoint, so a killed sweep resumes; a run stopped by ``--train_timeout`` counts
as finished (the table gives the steps each run reached). With ``--jobs`` > 1 XLA's
CPU thread pool is turned off in each run. ``--report`` prints the table, each
VHRNN point against the VRNN curve at its parameter count, and draws
docs/figures/vhrnn_curves_<data set>_<cell>.png (FIVO per step against
parameters, the latent size beside each point).
"""

import fnmatch
import json
import os
import pathlib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np
from absl import app, flags

from seqvi.train import cli

_RUNS = flags.DEFINE_string("runs_dir", "runs/vhrnn_curves", "Where each run's workdir goes.")
_ONLY = flags.DEFINE_list("only", ["*"], "Run names (globs) to train, e.g. 'jsb-*-lstm-*'.")
_JOBS = flags.DEFINE_integer("jobs", 1, "Runs trained at once (one CPU thread each when > 1).", lower_bound=1)
_STEPS = flags.DEFINE_integer("steps", 5000, "Training steps per run.", lower_bound=1)
_EVAL_EVERY = flags.DEFINE_integer("eval_every", 1000, "Validation FIVO(16) every this many steps (best kept).", lower_bound=1)
_PARTICLES = flags.DEFINE_integer("num_particles", 128, "K of the test FIVO(K).", lower_bound=1)
_TRAIN_TIMEOUT = flags.DEFINE_integer(
    "train_timeout", 0, "Seconds after which a run's training is stopped (its best checkpoint is then "
    "evaluated and the steps it reached recorded); 0: none.")
_DATA = flags.DEFINE_string("data_dir", os.environ.get("SEQVI_DATA", "../shared/data"),
                            "Folder holding polyphonic/Piano_midi.mat (JSB is embedded).")
_SET = flags.DEFINE_multi_string("set", [], "Extra config overrides FIELD=VALUE for every run.")
_REPORT = flags.DEFINE_bool("report", False, "Print the table and draw the figures instead of training.")
_FIGURES = flags.DEFINE_string("figures", "docs/figures", "Where --report writes its figures.")
_PYTHON = flags.DEFINE_string("python", sys.executable, "The Python that runs train.py and evaluate.py.")

VRNN_SIZES = (16, 24, 32, 40)
VHRNN_SIZES = (4, 8, 14, 20)
CURVES = (("jsb", "lstm"), ("piano_midi", "lstm"), ("jsb", "gru"))


def run_names() -> list[str]:
    """'<data set>-<model>-<cell>-<latent size>' for every point of every curve."""
    return [f"{data}-{model}-{cell}-{d}" for data, cell in CURVES
            for model, sizes in (("vrnn", VRNN_SIZES), ("vhrnn", VHRNN_SIZES)) for d in sizes]


def train_args(name: str) -> list[str]:
    """train.py's flags for a run name (workdir excluded)."""
    data, model, cell, d = name.split("-")
    args = [f"--config=experiments/configs/{model}.py:{data}",
            f"--config.model.latent_dim={d}", f"--config.model.rnn_dim={d}", f"--config.model.hidden_dim={d}",
            f"--config.model.cell_type={cell}",
            f"--config.num_steps={_STEPS.value}", f"--config.eval_every={_EVAL_EVERY.value}",
            f"--config.checkpoint_every={_EVAL_EVERY.value}"]
    if model == "vhrnn":
        args.append(f"--config.model.hyper_dim={d}")
    if data == "piano_midi":
        args.append(f"--config.data_path={_DATA.value}/polyphonic/Piano_midi.mat")
    return args + [f"--config.{s}" for s in _SET.value]


def train_and_evaluate(name: str) -> str:
    """Train one run (unless its test evaluation exists), then FIVO(K) on test."""
    wd = pathlib.Path(_RUNS.value) / name
    if (wd / "eval_test.json").exists():
        return f"{name}: done before"
    wd.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if _JOBS.value > 1:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
    start = time.time()
    with open(wd / "log.txt", "a") as log:
        train = [_PYTHON.value, "experiments/train.py", *train_args(name), f"--workdir={wd}"]
        try:
            subprocess.run(train, stdout=log, stderr=subprocess.STDOUT, env=env, check=True,
                           timeout=_TRAIN_TIMEOUT.value or None)
        except subprocess.TimeoutExpired:
            print(f"{name}: training stopped after {_TRAIN_TIMEOUT.value} s", file=log, flush=True)
        except subprocess.CalledProcessError as e:
            return f"{name}: training failed ({e.returncode}); see {wd / 'log.txt'}"
        if not (wd / "best.json").exists():
            return f"{name}: no validated checkpoint; see {wd / 'log.txt'}"
        evaluate = [_PYTHON.value, "experiments/evaluate.py", f"--workdir={wd}", "--split=test", "--bounds=fivo",
                    f"--num_particles={_PARTICLES.value}", "--batch_size=8"]
        result = subprocess.run(evaluate, stdout=log, stderr=subprocess.STDOUT, env=env)
    took = time.time() - start
    if result.returncode:
        return f"{name}: evaluation failed ({result.returncode}); see {wd / 'log.txt'}"
    per_step = json.loads((wd / "eval_test.json").read_text())["results"][0]["per_step"]
    reached = steps_trained(wd)
    stopped = f" (stopped at step {reached} of {_STEPS.value})" if reached < _STEPS.value else ""
    return f"{name}: test FIVO({_PARTICLES.value}) {per_step:.3f} per step{stopped}, {took:.0f} s"


def train_and_evaluate_safely(name: str) -> str:
    """``train_and_evaluate``, with an unexpected error reported as the run's line."""
    try:
        return train_and_evaluate(name)
    except Exception as e:  # noqa: BLE001 (one run's failure must not hide the others' results)
        return f"{name}: error {type(e).__name__}: {e}"


def steps_trained(wd: pathlib.Path) -> int:
    """The last step in the run's metrics (what a stopped run reached)."""
    lines = (wd / "metrics.jsonl").read_text().splitlines() if (wd / "metrics.jsonl").exists() else []
    return max((json.loads(line).get("step", 0) for line in lines), default=0)


def collect(runs_dir: pathlib.Path) -> list[dict]:
    """One row per evaluated run: name parts, parameters, steps, best step, test FIVO."""
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from results_table import read_run  # noqa: E402 (the experiments folder's helper)

    rows = []
    for name in run_names():
        wd = runs_dir / name
        if not (wd / "eval_test.json").exists():
            continue
        config, size, results = read_run(wd)
        data, model, cell, d = name.split("-")
        best = json.loads((wd / "best.json").read_text())
        rows.append(dict(name=name, data=data, model=model, cell=cell, latent=int(d), params=size,
                         steps=steps_trained(wd), best_step=best.get("step"), fivo=results["fivo"]["per_step"],
                         k=results["fivo"]["num_particles"]))
    return rows


def matched(rows: list[dict]) -> list[dict]:
    """Each VHRNN point against the VRNN curve of its data set and cell at the same
    parameter count: linear in log(parameters) between the two VRNN sizes around
    it (points outside the VRNN sizes' range are left out). Where the VRNN's
    FIVO rises concavely with log size, the chord lies below the curve and the
    gain is overstated by up to the chord's gap; the VRNN points' own figures
    bound it."""
    out = []
    for r in rows:
        if r["model"] != "vhrnn":
            continue
        curve = sorted((v["params"], v["fivo"]) for v in rows
                       if v["model"] == "vrnn" and (v["data"], v["cell"]) == (r["data"], r["cell"]))
        if len(curve) < 2 or not curve[0][0] <= r["params"] <= curve[-1][0]:
            continue
        vrnn = float(np.interp(np.log(r["params"]), np.log([c[0] for c in curve]), [c[1] for c in curve]))
        below = max((c for c in curve if c[0] <= r["params"]), key=lambda c: c[0])
        above = min((c for c in curve if c[0] >= r["params"]), key=lambda c: c[0])
        out.append(dict(r, vrnn=vrnn, gain=r["fivo"] - vrnn, beats_both=r["fivo"] > max(below[1], above[1])))
    return out


def report(runs_dir: pathlib.Path, figures: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = collect(runs_dir)
    if not rows:
        raise app.UsageError(f"no evaluated runs under {runs_dir}")
    print("| data | cell | model | latent | params | steps (best at) | test FIVO(K) per step | K |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['data']} | {r['cell'].upper()} | {r['model'].upper()} | {r['latent']} | {r['params']} | "
              f"{r['steps']} ({r['best_step']}) | {r['fivo']:.3f} | {r['k']} |")
    print()
    print("| data | cell | VHRNN latent | params | VHRNN | VRNN at these parameters (interpolated) | VHRNN - VRNN | "
          "above both VRNN neighbours |")
    print("|---|---|---|---|---|---|---|---|")
    for r in matched(rows):
        print(f"| {r['data']} | {r['cell'].upper()} | {r['latent']} | {r['params']} | {r['fivo']:.3f} | "
              f"{r['vrnn']:.3f} | {r['gain']:+.3f} | {'yes' if r['beats_both'] else 'no'} |")
    figures.mkdir(parents=True, exist_ok=True)
    for data, cell in CURVES:
        curve = [r for r in rows if r["data"] == data and r["cell"] == cell]
        if not curve:
            continue
        fig, ax = plt.subplots(figsize=(5, 3.6))
        for model, colour in (("vrnn", "tab:blue"), ("vhrnn", "tab:red")):
            points = sorted((r["params"], r["fivo"], r["latent"]) for r in curve if r["model"] == model)
            if not points:
                continue
            ax.plot([p[0] for p in points], [p[1] for p in points], "o-", color=colour, label=model.upper())
            for size, fivo, latent in points:
                ax.annotate(str(latent), (size, fivo), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xlabel("parameters")
        ax.set_ylabel(f"test FIVO({curve[0]['k']}) per step (nats)")
        ax.set_title(f"{'JSB' if data == 'jsb' else 'Piano-midi'}, {cell.upper()}")
        ax.legend()
        fig.tight_layout()
        path = figures / f"vhrnn_curves_{data}_{cell}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        print(f"figure: {path}")


def main(argv):
    del argv
    runs_dir = pathlib.Path(_RUNS.value)
    if _REPORT.value:
        report(runs_dir, pathlib.Path(_FIGURES.value))
        return
    names = [n for n in run_names() if any(fnmatch.fnmatch(n, pattern) for pattern in _ONLY.value)]
    if not names:
        raise app.UsageError(f"--only={','.join(_ONLY.value)} matches none of {run_names()}")
    print(f"{len(names)} runs, {_JOBS.value} at a time, {_STEPS.value} steps each, into {runs_dir}", flush=True)
    with ThreadPoolExecutor(_JOBS.value) as pool:
        for done in as_completed([pool.submit(train_and_evaluate_safely, name) for name in names]):
            print(done.result(), flush=True)


if __name__ == "__main__":
    cli.run(main)
