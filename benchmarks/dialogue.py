"""The dialogue train steps of LocalGAN's Table 1 on Cornell (the configs of
experiments/configs/seq2seq.py:cornell and localgan.py:cornell: vocabulary 8000,
contexts of 20 tokens, responses of 20 + <eos>, batch 32), timed on the real
training batches the runs read, one jitted ``Trainer.step`` each:

  dialogue_seq2seq<H>_buckets  Seq2Seq (LSTM H = 256, 512): length-bucketed batches
      (``DialogueSchedule(length_multiple=7)``: runs of 8 batches sorted by response
      length, responses trimmed to a multiple of 7 steps; Cornell's responses fill
      about half of their 21 steps) against full-shape batches (peer). Seconds per
      step averaged over the same 64 steps (the better of two passes), after every
      shape has compiled.
  dialogue_output_layer        the Seq2Seq 256 step with a vocabulary of 2000 against
      8000 (peer; full-shape batches): how much of the step the output layer and
      its softmax over the vocabulary take.
  dialogue_<model>_step        LocalGAN, GAN-AEL and Adver-REGS (both players in one
      step; full-shape batches, as their configs train) against the Seq2Seq 256 step
      (peer): the cost of the adversarial step relative to MLE.

  python benchmarks/dialogue.py [--quick] [--out_dir=DIR] [--data_dir=DIR]
"""

import importlib.util
import pathlib
import sys
import time

import jax
from absl import app, flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402
from common import FLAGS  # noqa: E402

from seqvi.train import experiment  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
flags.DEFINE_string("data_dir", str(ROOT.parent / "shared" / "data" / "cornell_parlai_partial"),
                    "The ParlAI Cornell folder.")


def _config(file: str, argument: str, **overrides):
    spec = importlib.util.spec_from_file_location("config", ROOT / "experiments" / "configs" / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    c = module.get_config(argument)
    c.data_path = FLAGS.data_dir
    for key, value in overrides.items():
        target, _, leaf = key.rpartition(".")
        (c[target] if target else c)[leaf] = value
    if FLAGS.quick:
        c.model.hidden_dim, c.model.embed_dim, c.vocab_size = 16, 8, 200
        if "dbm_hidden" in c.model:
            c.model.dbm_hidden, c.model.word_dim = (8, 8), 8
    return c


def seconds_per_step(config, steps: int) -> float:
    """Seconds per step over the run's batches 0..steps-1: the better of two passes'
    means, after one pass that compiles every shape."""
    run = experiment.prepare(config)
    trainer = run.trainer
    state = trainer.init_state(run.params)
    batches = [run.batch_at(s) for s in range(steps)]
    for batch in batches:  # compile each shape, warm up
        state, _ = trainer.step(state, batch)
    jax.block_until_ready(state)
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        for batch in batches:
            state, _ = trainer.step(state, batch)
        jax.block_until_ready(state)
        best = min(best, (time.perf_counter() - start) / steps)
    trainer.close()
    return best


def main(argv):
    del argv
    print(f"device: {common.device()}", flush=True)
    steps = 4 if FLAGS.quick else 64
    rows = []

    def add(name, ours, peer_name, peer, **sizes):
        r = common.row(name, ours, peer_name, peer, steps=steps, steps_per_second=round(1 / ours, 2),
                       peer_steps_per_second=round(1 / peer, 2), **sizes)
        common.print_row(r)
        rows.append(r)

    seq2seq = {}
    for hidden in (256, 512):
        fixed = seconds_per_step(_config("seq2seq.py", "cornell", **{"model.hidden_dim": hidden,
                                                                     "length_bucket": 0}), steps)
        buckets = seconds_per_step(_config("seq2seq.py", "cornell", **{"model.hidden_dim": hidden,
                                                                       "length_bucket": 7}), steps)
        seq2seq[hidden] = fixed
        add(f"dialogue_seq2seq{hidden}_buckets", buckets, "full-shape batches", fixed, hidden=hidden, batch=32)
    small = seconds_per_step(_config("seq2seq.py", "cornell", **{"model.hidden_dim": 256, "length_bucket": 0,
                                                                 "vocab_size": 2000}), steps)
    add("dialogue_output_layer", small, "vocabulary 8000", seq2seq[256], hidden=256, vocabulary=2000)
    for variant in ("", "gan_ael", "adver_regs"):
        name = variant or "localgan"
        t = seconds_per_step(_config("localgan.py", f"cornell,{variant}" if variant else "cornell"), steps)
        add(f"dialogue_{name}_step", t, "Seq2Seq 256 step", seq2seq[256], hidden=256, batch=32)
    print(f"wrote {common.write('dialogue', rows, FLAGS.out_dir)}")


if __name__ == "__main__":
    app.run(main)
