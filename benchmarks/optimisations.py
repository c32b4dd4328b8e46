"""Before/after figures for the optimisations the benchmarks led to, each in one
run: the current code against the code it replaced, alternately.

  vrnn_x_projection_per_sequence  In the VRNN step, phi_x(x_t) is shared by all
      particles of a sequence, but the proposal's first layer and the LSTM's input
      layer took it concatenated with per-particle features, so the particle
      ``vmap`` multiplied phi_x(x_t) W once per particle. They now take the parts
      separately (``seqvi.nn.concat_dot``), and phi_x(x_t) W is computed once per
      sequence. Peer: the VRNN with the concatenated inputs (``ConcatInputVRNN``
      below, the replaced code). Sizes: the JSB and large VRNN-FIVO configs;
      'gflop' and 'peer_gflop' are XLA's FLOP counts of the two train steps.

  rnn_input_projection_out_of_loop  ``seqvi.nn.masked_scan`` computes an LSTM's
      input projection x_t W_x + b for all steps as one matmul before the time
      loop and runs only the recurrence in it. Peer: the same cell run whole
      inside the loop (``LSTMInputInLoop``, the replaced path). Timed: the
      gradient of a backward (smoothing) masked scan over a batch, at the zoo's
      sizes (JSB configs), the DMM inference LSTM of Pyro's example, and a wide
      input (frames of 1024 values).

  python benchmarks/optimisations.py [--quick] [--out_dir=DIR]
"""

import pathlib
import sys

import jax
import jax.numpy as jnp
from absl import app

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402
from common import FLAGS  # noqa: E402
from workloads import CONFIGS, LSTMInputInLoop, vrnn_fivo_flops, vrnn_fivo_step  # noqa: E402

from seqvi.models import VRNN  # noqa: E402
from seqvi.nn import LSTMCell, masked_scan  # noqa: E402

SCAN_SIZES = {  # batch B, steps T, input D, LSTM units H
    "quick": dict(batch=2, T=8, input_dim=5, rnn_dim=4),
    "zoo": dict(batch=4, T=128, input_dim=88, rnn_dim=32),
    "dmm": dict(batch=20, T=100, input_dim=88, rnn_dim=600),
    "wide_input": dict(batch=20, T=100, input_dim=1024, rnn_dim=256),
}


class ConcatInputVRNN(VRNN):
    """The VRNN as it was: the proposal and the LSTM take one concatenated input."""

    def _proposal_params(self, params, state, ctx_t, phi_x, prior_mean=None):
        feats = [self.hidden(state), phi_x] + ([ctx_t] if self.posterior_type == "smoothing" else [])
        mean, scale = self.apply_net(params, "proposal", jnp.concatenate(feats, -1))
        if self.residual_q:
            mean = (self._prior_params(params, state)[0] if prior_mean is None else prior_mean) + mean
        return mean, scale

    def _update(self, params, state, phi_z, phi_x):
        carry, _ = self.apply_net(params, "rnn", state, jnp.concatenate([phi_x, phi_z], -1))
        return carry


def rows_for(name: str) -> list[dict]:
    cfg = CONFIGS[name]
    xs, mean = common.jsb_windows(cfg["batch"], cfg["T"])
    after, _ = vrnn_fivo_step(cfg, xs, mean)
    before, _ = vrnn_fivo_step(cfg, xs, mean, model_class=ConcatInputVRNN)
    # Same parameters, same key: the replaced code must give the same first loss.
    print(f"{name}: first loss after {float(after()):.5f} | before {float(before()):.5f}", flush=True)
    t_after, t_before = common.compare(after, (), before, (), repeats=5 if name == "large" else 9)
    r = common.row(f"vrnn_x_projection_per_sequence_{name}", t_after, "concatenated inputs (before)", t_before,
                   gflop=round(vrnn_fivo_flops(cfg) / 1e9, 3),
                   peer_gflop=round(vrnn_fivo_flops(cfg, ConcatInputVRNN) / 1e9, 3),
                   **{k: cfg[k] for k in ("latent_dim", "batch", "particles", "T")})
    common.print_row(r)
    return [r]


def scan_gradient(cell: LSTMCell, size: dict):
    """A jitted gradient of sum(b_t^2) over a backward masked scan of ``cell``, batched."""
    d, h = size["input_dim"], size["rnn_dim"]
    params = cell.init(jax.random.key(0), cell.zero_carry(), jnp.zeros(d))
    xs = jax.random.normal(jax.random.key(1), (size["batch"], size["T"], d))
    lengths = jnp.full((size["batch"],), size["T"])

    def loss(p):
        states = jax.vmap(lambda x, n: masked_scan(cell, p, x, n, reverse=True)[1])(xs, lengths)
        return (states ** 2).sum()

    grad = jax.jit(jax.grad(loss))
    return lambda: grad(params)


def scan_rows_for(name: str) -> list[dict]:
    size = SCAN_SIZES[name]
    after = scan_gradient(LSTMCell(size["rnn_dim"]), size)
    before = scan_gradient(LSTMInputInLoop(size["rnn_dim"]), size)
    t_after, t_before = common.compare(after, (), before, (), repeats=7)
    r = common.row(f"rnn_input_projection_out_of_loop_{name}", t_after, "x_t W_x inside the loop (before)",
                   t_before, **size)
    common.print_row(r)
    return [r]


def main(argv):
    del argv
    print(f"device: {common.device()}", flush=True)
    rows = [r for name in (["quick"] if FLAGS.quick else ["jsb", "large"]) for r in rows_for(name)]
    rows += [r for name in (["quick"] if FLAGS.quick else ["zoo", "dmm", "wide_input"]) for r in scan_rows_for(name)]
    print(f"wrote {common.write('optimisations', rows, FLAGS.out_dir)}")


if __name__ == "__main__":
    app.run(main)
