"""Projects the model zoo's test ELBO to larger training budgets.

  bash experiments/run_zoo.sh 3000 runs/zoo                       # the full budget B
  bash experiments/run_zoo.sh 1500 runs/zoo_budget/1500 dmm-jsb   # B/2, B/4, B/8 ...
  python experiments/zoo_projection.py runs/zoo runs/zoo_budget/*

Every run is a complete schedule (warm-up, cosine decay to its own last step, the
validation-best parameters kept), so the test ELBO per step of runs that differ only
in ``num_steps`` traces the final bound as a function of the budget S. Per model and
data set the script fits the saturating power law

    f(S) = a - b * S^(-c),    b > 0, c > 0,

by least squares to those points and prints a (the bound this recipe and model size
approach), f(10 S_max), and the budget at which f reaches the published figure,
S* = (b / (a - published))^(1/c), when a lies above it. The figure
docs/figures/zoo_budget_projection.png shows the points, the fits and the
published figures.
"""

import json
import pathlib
import sys

import numpy as np
from scipy import optimize

from results_table import DATA, PUBLISHED, ZOO


def saturating(steps, a, b, c):
    """f(S) = a - b S^(-c)."""
    return a - b * np.power(steps, -c)


def fit_saturating(steps: np.ndarray, values: np.ndarray) -> tuple[float, float, float]:
    """Least-squares (a, b, c) of ``saturating`` through the points, with b > 0 and
    0.05 <= c <= 3; at least three budgets are needed."""
    steps, values = np.asarray(steps, float), np.asarray(values, float)
    if len(np.unique(steps)) < 3:
        raise ValueError(f"the fit needs at least 3 budgets, got {sorted(set(steps.tolist()))}")
    scale = steps.max()
    guess = (values.max() + 0.5, 0.5, 0.5)
    lower, upper = (values.max() - 1e-6, 1e-9, 0.05), (np.inf, np.inf, 3.0)
    (a, b, c), _ = optimize.curve_fit(saturating, steps / scale, values, p0=guess, bounds=(lower, upper),
                                      maxfev=20000)
    return float(a), float(b * scale**c), float(c)


def read_points(run_dirs: list[str]) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """(model, data) -> [(num_steps, test ELBO per step)] from every ``<dir>/<model>-<data>``
    with an ``eval_test.json``."""
    points: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for root in map(pathlib.Path, run_dirs):
        for path in sorted(root.glob("*-*/eval_test.json")):
            model, data = path.parent.name.split("-", 1)
            steps = json.loads((path.parent / "config.json").read_text())["num_steps"]
            elbo = next(r for r in json.loads(path.read_text())["results"] if r["bound"] == "elbo")
            points.setdefault((model, data), []).append((int(steps), float(elbo["per_step"])))
    return {k: sorted(v) for k, v in points.items()}


def projection_table(points) -> list[dict]:
    """One row per (model, data) in the zoo's order: the points, the fit, and the
    projections (None where fewer than 3 budgets were run)."""
    rows = []
    for model, model_name in ZOO:
        for data, data_name in DATA:
            pts = points.get((model, data))
            if not pts:
                continue
            steps, values = map(np.array, zip(*pts))
            row = dict(model=model, model_name=model_name, data=data, data_name=data_name, steps=steps,
                       values=values, published=PUBLISHED.get(model, {}).get(data), fit=None)
            if len(np.unique(steps)) >= 3:
                a, b, c = fit_saturating(steps, values)
                row["fit"] = (a, b, c)
                row["rms"] = float(np.sqrt(np.mean((saturating(steps, a, b, c) - values) ** 2)))
                row["at_10x"] = float(saturating(10 * steps.max(), a, b, c))
                pub = row["published"]
                row["steps_to_published"] = (b / (a - pub)) ** (1 / c) if pub is not None and a > pub else None
            rows.append(row)
    return rows


def print_table(rows: list[dict]) -> None:
    print("| model | data | test ELBO per step at budgets (steps) | fit a - b S^-c: a, c | fit RMS | "
          "f(10 S_max) | published | steps to reach it |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        measured = ", ".join(f"{v:.3f} ({s})" for s, v in zip(r["steps"], r["values"]))
        published = "" if r["published"] is None else f"{r['published']:.2f}"
        if r["fit"] is None:
            print(f"| {r['model_name']} | {r['data_name']} | {measured} | needs 3 budgets | | | {published} | |")
            continue
        a, _, c = r["fit"]
        if r["published"] is None:
            reach = ""
        elif r["steps_to_published"] is None:
            reach = "never (a is below it)"
        elif r["steps_to_published"] <= r["steps"].max():
            reach = "reached"
        else:
            reach = f"{r['steps_to_published']:.2g}"
        print(f"| {r['model_name']} | {r['data_name']} | {measured} | {a:.2f}, {c:.2f} | {r['rms']:.3f} | "
              f"{r['at_10x']:.2f} | {published} | {reach} |")


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(DATA), figsize=(4.5 * len(DATA), 3.4))
    for ax, (data, data_name) in zip(axes, DATA):
        for i, r in enumerate(x for x in rows if x["data"] == data):
            color = f"C{i}"
            ax.plot(r["steps"], r["values"], "o", color=color, label=r["model_name"])
            if r["fit"] is not None:
                grid = np.geomspace(r["steps"].min(), 10 * r["steps"].max(), 100)
                ax.plot(grid, saturating(grid, *r["fit"]), "-", color=color, lw=1)
            if r["published"] is not None:
                ax.axhline(r["published"], color=color, ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_title(f"{data_name} (dotted: published)")
        ax.set_xlabel("training steps (one full schedule per point)")
        ax.set_ylabel("test ELBO per step (nats)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main(run_dirs: list[str], figure: str = "docs/figures/zoo_budget_projection.png") -> None:
    if not run_dirs:
        raise SystemExit(__doc__)
    rows = projection_table(read_points(run_dirs))
    if not rows:
        raise SystemExit(f"no <model>-<data>/eval_test.json under {run_dirs}")
    print_table(rows)
    plot(rows, figure)
    print(f"\nfigure: {figure}")


if __name__ == "__main__":
    args = sys.argv[1:]
    figure_args = [a for a in args if a.startswith("--figure=")]
    main([a for a in args if a not in figure_args],
         *(a.split("=", 1)[1] for a in figure_args[:1]))
