"""VRNN + FIVO train step: seqvi (one jitted call of ``seqvi.train.Trainer``) against
the same architecture in eager PyTorch (benchmarks/peers/torch_vrnn.py), same sizes,
same data, on the CPU.

  jsb:   latent 32, LSTM 64, hidden 64, batch 4, 4 particles, T = 100
  large: latent 256, LSTM 256, hidden 256, batch 32, 16 particles, T = 100

A step is the FIVO loss (systematic resampling when ESS < N / 2), its gradient,
global-norm clipping at 10 and an Adam update. Data: windows of the embedded JSB
chorales (88 pitches). PyTorch runs on all host cores (torch.get_num_threads()),
XLA on its default thread pool. Writes benchmarks/results/vrnn_fivo.json.

  python benchmarks/vrnn_fivo.py [--quick] [--out_dir=DIR]
"""

import pathlib
import sys

from absl import app

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402
from common import FLAGS  # noqa: E402
from workloads import CONFIGS, vrnn_fivo_step  # noqa: E402

def torch_step(cfg: dict, xs, data_mean):
    import torch

    from peers import torch_vrnn

    torch.manual_seed(0)
    model = torch_vrnn.VRNN(xs.shape[-1], cfg["latent_dim"], cfg["rnn_dim"], cfg["hidden_dim"],
                            torch.from_numpy(data_mean))
    step = torch_vrnn.make_train_step(model, torch.from_numpy(xs), cfg["particles"])
    return step, torch_vrnn.num_params(model), f"pytorch {torch.__version__} eager ({torch.get_num_threads()} threads)"


def rows_for(name: str, cfg: dict) -> list[dict]:
    xs, mean = common.jsb_windows(cfg["batch"], cfg["T"])
    ours, ours_n = vrnn_fivo_step(cfg, xs, mean)
    theirs, theirs_n, peer = torch_step(cfg, xs, mean)
    # Both start from the same kind of initialisation: their first losses must be close.
    print(f"{name}: first loss seqvi {float(ours()):.3f} | pytorch {float(theirs()):.3f}; "
          f"params seqvi {ours_n} | pytorch {theirs_n} (torch's LSTM has a second bias)", flush=True)
    t_ours, t_theirs = common.compare(ours, (), theirs, (), repeats=5 if name == "large" else 9)
    sizes = {k: cfg[k] for k in ("latent_dim", "rnn_dim", "hidden_dim", "batch", "particles", "T")}
    r = common.row(f"vrnn_fivo_train_step_{name}", t_ours, peer, t_theirs, params=ours_n, **sizes)
    common.print_row(r)
    return [r]


def main(argv):
    del argv
    print(f"device: {common.device()}", flush=True)
    names = ["quick"] if FLAGS.quick else ["jsb", "large"]
    rows = [r for name in names for r in rows_for(name, CONFIGS[name])]
    print(f"wrote {common.write('vrnn_fivo', rows, FLAGS.out_dir)}")


if __name__ == "__main__":
    app.run(main)
