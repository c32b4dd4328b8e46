#!/usr/bin/env bash
# Trains VRNN with each of ELBO, IWAE and FIVO on JSB, Nottingham and Piano-midi and
# evaluates ELBO, IWAE(K) and FIVO(K) on each test set; docs/results.md is made from
# the eval_test.json files by experiments/results_table.py.
#   bash experiments/run_results.sh [STEPS] [RUNS_DIR] [DATA_BOUND ...]
# with DATA_BOUND like jsb_fivo (default: all nine, FIVO runs first). Finished runs
# (eval_test.json present) are skipped, so the script can be rerun after a stop.
set -euo pipefail
steps=${1:-4000}
runs=${2:-runs/results}
shift $(( $# < 2 ? $# : 2 ))
py=${PYTHON:-.venv/bin/python}
source "$(dirname "$0")/data_paths.sh"
todo=("$@")
[ ${#todo[@]} -gt 0 ] || todo=(jsb_fivo nottingham_fivo piano_midi_fivo jsb_iwae jsb_elbo \
  nottingham_iwae nottingham_elbo piano_midi_iwae piano_midi_elbo)
for run in "${todo[@]}"; do
  data=${run%_*}
  bound=${run##*_}
  wd=$runs/$run
  [ -f "$wd/eval_test.json" ] && continue
  $py experiments/train.py --config=experiments/configs/vrnn.py:$data --config.bound=$bound $(data_path $data) \
    --config.num_steps=$steps --config.eval_every=$((steps / 4)) --workdir=$wd
  $py experiments/evaluate.py --workdir=$wd --split=test --num_particles=16
done
