"""Seq2Seq (LSTM encoder-decoder), optionally with attention, for dialogue.

  --config=experiments/configs/seq2seq.py                  chatterbot (embedded), plain
  --config=experiments/configs/seq2seq.py:cornell          --config.data_path=DIR (ParlAI Cornell valid.txt and test.txt, re-split)
  --config=experiments/configs/seq2seq.py:cornell,attention

Train with experiments/train.py, evaluate with experiments/evaluate.py. the shared fields are in
``seqvi.train.experiment.dataset_config`` and ``seqvi.datasets.dialogue``.
"""

from seqvi.train.experiment import dataset_config


def get_config(argument: str = "chatterbot"):
    dataset, _, variant = argument.partition(",")
    if variant not in ("", "attention"):
        raise ValueError(f"the variant after the dataset must be 'attention' or nothing, got {variant!r}")
    c = dataset_config(dataset, dict(name="seq2seq", embed_dim=64, hidden_dim=128,
                                      attention=variant == "attention"))
    c.bound = "nll"
    return c
