"""How the VRNN-FIVO train step scales: time and compiled memory against sequence
length T, particles N and batch B, one at a time from the JSB sizes (latent 32,
LSTM 64, hidden 64, B = 4, N = 4, T = 100).

Each row's peer is the linear extrapolation from the sweep's smallest size
(peer_seconds = t(smallest) * size / smallest), so ratio = linear / measured: 1 is
linear, above 1 sub-linear (fixed costs amortised, or idle cores put to work).
Memory is XLA's compiled footprint (arguments + outputs + temporaries, from
``memory_analysis``). Writes benchmarks/results/scaling.json.

  python benchmarks/scaling.py [--quick] [--out_dir=DIR]
"""

import pathlib
import sys

import jax.numpy as jnp
from absl import app

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402
from common import FLAGS  # noqa: E402
from workloads import CONFIGS, vrnn_fivo_trainer  # noqa: E402

SWEEPS = {"T": [25, 50, 100, 200, 400], "particles": [1, 4, 16, 64], "batch": [1, 4, 16, 64]}
QUICK_SWEEPS = {"T": [5, 10], "particles": [1, 2], "batch": [1, 2]}


def measure(cfg: dict) -> tuple[float, int]:
    """Seconds per train step and compiled bytes."""
    xs, mean = common.jsb_windows(cfg["batch"], cfg["T"])
    trainer, params = vrnn_fivo_trainer(cfg, xs.shape[-1], mean)
    state = [trainer.init_state(params)]
    batch = trainer.shard_batch({"xs": jnp.asarray(xs), "lengths": jnp.full((cfg["batch"],), cfg["T"])})
    memory = trainer.lower(state[0], batch).compile().memory_analysis()
    footprint = (memory.argument_size_in_bytes + memory.output_size_in_bytes - memory.alias_size_in_bytes
                 + memory.temp_size_in_bytes)

    def step():
        state[0], metrics = trainer.step(state[0], batch)
        return metrics["loss"]

    return common.time_call(step, repeats=5), footprint


def sweep_rows(base: dict, knob: str, values: list[int]) -> list[dict]:
    rows, first = [], None
    for v in values:
        cfg = dict(base, **{knob: v})
        seconds, footprint = measure(cfg)
        first = first or (v, seconds)
        linear = first[1] * v / first[0]
        r = common.row(f"scaling_{knob}", seconds, f"linear from {knob}={first[0]}", linear,
                       memory_mb=round(footprint / 2**20, 2),
                       **{k: cfg[k] for k in ("T", "particles", "batch", "latent_dim")})
        common.print_row(r)
        rows.append(r)
    return rows


def main(argv):
    del argv
    print(f"device: {common.device()}", flush=True)
    base = CONFIGS["quick" if FLAGS.quick else "jsb"]
    sweeps = QUICK_SWEEPS if FLAGS.quick else SWEEPS
    rows = [r for knob, values in sweeps.items() for r in sweep_rows(base, knob, values)]
    print(f"wrote {common.write('scaling', rows, FLAGS.out_dir)}")


if __name__ == "__main__":
    app.run(main)
