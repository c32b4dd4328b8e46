"""VRNN trained with FIVO on polyphonic music or the VHRNN synthetic suite.

  --config=experiments/configs/vrnn.py            JSB chorales (embedded in seqvi)
  --config=experiments/configs/vrnn.py:nottingham --config.data_path=.../Nottingham.mat
  --config=experiments/configs/vrnn.py:piano_midi --config.data_path=.../Piano_midi.mat
  --config=experiments/configs/vrnn.py:synthetic  seqvi.data.synthetic (z = h = 8, Gaussian)

The JSB default budget finishes in under 10 minutes on a 2-core CPU. Override
any field with --config.<field>=value (the shared fields:
``seqvi.train.experiment.dataset_config``).
"""

from seqvi import datasets
from seqvi.train.experiment import dataset_config


def get_config(dataset: str = "jsb"):
    small = isinstance(datasets.get(dataset), datasets.synthetic.Synthetic)
    return dataset_config(
        dataset,
        dict(
            name="vrnn",
            latent_dim=8 if small else 16,
            rnn_dim=8 if small else 32,
            hidden_dim=32,
            cell_type="lstm",  # or 'gru' (the VHRNN paper's Figure 9)
            emission_type="bernoulli",
            posterior_type="filtering",
            residual_q=False,
        ),
    )
