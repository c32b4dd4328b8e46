#!/usr/bin/env bash
# The VHRNN paper's synthetic experiments: VRNN (z = 8 and z = 6) and VHRNN
# (z = 4; hidden size = latent size) trained with FIVO(4), batch 4, plus the
# hyper-input ablation (VHRNN whose hypernetworks see z_t only or h_{t-1} only);
# each evaluated with FIVO(1024) on the test split and the six test settings;
# and the JSB comparison at matched parameter counts (VRNN with 48 units, 52k
# parameters; VHRNN, 56k), evaluated with FIVO(128) on the JSB test split.
#   bash experiments/run_vhrnn.sh [STEPS] [RUNS_DIR] [RUN ...]
# RUN: vrnn_z8 vrnn_z6 vhrnn_z4 vhrnn_z4_latent vhrnn_z4_hidden (the default)
#      vrnn_z8_paper vrnn_z6_paper vhrnn_z4_paper (Table 1 at the paper's sizes:
#      2662 / 1466 / 1570 parameters against its 2612 / 1516 / 1568; the widths of
#      phi_x, phi_z and the heads are 14 / 10 / 6, omega's hidden layer 16)
#      vrnn_jsb vhrnn_jsb (STEPS applies to these too).
# `python experiments/results_table.py --vhrnn RUNS_DIR` makes the tables and
# `experiments/diagnose.py` the figures. Finished evaluations are skipped.
set -euo pipefail
steps=${1:-3000}
runs=${2:-runs/vhrnn}
shift $(( $# < 2 ? $# : 2 ))
py=${PYTHON:-.venv/bin/python}
todo=("$@")
[ ${#todo[@]} -eq 0 ] && todo=(vrnn_z8 vrnn_z6 vhrnn_z4 vhrnn_z4_latent vhrnn_z4_hidden)
for run in "${todo[@]}"; do
  case $run in
    vrnn_z8) args=(--config=experiments/configs/vrnn.py:synthetic) ;;
    vrnn_z6) args=(--config=experiments/configs/vrnn.py:synthetic --config.model.latent_dim=6 --config.model.rnn_dim=6) ;;
    vhrnn_z4) args=(--config=experiments/configs/vhrnn.py) ;;
    vhrnn_z4_latent) args=(--config=experiments/configs/vhrnn.py --config.model.hyper_input=latent) ;;
    vhrnn_z4_hidden) args=(--config=experiments/configs/vhrnn.py --config.model.hyper_input=hidden) ;;
    vrnn_z8_paper) args=(--config=experiments/configs/vrnn.py:synthetic --config.model.hidden_dim=14) ;;
    vrnn_z6_paper) args=(--config=experiments/configs/vrnn.py:synthetic --config.model.latent_dim=6 --config.model.rnn_dim=6
                         --config.model.hidden_dim=10) ;;
    vhrnn_z4_paper) args=(--config=experiments/configs/vhrnn.py --config.model.hidden_dim=6 --config.model.omega_hidden=16) ;;
    vrnn_jsb) args=(--config=experiments/configs/vrnn.py:jsb --config.model.rnn_dim=48 --config.model.hidden_dim=48) ;;
    vhrnn_jsb) args=(--config=experiments/configs/vhrnn.py:jsb) ;;
    *) echo "unknown run $run" >&2; exit 2 ;;
  esac
  wd=$runs/$run
  $py experiments/train.py "${args[@]}" --config.num_steps=$steps --workdir=$wd
  case $run in
    *jsb) splits=(test); particles=128 ;;
    *) splits=(test noiseless switch rand long zero_shot add); particles=1024 ;;
  esac
  for split in "${splits[@]}"; do
    [ -f "$wd/eval_$split.json" ] && continue
    $py experiments/evaluate.py --workdir=$wd --split=$split --bounds=fivo --num_particles=$particles --batch_size=20
  done
done
