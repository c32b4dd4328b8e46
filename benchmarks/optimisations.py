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

  python benchmarks/optimisations.py [--quick] [--out_dir=DIR]
"""

import pathlib
import sys

import jax.numpy as jnp
from absl import app

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402
from common import FLAGS  # noqa: E402
from workloads import CONFIGS, vrnn_fivo_flops, vrnn_fivo_step  # noqa: E402

from seqvi.models import VRNN  # noqa: E402


class ConcatInputVRNN(VRNN):
    """The VRNN as it was: the proposal and the LSTM take one concatenated input."""

    def _proposal_params(self, params, state, ctx_t, phi_x, prior_mean=None):
        feats = [state[1], phi_x] + ([ctx_t] if self.proposal_type == "smoothing" else [])
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


def main(argv):
    del argv
    print(f"device: {common.device()}", flush=True)
    rows = [r for name in (["quick"] if FLAGS.quick else ["jsb", "large"]) for r in rows_for(name)]
    print(f"wrote {common.write('optimisations', rows, FLAGS.out_dir)}")


if __name__ == "__main__":
    app.run(main)
