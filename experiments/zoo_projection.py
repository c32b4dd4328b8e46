"""Projects the model zoo's test ELBO to larger training budgets.

  bash experiments/run_zoo.sh 3000 runs/zoo                       # the full budget B
  bash experiments/run_zoo.sh 1500 runs/zoo_budget/1500 dmm-jsb   # B/2, B/4, B/8 ...
  python experiments/zoo_projection.py [--fit_max_steps=N] [--figure=PATH] runs/zoo runs/zoo_budget/*

Every run is a complete schedule (warm-up, cosine decay to its own last step, the
validation-best parameters kept), so the test ELBO per step of runs that differ only
in ``num_steps`` traces the final bound as a function of the budget S. Per model and
data set, from the runs of at most ``--fit_max_steps`` steps (default: all), the
script gives two projections:

- log-linear: the gain g of the last doubling of S, carried on,
  f(S) = f(S_max) + g log2(S / S_max);
- saturating: the least-squares fit f(S) = a - b S^(-c) (b > 0, 0.05 <= c <= 3,
  a <= 0 since a Bernoulli log-likelihood is), with a, the bound this recipe and model
  size approach. When c or a ends on a bound of its range, the points do not yet bend
  towards a limit, and a is reported as not identified.

For each it prints f(10 S_max) and the budget at which f reaches the published figure.
Runs above ``--fit_max_steps`` are printed beside the projection made without them,
as a check. The figure (docs/figures/zoo_budget_projection.png by default) shows the
points, both projections and the published figures.
"""

import json
import pathlib
import sys
import warnings

import numpy as np
from scipy import optimize

from results_table import DATA, PUBLISHED, ZOO


def saturating(steps, a, b, c):
    """f(S) = a - b S^(-c)."""
    return a - b * np.power(steps, -c)


C_RANGE = (0.05, 3.0)


def fit_saturating(steps: np.ndarray, values: np.ndarray) -> tuple[float, float, float]:
    """Least-squares (a, b, c) of ``saturating`` through the points, with b > 0,
    c in ``C_RANGE`` and max(values) <= a <= 0; at least three budgets are needed."""
    steps, values = np.asarray(steps, float), np.asarray(values, float)
    if len(np.unique(steps)) < 3:
        raise ValueError(f"the fit needs at least 3 budgets, got {sorted(set(steps.tolist()))}")
    if values.max() >= 0:
        raise ValueError(f"log-likelihood bounds must be negative, got {values.max()}")
    scale = steps.max()
    guess = (values.max() / 2, 0.5, 0.5)
    lower, upper = (values.max(), 1e-9, C_RANGE[0]), (0.0, np.inf, C_RANGE[1])
    with warnings.catch_warnings():  # three points give no covariance; only the estimate is used
        warnings.simplefilter("ignore", optimize.OptimizeWarning)
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


def log_linear(steps: np.ndarray, values: np.ndarray) -> tuple[float, float, float]:
    """(S_max, f(S_max), g): the largest budget, its bound, and the gain per doubling
    of its last step, g = (f(S_max) - f(S_prev)) / log2(S_max / S_prev)."""
    order = np.argsort(steps)
    (s0, s1), (f0, f1) = steps[order][-2:], values[order][-2:]
    return float(s1), float(f1), float((f1 - f0) / np.log2(s1 / s0))


def project(steps: np.ndarray, values: np.ndarray, published: float | None) -> dict:
    """Both projections of the points (see the module docstring): ``log_linear(S)``
    and, with three budgets or more, ``saturating(S)`` (None when the fit is not
    identified), and for each the budget at which it reaches ``published``."""
    s_max, f_max, gain = log_linear(steps, values)
    out = dict(gain=gain, log_linear=lambda s: f_max + gain * np.log2(s / s_max), saturating=None, fit=None)
    reached = published is not None and values.max() >= published
    if published is not None:  # 0: already reached; None: never
        out["log_linear_steps"] = 0.0 if reached else (
            s_max * 2 ** ((published - f_max) / gain) if gain > 0 else None)
    if len(np.unique(steps)) >= 3:
        a, b, c = fit_saturating(steps, values)
        out["fit"] = (a, b, c)
        out["rms"] = float(np.sqrt(np.mean((saturating(steps, a, b, c) - values) ** 2)))
        if C_RANGE[0] * 1.01 < c < C_RANGE[1] * 0.99 and a < -1e-3:  # identified
            out["saturating"] = lambda s: saturating(s, a, b, c)
            if published is not None:
                out["saturating_steps"] = 0.0 if reached else (
                    (b / (a - published)) ** (1 / c) if a > published else None)
    return out


def projection_table(points, fit_max_steps: int | None = None) -> list[dict]:
    """One row per (model, data) in the zoo's order with at least two budgets within
    ``fit_max_steps``: the points, both projections, and the held-out runs."""
    rows = []
    for model, model_name in ZOO:
        for data, data_name in DATA:
            pts = points.get((model, data), [])
            used = [(s, v) for s, v in pts if fit_max_steps is None or s <= fit_max_steps]
            if len(used) < 2:
                continue
            steps, values = map(np.array, zip(*used))
            published = PUBLISHED.get(model, {}).get(data)
            rows.append(dict(model=model, model_name=model_name, data=data, data_name=data_name,
                             steps=steps, values=values, held_out=[p for p in pts if p not in used],
                             published=published, **project(steps, values, published)))
    return rows


def _steps(s: float | None) -> str:
    if s is None:
        return "never"
    return "reached" if s == 0 else f"{s:.2g}"


def print_table(rows: list[dict]) -> None:
    print("| model | data | test ELBO per step (steps) | gain per doubling | log-linear f(10 S_max) | "
          "log-linear steps to published | saturating fit a (c), RMS | saturating f(10 S_max) | "
          "saturating steps to published | published | held out: measured (log-linear, saturating) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ten = 10 * r["steps"].max()
        measured = ", ".join(f"{v:.3f} ({s})" for s, v in zip(r["steps"], r["values"]))
        published = "" if r["published"] is None else f"{r['published']:.2f}"
        cells = [r["model_name"], r["data_name"], measured, f"{r['gain']:.3f}", f"{r['log_linear'](ten):.2f}",
                 "" if r["published"] is None else _steps(r["log_linear_steps"])]
        sat = r["saturating"]
        if r["fit"] is None:
            cells += ["needs 3 budgets", "", ""]
        elif sat is None:
            cells += [f"not identified (a = {r['fit'][0]:.2f}, c = {r['fit'][2]:.2f})", "", ""]
        else:
            cells += [f"{r['fit'][0]:.2f} ({r['fit'][2]:.2f}), {r['rms']:.3f}", f"{sat(ten):.2f}",
                      "" if r["published"] is None else _steps(r["saturating_steps"])]
        held = [f"{v:.3f} ({s}: {r['log_linear'](s):.2f}, " + (f"{sat(s):.2f})" if sat else "-)")
                for s, v in r["held_out"]]
        print("| " + " | ".join(cells + [published, ", ".join(held)]) + " |")


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(DATA), figsize=(4.5 * len(DATA), 3.6))
    for ax, (data, data_name) in zip(axes, DATA):
        for r in (x for x in rows if x["data"] == data):
            color = f"C{[m for m, _ in ZOO].index(r['model'])}"
            ax.plot(r["steps"], r["values"], "o", color=color, label=r["model_name"])
            if r["held_out"]:
                ax.plot(*zip(*r["held_out"]), "s", mfc="none", color=color)
            s_max = r["steps"].max()
            ax.plot([s_max, 10 * s_max], [r["log_linear"](s_max), r["log_linear"](10 * s_max)], "--",
                    color=color, lw=1)
            if r["saturating"] is not None:
                grid = np.geomspace(r["steps"].min(), 10 * s_max, 100)
                ax.plot(grid, r["saturating"](grid), "-", color=color, lw=1)
            if r["published"] is not None:
                ax.axhline(r["published"], color=color, ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_title(data_name)
        ax.set_xlabel("training steps (one full schedule per point)")
        ax.set_ylabel("test ELBO per step (nats)")
        if ax.lines:
            ax.legend(fontsize=7)
    fig.text(0.5, 0.01, "solid: saturating fit; dashed: log-linear; dotted: published; open squares: held out",
             ha="center", fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main(argv: list[str]) -> None:
    options = dict(a.split("=", 1) for a in argv if a.startswith("--"))
    run_dirs = [a for a in argv if not a.startswith("--")]
    unknown = set(options) - {"--fit_max_steps", "--figure"}
    if unknown or not run_dirs:
        raise SystemExit(f"unknown options {sorted(unknown)}\n{__doc__}" if unknown else __doc__)
    fit_max = int(options["--fit_max_steps"]) if "--fit_max_steps" in options else None
    figure = options.get("--figure", "docs/figures/zoo_budget_projection.png")
    rows = projection_table(read_points(run_dirs), fit_max)
    if not rows:
        raise SystemExit(f"no model with two budgets under {run_dirs}")
    print_table(rows)
    plot(rows, figure)
    print(f"\nfigure: {figure}")


if __name__ == "__main__":
    main(sys.argv[1:])
