"""Seq2Seq (LSTM encoder-decoder), optionally with attention, for dialogue.

  --config=experiments/configs/seq2seq.py                  chatterbot (embedded), plain
  --config=experiments/configs/seq2seq.py:cornell          ../shared/data/cornell_parlai_partial
  --config=experiments/configs/seq2seq.py:cornell,attention

Train with experiments/train_dialogue.py; the shared fields are in
``seqvi.train.dialogue_experiment.dialogue_config``.
"""

from seqvi.train.dialogue_experiment import dialogue_config


def get_config(argument: str = "chatterbot"):
    dataset, _, variant = argument.partition(",")
    if variant not in ("", "attention"):
        raise ValueError(f"the variant after the dataset must be 'attention' or nothing, got {variant!r}")
    return dialogue_config(dataset, dict(name="seq2seq", embed_dim=64, hidden_dim=128,
                                         attention=variant == "attention"))
