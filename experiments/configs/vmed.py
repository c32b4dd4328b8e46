"""VMED (variational memory encoder-decoder) and its memory baseline, for dialogue.

  --config=experiments/configs/vmed.py                   VMED, K = 4 modes, chatterbot
  --config=experiments/configs/vmed.py:cornell           --config.data_path=DIR (ParlAI Cornell valid.txt and test.txt, re-split)
  --config=experiments/configs/vmed.py:cornell,dnc       the DNC encoder-decoder (no latent)
  --config.model.num_reads=K                             K modes (read heads), 1..4 in the paper

Train with experiments/train.py, evaluate with experiments/evaluate.py.
"""

from seqvi.train.experiment import dataset_config


def get_config(argument: str = "chatterbot"):
    dataset, _, variant = argument.partition(",")
    if variant not in ("", "dnc"):
        raise ValueError(f"the variant after the dataset must be 'dnc' or nothing, got {variant!r}")
    sizes = dict(embed_dim=64, hidden_dim=128, num_slots=16, num_reads=4)
    if variant == "dnc":
        c = dataset_config(dataset, dict(name="dnc", word_size=32, **sizes))
        c.bound = "nll"
    else:
        c = dataset_config(dataset, dict(name="vmed", latent_dim=16, **sizes))
        c.bound = "dvar"  # the paper's loss; or elbo | iwae | fivo over the decoder (VMEDSteps)
        c.kl_anneal_steps = c.get_ref("num_steps") // 2  # beta rises from 0 to 1 over the first half
    return c
