"""Deep Markov model train step: seqvi's DMM (one jitted ``Trainer`` call, ELBO with
one sample) against Pyro's DMM (SVI with Trace_ELBO, benchmarks/peers/pyro_dmm.py)
at the sizes of Pyro's DMM example: latent 100, transition 200, emission 100,
inference LSTM 600, batch 20, T = 100 JSB windows, gated transition, smoothing
(backward LSTM) posterior. A second row times the same seqvi step against the
code path before ``seqvi.nn.masked_scan`` took the inference LSTM's input
projection out of the time loop (kept here: a cell without ``scan_parts``, same
parameters and loss). Writes benchmarks/results/dmm.json.

  python benchmarks/dmm.py [--quick] [--out_dir=DIR]
"""

import pathlib
import sys

import jax
import jax.numpy as jnp
from absl import app

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402

from seqvi import bounds  # noqa: E402
from seqvi.models import DMM, parts  # noqa: E402
from seqvi.train import Trainer, make_optimizer  # noqa: E402

from common import FLAGS  # noqa: E402
from workloads import LSTMInputInLoop  # noqa: E402

CONFIGS = {
    "pyro_example": dict(latent_dim=100, transition_dim=200, emission_dim=100, rnn_dim=600, batch=20, T=100),
    "quick": dict(latent_dim=4, transition_dim=8, emission_dim=8, rnn_dim=8, batch=2, T=10),
}


class _DMMBefore(DMM):
    @property
    def nets(self):
        return dict(super().nets, rnn=LSTMInputInLoop(self.rnn_dim))


def seqvi_step(cfg: dict, xs, model_class=DMM):
    model = model_class(data_dim=xs.shape[-1], latent_dim=cfg["latent_dim"], transition_dim=cfg["transition_dim"],
                        emission_dim=cfg["emission_dim"], rnn_dim=cfg["rnn_dim"])
    params = model.init(jax.random.key(0))
    loss = bounds.batch_loss(bounds.get_bound("elbo"), model)
    trainer = Trainer(loss, make_optimizer(3e-4, 1000, clip_norm=10.0), None)
    state = [trainer.init_state(params)]
    batch = trainer.shard_batch({"xs": jnp.asarray(xs), "lengths": jnp.full((xs.shape[0],), xs.shape[1])})

    def step():
        state[0], metrics = trainer.step(state[0], batch)
        return metrics["loss"] * batch["lengths"].sum()  # the negative ELBO summed over the batch

    return step, parts.num_params(params)


def pyro_step(cfg: dict, xs):
    import pyro
    import torch

    from peers import pyro_dmm

    torch.manual_seed(0)
    model = pyro_dmm.DMM(xs.shape[-1], cfg["latent_dim"], cfg["emission_dim"], cfg["transition_dim"], cfg["rnn_dim"])
    step = pyro_dmm.make_train_step(model, torch.from_numpy(xs))
    peer = f"pyro {pyro.__version__} SVI (torch {torch.__version__}, {torch.get_num_threads()} threads)"
    return step, pyro_dmm.num_params(model), peer


def rows_for(name: str, cfg: dict) -> list[dict]:
    xs, _ = common.jsb_windows(cfg["batch"], cfg["T"])
    ours, ours_n = seqvi_step(cfg, xs)
    theirs, theirs_n, peer = pyro_step(cfg, xs)
    print(f"{name}: first -ELBO per batch seqvi {float(ours()):.1f} | pyro {float(theirs()):.1f}; "
          f"params seqvi {ours_n} | pyro {theirs_n} (torch's LSTM has a second bias)", flush=True)
    t_ours, t_theirs = common.compare(ours, (), theirs, (), repeats=5)
    r = common.row(f"dmm_train_step_{name}", t_ours, peer, t_theirs, params=ours_n, **cfg)
    common.print_row(r)
    before, _ = seqvi_step(cfg, xs, _DMMBefore)
    print(f"{name}: first -ELBO per batch, input projection in the loop {float(before()):.1f}", flush=True)
    t_ours, t_before = common.compare(ours, (), before, (), repeats=5)
    r2 = common.row(f"dmm_input_projection_{name}", t_ours, "seqvi, x_t W_x inside the time loop (before)",
                    t_before, params=ours_n, **cfg)
    common.print_row(r2)
    return [r, r2]


def main(argv):
    del argv
    print(f"device: {common.device()}", flush=True)
    names = ["quick"] if FLAGS.quick else ["pyro_example"]
    rows = [r for name in names for r in rows_for(name, CONFIGS[name])]
    print(f"wrote {common.write('dmm', rows, FLAGS.out_dir)}")


if __name__ == "__main__":
    app.run(main)
