#!/usr/bin/env bash
# The thesis's Table 5.1 protocol (section 5.4) on the Free Spoken Digit Dataset: trains
# each row of experiments/configs/speech.py and evaluates ELBO, IWAE(16) and FIVO(16)
# on whole test recordings; `python experiments/speech_report.py` makes the table,
# Figure 5.3 and the generated audio for docs/results.md.
#   bash experiments/run_speech.sh [STEPS] [RUNS_DIR] [ROW ...]
# with ROW like srnn_smooth_resq (default: all nine). Finished runs (eval_test.json
# present) are skipped, so the script can be rerun after a stop.
set -euo pipefail
steps=${1:-1200}
runs=${2:-runs/speech}
shift $(( $# < 2 ? $# : 2 ))
py=${PYTHON:-.venv/bin/python}
source "$(dirname "$0")/data_paths.sh"
todo=("$@")
if [ ${#todo[@]} -eq 0 ]; then
  todo=(srnn_smooth_resq vrnn_gauss vrnn_i_gauss rnn_gauss srnn_filt_resq srnn_smooth srnn_filt vrnn_gmm rnn_gmm)
fi
for row in "${todo[@]}"; do
  wd=$runs/$row
  [ -f "$wd/eval_test.json" ] && continue
  $py experiments/train.py --config=experiments/configs/speech.py:$row --config.data_path=$data_dir/speech/fsdd/recordings \
    --config.num_steps=$steps --config.kl_anneal_steps=$((steps * 5 / 12)) --config.eval_every=$((steps / 3)) \
    --config.log_every=100 --workdir=$wd
  $py experiments/evaluate.py --workdir=$wd --split=test --num_particles=16
done
