#!/usr/bin/env bash
# KVAE on a physics environment with its VAE-RNN (thesis, section 4.4.1), VRNN-I and
# DMM baselines, then the imputation comparison and generations of experiments/kvae_impute.py.
#   bash experiments/run_kvae.sh [ENV] [KVAE_STEPS] [BASELINE_STEPS] [RUNS_DIR]
# ENV: box (default), gravity, polygon, pong, pendulum. Runs resume from their
# checkpoints; results go to RUNS_DIR/kvae-ENV/imputation/.
set -euo pipefail
env=${1:-box}
kvae_steps=${2:-8000}
base_steps=${3:-4000}
runs=${4:-runs/kvae}
py=${PYTHON:-.venv/bin/python}
$py experiments/train.py --config=experiments/configs/kvae.py:$env --config.num_steps=$kvae_steps \
  --workdir=$runs/kvae-$env
baselines=()
for model in vae_rnn vrnn_i dmm; do
  $py experiments/train.py --config=experiments/configs/$model.py:physics_$env \
    --config.num_steps=$base_steps --config.eval_every=$((base_steps / 4)) --workdir=$runs/$model-$env
  baselines+=("$runs/$model-$env")
done
for wd in "$runs/kvae-$env" "${baselines[@]}"; do
  [ -f "$wd/eval_test.json" ] || $py experiments/evaluate.py --workdir=$wd --split=test --bounds=elbo
done
lengths=2,4,8,12,16
[ "$env" = pendulum ] && lengths=2,4,6,8,11  # 15 frames, the first 4 observed
$py experiments/kvae_impute.py --workdir=$runs/kvae-$env --baselines="$(IFS=,; echo "${baselines[*]}")" \
  --missing_lengths=$lengths
