"""The rows of the thesis's Table 5.1 (section 5.4) on raw speech, scaled to a CPU.

  --config=experiments/configs/speech.py:srnn_smooth_resq --config.data_path=.../fsdd/recordings

Rows: rnn_gauss, rnn_gmm, vrnn_gauss, vrnn_gmm, vrnn_i_gauss, srnn_smooth_resq,
srnn_smooth, srnn_filt_resq, srnn_filt. Data: 'fsdd' (the Free Spoken Digit
Dataset's recordings folder, 8 kHz, F = 100) by default; --config.dataset=speech
reads a TIMIT-style folder (train/ and test/, 16 kHz, F = 200).

Sizes (the thesis's TIMIT models have 1024 GRU units, z of 256 and 512-unit
layers; here a tenth of the widths, 2 400 recordings of about 0.4 s): recurrent
states of 128 units, z of 32, hidden layers of 128, GMMs of 20 components. The
SRNN has the thesis's feature network shared by its generative and inference
models (``feature_dim``). The networks use ReLU and one hidden layer (the SRNN's
emission two), where the thesis has two layers of leaky ReLU (leakiness 1/3,
clipped at +-3). The training protocol is the shared one of
``seqvi.datasets.speech.Speech`` (ELBO on one sample, beta from 0.2 to 1
over ``kl_anneal_steps`` updates: 1000 here, 5/12 of the steps in
experiments/run_speech.sh (1250 of 3000), truncated BPTT over 0.5 s chunks summed into one update per
batch, batch 32, Adam at 1e-3, whole recordings at evaluation; its docstring
says where it differs from the thesis).
"""

from seqvi.train.experiment import dataset_config

ROWS = {
    "rnn_gauss": dict(name="rnn", emission_type="gaussian"),
    "rnn_gmm": dict(name="rnn", emission_type="gmm"),
    "vrnn_gauss": dict(name="vrnn", emission_type="gaussian"),
    "vrnn_gmm": dict(name="vrnn", emission_type="gmm"),
    "vrnn_i_gauss": dict(name="vrnn_i", emission_type="gaussian"),
    "srnn_smooth_resq": dict(name="srnn", posterior_type="smoothing", residual_q=True),
    "srnn_smooth": dict(name="srnn", posterior_type="smoothing", residual_q=False),
    "srnn_filt_resq": dict(name="srnn", posterior_type="filtering", residual_q=True),
    "srnn_filt": dict(name="srnn", posterior_type="filtering", residual_q=False),
}
SIZES = {
    "rnn": dict(rnn_dim=128, hidden_dim=128),
    "vrnn": dict(latent_dim=32, rnn_dim=128, hidden_dim=128),
    "vrnn_i": dict(latent_dim=32, rnn_dim=128, hidden_dim=128),
    "srnn": dict(latent_dim=32, rnn_dim=128, hidden_dim=128, feature_dim=128),  # the shared feature network of 5.4
}


def get_config(row: str = "srnn_smooth_resq"):
    if row not in ROWS:
        raise ValueError(f"row must be one of {sorted(ROWS)}, got {row!r}")
    model = dict(ROWS[row])
    model.update(SIZES[model["name"]])
    model.setdefault("emission_type", "gaussian")
    if model["emission_type"] == "gmm":
        model["emission_components"] = 20
    return dataset_config("fsdd", model)
