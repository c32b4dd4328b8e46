#!/usr/bin/env bash
# The VMED paper's Cornell comparison on our re-split: the baselines and VMED with
# K = 1..4 modes, each trained with experiments/train.py at its config's
# Cornell defaults, then scored on the test split with evaluate.py:
# greedy decoding for the deterministic models; for the latent-variable ones
# (CVAE, VLSTM, VMED) 10 responses per context, each from its own latent draw
# decoded greedily, every score averaged over the 10.
#   bash experiments/run_dialogue.sh [RUNS_DIR] [RUN ...]
# RUN: seq2seq seq2seq_attention dnc cvae vlstm vmed_k1 vmed_k2 vmed_k3 vmed_k4
#      (the default: all of them), and vmed_k4_elbo vmed_k4_iwae vmed_k4_fivo:
#      VMED's decoder as a StepModel (the exact mixture prior) trained with the
#      ELBO, IWAE(4) or FIVO(4), beyond the paper, at half the budget (1500 steps;
#      particles cost about four times the ELBO's step).
# `python experiments/results_table.py --dialogue RUNS_DIR` makes the table.
# Finished trainings resume to their end at once; finished evaluations are skipped.
set -euo pipefail
runs=${1:-runs/dialogue}
shift $(( $# < 1 ? $# : 1 ))
py=${PYTHON:-.venv/bin/python}
source "$(dirname "$0")/data_paths.sh"
todo=("$@")
[ ${#todo[@]} -eq 0 ] && todo=(seq2seq seq2seq_attention dnc cvae vlstm vmed_k1 vmed_k2 vmed_k3 vmed_k4)
for run in "${todo[@]}"; do
  case $run in
    seq2seq) args=(--config=experiments/configs/seq2seq.py:cornell) ;;
    seq2seq_attention) args=(--config=experiments/configs/seq2seq.py:cornell,attention) ;;
    dnc) args=(--config=experiments/configs/vmed.py:cornell,dnc) ;;
    cvae) args=(--config=experiments/configs/cvae.py:cornell) ;;
    vlstm) args=(--config=experiments/configs/cvae.py:cornell,vlstm) ;;
    vmed_k[1-4]) args=(--config=experiments/configs/vmed.py:cornell --config.model.num_reads=${run#vmed_k}) ;;
    vmed_k4_elbo|vmed_k4_iwae|vmed_k4_fivo)
      args=(--config=experiments/configs/vmed.py:cornell --config.bound=${run##*_} --config.num_steps=1500) ;;
    *) echo "unknown run $run" >&2; exit 2 ;;
  esac
  wd=$runs/$run
  $py experiments/train.py "${args[@]}" --config.data_path=$data_dir/cornell_parlai_partial \
    --workdir=$wd
  [ -f "$wd/eval_test.json" ] && continue
  case $run in
    seq2seq*|dnc) eval=(--method=greedy) ;;
    *) eval=(--method=sample --temperature=0 --num_samples=10) ;;
  esac
  $py experiments/evaluate.py --workdir=$wd --split=test "${eval[@]}" --show=0
done
