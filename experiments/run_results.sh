#!/usr/bin/env bash
# Trains VRNN with each of ELBO, IWAE and FIVO on JSB, Nottingham and Piano-midi and
# evaluates ELBO, IWAE(K) and FIVO(K) on each test set; docs/results.md is made from
# the eval_test.json files by experiments/results_table.py.
#   bash experiments/run_results.sh [STEPS] [RUNS_DIR]
set -euo pipefail
steps=${1:-4000}
runs=${2:-runs/results}
py=${PYTHON:-.venv/bin/python}
for data in jsb nottingham piano_midi; do
  for bound in fivo iwae elbo; do
    wd=$runs/${data}_${bound}
    $py experiments/train.py --config=experiments/configs/vrnn.py:$data --config.bound=$bound \
      --config.num_steps=$steps --config.eval_every=$((steps / 4)) --workdir=$wd
    $py experiments/evaluate.py --workdir=$wd --split=test --num_particles=16
  done
done
