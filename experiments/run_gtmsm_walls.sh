#!/usr/bin/env bash
# GTM-SM on the thesis's image navigation walks (section 7.4.1), by the curriculum that
# learns the walls (docs/results.md, GTM-SM): 3000 steps on walks that never bump, then
# 4000 with M frozen and sigma_d reading positions in units of the moves, then 3000
# with M free; then the report (R^2, horizon curves, Figure 7.2) into $FIGURES
# (default RUNS_DIR/figures).
#   bash experiments/run_gtmsm_walls.sh [RUNS_DIR]
# EXTRA: flags added after the fixed ones to every training command, so they win (split
# at spaces; a smoke run: EXTRA="--config.num_steps=2 --config.eval_every=2 ...").
set -euo pipefail
runs=${1:-runs/gtmsm_walls}
py=${PYTHON:-.venv/bin/python}
figures=${FIGURES:-$runs/figures}
extra=(${EXTRA:-})
config=experiments/configs/gtmsm.py
walls=(--config.model.wall_whitening=True --config.model.mixture_delta=0.003 --config.kl_anneal_steps=0
       --config.eval_every=1000)
$py experiments/train.py --config=$config --config.navigation.avoid_walls=True --config.num_steps=3000 \
  --config.eval_every=1000 "${extra[@]}" --workdir="$runs/no_bumps"
$py experiments/train.py --config=$config --config.init_from="$runs/no_bumps" "--config.frozen=('transition',)" \
  --config.frozen_steps=100000 --config.num_steps=4000 "${walls[@]}" "${extra[@]}" --workdir="$runs/walls_frozen_m"
$py experiments/train.py --config=$config --config.init_from="$runs/walls_frozen_m" --config.num_steps=3000 \
  "${walls[@]}" "${extra[@]}" --workdir="$runs/walls"
$py experiments/gtmsm_report.py "$runs/walls" --out "$figures"
