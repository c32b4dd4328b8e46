"""The speech experiment's train step (thesis, section 5.4): a VRNN-Gauss on raw
speech frames, seqvi (one jitted call of ``seqvi.train.Trainer``) against the same
architecture in eager PyTorch (benchmarks/peers/torch_vrnn.py with its Gaussian
emission), same sizes and data, and against the machine's matmul peak.

  fsdd:  the sizes of experiments/configs/speech.py: frames of F = 100 samples
         (12.5 ms at 8 kHz), latent 32, LSTM 128, hidden 128, batch 32, one
         0.5 s chunk (T = 40), 1 particle (the thesis trains the ELBO on one sample)
  timit: the thesis's TIMIT frame F = 200 (cut from the same 8 kHz recordings)
         with its widths: latent 256, LSTM 1024, hidden 512; batch 16, T = 40, 1 particle

A step is the bound (FIVO with one particle, which is the ELBO: nothing is ever
resampled), its gradient, global-norm clipping at 10 and an Adam update. Rows:
speech_vrnn_train_step_<size> (ratio = PyTorch time / seqvi time) and
speech_vrnn_vs_peak_<size> (peer time = the step's FLOPs at the matmul peak
measured in this run, so ratio = the fraction of the peak achieved; steps/s in
its sizes). Data: the FSDD recordings (--data_dir), normalised by their training
statistics and cut into frames laid end to end. Writes benchmarks/results/speech.json.

  python benchmarks/speech.py [--quick] [--out_dir=DIR] [--data_dir=DIR]
"""

import pathlib
import sys

import numpy as np
from absl import app, flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402
from common import FLAGS  # noqa: E402
from hardware import matmul_peak  # noqa: E402
from workloads import vrnn_fivo_flops, vrnn_fivo_step  # noqa: E402

flags.DEFINE_string("data_dir", str(pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "speech" /
                                    "fsdd" / "recordings"), "The FSDD recordings folder.")

SIZES = {
    "fsdd": dict(frame=100, latent_dim=32, rnn_dim=128, hidden_dim=128, batch=32, particles=1, T=40),
    "timit": dict(frame=200, latent_dim=256, rnn_dim=1024, hidden_dim=512, batch=16, particles=1, T=40),
    "quick": dict(frame=20, latent_dim=4, rnn_dim=8, hidden_dim=8, batch=2, particles=1, T=5),
}


def speech_windows(folder: str, frame: int, num: int, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``num`` windows [num, T, frame] of normalised frames of the FSDD training
    recordings laid end to end (cycled if too short), and their mean [frame]."""
    from seqvi.data import speech

    data = speech.load_speech(folder, "fsdd", frame_size=frame)
    stream = np.concatenate(data.splits["train"], 0)
    need = num * num_steps
    stream = np.tile(stream, (-(-need // len(stream)), 1))[:need]
    return stream.reshape(num, num_steps, frame).astype(np.float32), stream.mean(0).astype(np.float32)


def torch_step(cfg: dict, xs, data_mean):
    import torch

    from peers import torch_vrnn

    torch.manual_seed(0)
    model = torch_vrnn.VRNN(xs.shape[-1], cfg["latent_dim"], cfg["rnn_dim"], cfg["hidden_dim"],
                            torch.from_numpy(data_mean), emission="gaussian")
    step = torch_vrnn.make_train_step(model, torch.from_numpy(xs), cfg["particles"])
    return step, torch_vrnn.num_params(model), f"pytorch {torch.__version__} eager ({torch.get_num_threads()} threads)"


def rows_for(name: str, cfg: dict, peak_gflops: float) -> list[dict]:
    cfg = dict(cfg, emission="gaussian")
    xs, mean = speech_windows(FLAGS.data_dir, cfg["frame"], cfg["batch"], cfg["T"])
    ours, ours_n = vrnn_fivo_step(cfg, xs, mean)
    theirs, theirs_n, peer = torch_step(cfg, xs, mean)
    print(f"{name}: first loss seqvi {float(ours()):.3f} | pytorch {float(theirs()):.3f}; "
          f"params seqvi {ours_n} | pytorch {theirs_n} (torch's LSTM has a second bias)", flush=True)
    t_ours, t_theirs = common.compare(ours, (), theirs, (), repeats=5)
    sizes = {k: cfg[k] for k in ("frame", "latent_dim", "rnn_dim", "hidden_dim", "batch", "particles", "T")}
    versus_peer = common.row(f"speech_vrnn_train_step_{name}", t_ours, peer, t_theirs, params=ours_n, **sizes)
    flops = vrnn_fivo_flops(cfg, data=(xs, mean))
    versus_peak = common.row(f"speech_vrnn_vs_peak_{name}", t_ours, f"matmul peak {peak_gflops:.0f} GFLOP/s",
                             flops / (peak_gflops * 1e9), gflop=round(flops / 1e9, 3),
                             gflops=round(flops / t_ours / 1e9, 2), steps_per_second=round(1 / t_ours, 2),
                             frames_per_second=round(cfg["batch"] * cfg["T"] / t_ours), **sizes)
    for r in (versus_peer, versus_peak):
        common.print_row(r)
    return [versus_peer, versus_peak]


def main(argv):
    del argv
    print(f"device: {common.device()}", flush=True)
    peak_row, peak = matmul_peak([256] if FLAGS.quick else [1024, 2048])
    names = ["quick"] if FLAGS.quick else ["fsdd", "timit"]
    rows = [peak_row] + [r for name in names for r in rows_for(name, SIZES[name], peak)]
    print(f"wrote {common.write('speech', rows, FLAGS.out_dir)}")


if __name__ == "__main__":
    app.run(main)
