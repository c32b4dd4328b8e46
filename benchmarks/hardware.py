"""seqvi against the machine: the dense-matmul peak, the fraction of it the large
VRNN-FIVO train step achieves, and the per-step overhead of ``lax.scan``.

  matmul_peak            jitted float32 n x n matmul (best n of 1024, 2048, 4096),
                         peer: the same matmul in numpy (its BLAS) in the same run.
  train_step_vs_peak     the large VRNN-FIVO train step (latent 256, LSTM 256,
                         hidden 256, batch 32, 16 particles, T = 100); peer time =
                         the step's FLOPs at the measured matmul peak, so
                         ratio = achieved / peak. FLOPs: XLA's cost analysis of the
                         same step at T = 1 (no loop left to under-count) times T.
  scan_overhead_per_step an RNN step h = tanh(h W + x_t), h [4, 64], scanned over
                         T = 200 steps; peer: the same steps unrolled in one
                         program, so (scan - unrolled) / T is the loop's cost.

  python benchmarks/hardware.py [--quick] [--out_dir=DIR]
"""

import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
from absl import app

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402
from common import FLAGS  # noqa: E402
from workloads import CONFIGS, vrnn_fivo_flops, vrnn_fivo_step  # noqa: E402


def matmul_peak(sizes) -> tuple[dict, float]:
    """The best row over ``sizes`` and its GFLOP/s."""
    best = None
    for n in sizes:
        b = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
        a = jnp.asarray(b)
        t_ours, t_theirs = common.compare(jax.jit(jnp.matmul), (a, a), np.matmul, (b, b), repeats=5)
        gflops = 2 * n**3 / t_ours / 1e9
        r = common.row("matmul_peak", t_ours, f"numpy {np.__version__} matmul", t_theirs, n=n,
                       gflops=round(gflops, 1), peer_gflops=round(2 * n**3 / t_theirs / 1e9, 1))
        common.print_row(r)
        if best is None or gflops > best[1]:
            best = (r, gflops)
    return best


def train_step_row(cfg: dict, peak_gflops: float) -> dict:
    xs, mean = common.jsb_windows(cfg["batch"], cfg["T"])
    step, n_params = vrnn_fivo_step(cfg, xs, mean)
    seconds = common.time_call(step, repeats=5)
    flops = vrnn_fivo_flops(cfg)
    r = common.row("train_step_vs_peak", seconds, f"matmul peak {peak_gflops:.0f} GFLOP/s", flops / (peak_gflops * 1e9),
                   gflop=round(flops / 1e9, 4), gflops=round(flops / seconds / 1e9, 2), params=n_params,
                   **{k: cfg[k] for k in ("latent_dim", "batch", "particles", "T")})
    common.print_row(r)
    return r


def scan_overhead_row(num_steps: int) -> dict:
    """A small RNN step h = tanh(h W + x_t) (h [4, 64], the JSB train step's
    scale) scanned over T steps, against the same T steps unrolled into one
    program: the difference per step is what the loop itself costs."""
    rng = np.random.default_rng(0)
    w = jnp.asarray(0.1 * rng.standard_normal((64, 64)), jnp.float32)
    xs = jnp.asarray(rng.standard_normal((num_steps, 4, 64)), jnp.float32)
    h0 = jnp.zeros((4, 64))

    def cell(h, x):
        return jnp.tanh(h @ w + x)

    def scanned(h, xs):
        return jax.lax.scan(lambda h, x: (cell(h, x), None), h, xs)[0]

    def unrolled(h, xs):
        for t in range(num_steps):
            h = cell(h, xs[t])
        return h

    t_scan, t_unrolled = common.compare(jax.jit(scanned), (h0, xs), jax.jit(unrolled), (h0, xs))
    r = common.row("scan_overhead_per_step", t_scan / num_steps, "the same steps unrolled", t_unrolled / num_steps,
                   T=num_steps, state="4x64", us_per_step=round((t_scan - t_unrolled) / num_steps * 1e6, 3))
    common.print_row(r)
    return r


def main(argv):
    del argv
    print(f"device: {common.device()}", flush=True)
    quick = FLAGS.quick
    peak_row, peak = matmul_peak([256] if quick else [1024, 2048, 4096])
    large = CONFIGS["quick" if quick else "large"]
    rows = [peak_row, train_step_row(large, peak), scan_overhead_row(20 if quick else 200)]
    print(f"wrote {common.write('hardware', rows, FLAGS.out_dir)}")


if __name__ == "__main__":
    app.run(main)
