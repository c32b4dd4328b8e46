#!/usr/bin/env bash
# LocalGAN's Table 1 on the Cornell re-split: the generator pretrained by MLE
# (Seq2Seq, LSTM 256; a second seed as the Seq2Seq row's spread), LocalGAN (two
# seeds), GAN-AEL and Adver-REGS started from it, Seq2Seq-MMI (the pretrained
# model's 10-best reranked by MMI-bidi with a backward Seq2Seq 256), and the
# Seq2Seq baseline at the paper's 512 (about 25 minutes of training here).
#   bash experiments/run_localgan.sh [RUNS_DIR] [RUN ...]
# RUN: pretrain pretrain_seed1 backward localgan gan_ael adver_regs localgan_seed1
#      mmi seq2seq512 (the default: all, in this order)
# `python experiments/localgan_table.py RUNS_DIR` makes the table and Figure 2.
# Finished trainings resume to their end at once; finished evaluations are skipped.
set -euo pipefail
runs=${1:-runs/localgan}
shift $(( $# < 1 ? $# : 1 ))
py=${PYTHON:-.venv/bin/python}
source "$(dirname "$0")/data_paths.sh"
data=(--config.data_path=$data_dir/cornell_parlai_partial)
todo=("$@")
[ ${#todo[@]} -eq 0 ] && todo=(pretrain pretrain_seed1 backward localgan gan_ael adver_regs localgan_seed1 mmi seq2seq512)
seq2seq=experiments/configs/seq2seq.py:cornell
gan=experiments/configs/localgan.py:cornell
for run in "${todo[@]}"; do
  case $run in
    pretrain) wd=$runs/pretrain_seq2seq256; args=(--config=$seq2seq --config.model.hidden_dim=256) ;;
    pretrain_seed1) wd=$runs/pretrain_seq2seq256_seed1; args=(--config=$seq2seq --config.model.hidden_dim=256 --config.seed=1) ;;
    backward) wd=$runs/backward_seq2seq256; args=(--config=$seq2seq --config.model.hidden_dim=256 --config.swap_pairs=True) ;;
    seq2seq512) wd=$runs/seq2seq512; args=(--config=$seq2seq --config.model.hidden_dim=512) ;;
    localgan) wd=$runs/localgan; args=(--config=$gan --config.init_from=$runs/pretrain_seq2seq256) ;;
    localgan_seed1) wd=$runs/localgan_seed1; args=(--config=$gan --config.init_from=$runs/pretrain_seq2seq256 --config.seed=1) ;;
    gan_ael|adver_regs) wd=$runs/$run; args=(--config=$gan,$run --config.init_from=$runs/pretrain_seq2seq256) ;;
    mmi)
      [ -f "$runs/pretrain_seq2seq256/eval_test_mmi.json" ] || $py experiments/evaluate.py --workdir=$runs/pretrain_seq2seq256 \
        --split=test --method=mmi --beam_size=10 --backward=$runs/backward_seq2seq256 --tag=mmi --show=0
      continue ;;
    *) echo "unknown run $run" >&2; exit 2 ;;
  esac
  $py experiments/train.py "${args[@]}" "${data[@]}" --workdir=$wd
  [ "$run" = backward ] && continue
  [ -f "$wd/eval_test.json" ] || $py experiments/evaluate.py --workdir=$wd --split=test --method=greedy --show=0
done
