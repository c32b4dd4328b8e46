"""The training loop and the periodic evaluation of the `make demo` run
(VRNN, FIVO(4), batch 4, on the embedded JSB chorales), before and after the
one-pipeline change, in one run:

  demo_loop_steps_per_second  ``Trainer.fit`` reads its metrics (and the NaN/Inf
      guard) only at log, evaluation and checkpoint steps, so the host queues the
      next step while the device runs this one. Peer: the loop as it was, which
      read ``bool(metrics['finite'])`` after every step (a host synchronisation
      per step). Same compiled step, same batches; 'seconds' is per step.

  periodic_evaluation  One periodic evaluation (FIVO(16) on the validation
      chorales, batch 16) as the training loop calls it the second time:
      ``seqvi.train.evaluate`` compiles the objective's evaluation once and reuses
      it. Peer: the evaluation as it was, which wrapped a fresh lambda in
      ``jax.jit`` on every call and so traced and compiled again every time.

  python benchmarks/pipeline.py [--quick] [--out_dir=DIR]
"""

import pathlib
import sys
import time

import jax
import numpy as np
from absl import app

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402
from common import FLAGS  # noqa: E402

from seqvi import bounds  # noqa: E402
from seqvi.data.batching import eval_batches  # noqa: E402
from seqvi.train import experiment  # noqa: E402
from seqvi.train.evaluation import evaluate  # noqa: E402


def demo_run():
    import importlib.util

    spec = importlib.util.spec_from_file_location("vrnn_config", pathlib.Path(__file__).parents[1]
                                                  / "experiments" / "configs" / "vrnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return experiment.prepare(module.get_config("jsb"))


def loop_seconds_per_step(run, num_steps: int, sync_every_step: bool) -> float:
    """Seconds per step of ``num_steps`` steps after a compiled first step."""
    trainer = run.trainer
    state = trainer.init_state(run.params)
    state, metrics = trainer.step(state, run.batch_at(0))
    jax.block_until_ready(metrics)
    batches = [run.batch_at(s) for s in range(1, num_steps + 1)]
    start = time.perf_counter()
    if sync_every_step:
        for batch in batches:
            state, metrics = trainer.step(state, batch)
            if not bool(metrics["finite"]):
                raise FloatingPointError
    else:
        window = []
        for batch in batches:
            state, metrics = trainer.step(state, batch)
            window.append(metrics)
        if not all(bool(m["finite"]) for m in window):
            raise FloatingPointError
    jax.block_until_ready(state)
    return (time.perf_counter() - start) / num_steps


def old_evaluate(model, params, sequences, key, num_particles: int, batch_size: int) -> float:
    """The evaluation as it was: a fresh jitted lambda per call."""
    fn = bounds.get_bound("fivo", num_particles=num_particles)
    compiled = jax.jit(lambda p, batch, k: bounds.batch_bounds(fn, model, p, batch, k).bound)
    total = 0.0
    for i, batch in enumerate(eval_batches(sequences, batch_size)):
        total += float(np.asarray(compiled(params, batch, jax.random.fold_in(key, i)), np.float64).sum())
    return total


def main(argv):
    del argv
    print(f"device: {common.device()}", flush=True)
    run = demo_run()
    steps = 20 if FLAGS.quick else 300
    rows = []
    new = min(loop_seconds_per_step(run, steps, False) for _ in range(3))
    old = min(loop_seconds_per_step(run, steps, True) for _ in range(3))
    r = common.row("demo_loop_steps_per_second", new, "host sync every step (before)", old, steps=steps,
                   steps_per_second=round(1 / new, 2), peer_steps_per_second=round(1 / old, 2))
    common.print_row(r)
    rows.append(r)

    valid = run.splits["valid"][: 8 if FLAGS.quick else None]
    key = jax.random.key(1)
    objective = run.objective  # FIVO(16) evaluation, batch 16 as in the config
    batch_size = run.config.eval.batch_size
    evaluate(objective, run.params, eval_batches(valid, batch_size), key)  # the first call compiles
    start = time.perf_counter()
    after = evaluate(objective, run.params, eval_batches(valid, batch_size), key)
    t_new = time.perf_counter() - start
    old_evaluate(run.model, run.params, valid, key, 16, batch_size)
    start = time.perf_counter()
    old_total = old_evaluate(run.model, run.params, valid, key, 16, batch_size)
    t_old = time.perf_counter() - start
    steps_scored = sum(s.shape[0] for s in valid)
    print(f"same figure: after {after['fivo16_per_step']:.6f} | before {old_total / steps_scored:.6f}", flush=True)
    r = common.row("periodic_evaluation", t_new, "fresh jit per call (before)", t_old, sequences=len(valid),
                   particles=16, batch=batch_size)
    common.print_row(r)
    rows.append(r)
    run.trainer.close()
    print(f"wrote {common.write('pipeline', rows, FLAGS.out_dir)}")


if __name__ == "__main__":
    app.run(main)
