#!/usr/bin/env bash
# Trains the model zoo (SRNN, DMM, VAE-RNN, VRNN-I, VRAE, VOSP) with each config's default
# bound on JSB, Nottingham and Piano-midi and evaluates ELBO, IWAE(16) and FIVO(16)
# (where it applies) on each test set; `python experiments/results_table.py --zoo`
# makes the table for docs/results.md.
#   bash experiments/run_zoo.sh [STEPS] [RUNS_DIR] [MODEL-DATA ...]
# with MODEL-DATA like srnn-jsb (default: all eighteen). Finished runs (eval_test.json
# present) are skipped, so the script can be rerun after a stop.
set -euo pipefail
steps=${1:-3000}
runs=${2:-runs/zoo}
shift $(( $# < 2 ? $# : 2 ))
py=${PYTHON:-.venv/bin/python}
source "$(dirname "$0")/data_paths.sh"
todo=("$@")
if [ ${#todo[@]} -eq 0 ]; then
  for model in srnn dmm vae_rnn vrnn_i vrae vosp; do
    for data in jsb nottingham piano_midi; do todo+=("$model-$data"); done
  done
fi
for run in "${todo[@]}"; do
  model=${run%-*}
  data=${run#*-}
  wd=$runs/$run
  [ -f "$wd/eval_test.json" ] && continue
  $py experiments/train.py --config=experiments/configs/$model.py:$data $(data_path $data) \
    --config.num_steps=$steps --config.eval_every=$((steps / 4)) --workdir=$wd
  $py experiments/evaluate.py --workdir=$wd --split=test --num_particles=16
done
