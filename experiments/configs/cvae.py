"""The latent-variable dialogue baselines: CVAE (one latent per response) and
VLSTM (a latent per step), with KL annealing over the first half of training.

  --config=experiments/configs/cvae.py                 CVAE, chatterbot
  --config=experiments/configs/cvae.py:cornell         --config.data_path=DIR (ParlAI Cornell valid.txt and test.txt, re-split)
  --config=experiments/configs/cvae.py:cornell,vlstm   VLSTM

Train with experiments/train.py, evaluate with experiments/evaluate.py.
"""

from seqvi.train.experiment import dataset_config


def get_config(argument: str = "chatterbot"):
    dataset, _, variant = argument.partition(",")
    if variant not in ("", "vlstm"):
        raise ValueError(f"the variant after the dataset must be 'vlstm' or nothing, got {variant!r}")
    c = dataset_config(dataset, dict(name=variant or "cvae", embed_dim=64, hidden_dim=128, latent_dim=32))
    c.bound = "elbo"
    c.kl_anneal_steps = c.get_ref("num_steps") // 2
    return c
