"""Multi-device runs on simulated CPU devices (``jax_num_cpu_devices``; each
device count in its own process, since the count is fixed when JAX starts).

  data_parallel_train_step  the JSB VRNN-FIVO train step (latent 32, LSTM 64,
      hidden 64, 4 particles, T = 100) with a global batch of 8 sharded over a
      'data' mesh of D = 1, 2, 4, 8 devices; the first three losses must equal the
      one-device losses. Peer: the same step on one device.
  particle_sharded_fivo     FIVO with 100000 particles on one JSB window of
      T = 100 steps (the same VRNN, untrained), the particles sharded over a
      'particles' mesh of D devices (``seqvi.bounds.fivo`` with a mesh). Peer: ``bounds.fivo``
      on one device; same key, so log Z-hat must agree.

Simulated devices share the host's cores, so they show that the programs are
right and what the collectives cost, not a speed-up. Writes
benchmarks/results/multidevice.json.

  python benchmarks/multidevice.py [--quick] [--out_dir=DIR]
"""

import json
import pathlib
import subprocess
import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402
from common import FLAGS  # noqa: E402
from workloads import CONFIGS, vrnn_fivo_trainer  # noqa: E402

flags.DEFINE_string("case", None, "internal: data:D or particles:D:N, run in this process")
flags.DEFINE_string("case_out", None, "internal: where the case writes its result")


def data_case(num_devices: int, quick: bool) -> dict:
    from seqvi.train.trainer import data_mesh

    cfg = dict(CONFIGS["quick" if quick else "jsb"], batch=8)
    xs, mean = common.jsb_windows(cfg["batch"], cfg["T"])
    trainer, params = vrnn_fivo_trainer(cfg, xs.shape[-1], mean, mesh=data_mesh(jax.devices()[:num_devices]))
    state = [trainer.init_state(params)]
    batch = trainer.shard_batch({"xs": jnp.asarray(xs), "lengths": jnp.full((cfg["batch"],), cfg["T"])})
    losses = []

    def step():
        state[0], metrics = trainer.step(state[0], batch)
        return metrics["loss"]

    for _ in range(3):
        losses.append(float(step()))
    return {"seconds": common.time_call(step, repeats=5), "losses": losses}


def particles_case(num_devices: int, num_particles: int, quick: bool) -> dict:
    from seqvi import bounds
    from seqvi.models import VRNN
    from seqvi import bounds as sharded

    cfg = CONFIGS["quick" if quick else "jsb"]
    xs, mean = common.jsb_windows(1, cfg["T"])
    model = VRNN(data_dim=xs.shape[-1], latent_dim=cfg["latent_dim"], rnn_dim=cfg["rnn_dim"],
                 hidden_dim=cfg["hidden_dim"])
    params = model.init(jax.random.key(0), jnp.asarray(mean))
    x, length, key = jnp.asarray(xs[0]), jnp.asarray(cfg["T"]), jax.random.key(1)
    if num_devices == 1:
        fn = jax.jit(lambda p: bounds.fivo(model, p, x, length, key, num_particles=num_particles).bound)
    else:
        mesh = sharded.particle_mesh(jax.devices()[:num_devices])
        fn = jax.jit(lambda p: sharded.fivo(model, p, x, length, key, num_particles=num_particles, mesh=mesh).bound)
    return {"seconds": common.time_call(fn, (params,), repeats=3, min_seconds=0.0), "log_z": float(fn(params))}


def run_case(case: str) -> dict:
    """``case`` in a fresh process with the device count it names."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "case.json"
        cmd = [sys.executable, __file__, f"--case={case}", f"--case_out={out}", f"--quick={FLAGS.quick}"]
        subprocess.run(cmd, check=True, timeout=1800)
        return json.loads(out.read_text())


def main(argv):
    del argv
    if FLAGS.case:
        kind, *sizes = FLAGS.case.split(":")
        jax.config.update("jax_num_cpu_devices", int(sizes[0]))
        assert len(jax.devices()) == int(sizes[0]), jax.devices()
        result = (data_case(int(sizes[0]), FLAGS.quick) if kind == "data"
                  else particles_case(int(sizes[0]), int(sizes[1]), FLAGS.quick))
        pathlib.Path(FLAGS.case_out).write_text(json.dumps(result))
        return
    print(f"device: {common.device()}", flush=True)
    rows = []
    device_counts = [1, 2] if FLAGS.quick else [1, 2, 4, 8]
    data = {d: run_case(f"data:{d}") for d in device_counts}
    for d, res in data.items():
        diff = float(np.max(np.abs(np.subtract(res["losses"], data[1]["losses"]))))
        rows.append(common.row("data_parallel_train_step", res["seconds"], "1 device", data[1]["seconds"],
                               devices=d, global_batch=8, losses=[round(v, 5) for v in res["losses"]],
                               max_loss_diff_vs_1=diff))
        common.print_row(rows[-1])
    num_particles = 1000 if FLAGS.quick else 100000
    particle_counts = [1, 2] if FLAGS.quick else [1, 2, 4]
    runs = {d: run_case(f"particles:{d}:{num_particles}") for d in particle_counts}
    for d, res in runs.items():
        rows.append(common.row("particle_sharded_fivo", res["seconds"], "bounds.fivo on 1 device", runs[1]["seconds"],
                               devices=d, num_particles=num_particles, log_z=round(res["log_z"], 4),
                               log_z_1_device=round(runs[1]["log_z"], 4)))
        common.print_row(rows[-1])
    print(f"wrote {common.write('multidevice', rows, FLAGS.out_dir)}")


if __name__ == "__main__":
    app.run(main)
