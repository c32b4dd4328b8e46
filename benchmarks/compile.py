"""First-call compile time of the train step of every shipped config
(experiments/configs/*.py, every dataset or environment each one names), on its
training batch shape: lowering plus XLA compilation of ``Trainer``'s jitted step,
built exactly as ``experiments/train.py`` builds it.

Polyphonic configs compile at T = 128, a rung of the padding ladder their batches
use (a run compiles once per rung it meets); the synthetic suite and the physics
videos at their one fixed length. The peer is the 15 s target of the performance
issue, so ratio = 15 s / compile time (above 1: under target). Each config runs
in a fresh process, so nothing is reused between them. Writes
benchmarks/results/compile.json.

  python benchmarks/compile.py [--quick] [--out_dir=DIR]
"""

import importlib.util
import json
import pathlib
import subprocess
import sys
import tempfile
import time

from absl import app, flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402
from common import FLAGS  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
TARGET_SECONDS = 15.0
CONFIGS = [
    ("vrnn", "jsb"), ("vrnn", "nottingham"), ("vrnn", "piano_midi"), ("vrnn", "synthetic"),
    ("srnn", "jsb"), ("dmm", "jsb"), ("vae_rnn", "jsb"), ("vosp", "jsb"), ("vrae", "jsb"),
    ("vhrnn", "synthetic"), ("vhrnn", "jsb"), ("kvae", "box"), ("kvae", "pendulum"),
]
flags.DEFINE_string("case", None, "internal: config:argument, compiled in this process")
flags.DEFINE_string("case_out", None, "internal: where the case writes its result")


def load_config(name: str, argument: str):
    spec = importlib.util.spec_from_file_location(f"config_{name}", ROOT / "experiments" / "configs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(argument)


def batch_shape(config) -> tuple[int, int, int]:
    """(B, T, D) of a training batch, without loading the data."""
    from seqvi import datasets
    from seqvi.data import synthetic

    data = datasets.get(config.dataset)
    if isinstance(data, datasets.synthetic.Synthetic):
        return config.batch_size, config.synthetic.length, synthetic.DIM
    if isinstance(data, datasets.physics.Physics):
        from seqvi.models import KVAE

        kwargs = {k: v for k, v in config.model.items() if k != "name"}
        return config.batch_size, config.pad_multiple, KVAE(**kwargs).row_dim
    return config.batch_size, 128, 88


def compile_seconds(name: str, argument: str) -> float:
    import jax
    import jax.numpy as jnp

    from seqvi.train import experiment

    config = load_config(name, argument)
    b, t, d = batch_shape(config)
    model = experiment.build_model(config, d)
    trainer = experiment.build_trainer(config, model.objective(experiment.objective_options(config)), None,
                                       model=model)
    state = trainer.init_state(model.init(jax.random.key(0), jnp.full((d,), 0.1)))
    batch = {"xs": jnp.zeros((b, t, d)), "lengths": jnp.full((b,), t, jnp.int32)}
    start = time.perf_counter()
    trainer.lower(state, batch).compile()
    return time.perf_counter() - start


def main(argv):
    del argv
    if FLAGS.case:
        name, argument = FLAGS.case.split(":")
        pathlib.Path(FLAGS.case_out).write_text(json.dumps(compile_seconds(name, argument)))
        return
    print(f"device: {common.device()}", flush=True)
    rows = []
    for name, argument in CONFIGS[:1] if FLAGS.quick else CONFIGS:
        with tempfile.TemporaryDirectory() as tmp:
            out = pathlib.Path(tmp) / "seconds.json"
            subprocess.run([sys.executable, __file__, f"--case={name}:{argument}", f"--case_out={out}"],
                           check=True, timeout=900)
            seconds = json.loads(out.read_text())
        rows.append(common.row("compile_train_step", seconds, "target", TARGET_SECONDS, config=f"{name}:{argument}"))
        common.print_row(rows[-1])
    print(f"wrote {common.write('compile', rows, FLAGS.out_dir)}")


if __name__ == "__main__":
    app.run(main)
