#!/usr/bin/env bash
# GTM-SM on first-person 3-D navigation (thesis, section 7.4.2), in miniworld rooms:
# the rotating agent with its memory, the same without memory, the walking agent,
# then the reports (Figure 7.3, the horizon curves, a GIF per agent) into $FIGURES
# (default RUNS_DIR/figures; FIGURES=docs/figures rewrites the published ones).
#   bash experiments/run_gtmsm_first_person.sh [RUNS_DIR] [RUN ...]
# RUN: rotating rotating_state walking (the default: all, in this order)
set -euo pipefail
runs=${1:-runs/gtmsm_fp}
shift $(( $# < 1 ? $# : 1 ))
py=${PYTHON:-.venv/bin/python}
figures=${FIGURES:-$runs/figures}
todo=("$@")
[ ${#todo[@]} -eq 0 ] && todo=(rotating rotating_state walking)
for run in "${todo[@]}"; do
  $py experiments/train.py --config=experiments/configs/gtmsm_first_person.py:$run --workdir=$runs/$run
done
rotating=() walking=()
for run in "${todo[@]}"; do case $run in rotating*) rotating+=("$runs/$run") ;; walking*) walking+=("$runs/$run") ;; esac; done
[ ${#rotating[@]} -eq 0 ] || $py experiments/gtmsm_report.py "${rotating[@]}" --out "$figures"
[ ${#walking[@]} -eq 0 ] || $py experiments/gtmsm_report.py "${walking[@]}" --out "$figures"
