"""VHRNN (variational hyper RNN) trained with FIVO (4 particles, batch 4, as in
the paper's appendix).

  --config=experiments/configs/vhrnn.py             the synthetic suite (z = 4, h = 4)
  --config=experiments/configs/vhrnn.py:jsb         JSB chorales (embedded in seqvi)
  --config=experiments/configs/vhrnn.py:nottingham  or :piano_midi (--config.data_path=FILE)

The hypernetworks' input is --config.model.hyper_input=both|latent|hidden (the
paper's ablation); the modulated cell --config.model.cell_type=lstm|gru.
"""

from seqvi import datasets
from seqvi.train.experiment import dataset_config

SYNTHETIC = dict(latent_dim=4, rnn_dim=4, hidden_dim=16, hyper_dim=4)
MUSIC = dict(latent_dim=16, rnn_dim=32, hidden_dim=32, hyper_dim=16)


def get_config(dataset: str = "synthetic"):
    sizes = SYNTHETIC if isinstance(datasets.get(dataset), datasets.synthetic.Synthetic) else MUSIC
    return dataset_config(
        dataset,
        dict(name="vhrnn", omega_hidden=64, hyper_input="both", cell_type="lstm", emission_type="bernoulli", **sizes),
    )
