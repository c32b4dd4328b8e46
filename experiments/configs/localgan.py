"""LocalGAN and its adversarial baselines (GAN-AEL, Adver-REGS), each started from
a Seq2Seq pretrained by MLE with the same sizes (embeddings 64, LSTM 256):

  --config=experiments/configs/localgan.py                     LocalGAN, chatterbot
  --config=experiments/configs/localgan.py:cornell             --config.data_path=DIR --config.init_from=SEQ2SEQ_WORKDIR
  --config=experiments/configs/localgan.py:cornell,gan_ael     GAN-AEL
  --config=experiments/configs/localgan.py:cornell,adver_regs  Adver-REGS

The pretrained generator: experiments/configs/seq2seq.py with
--config.model.hidden_dim=256 on the same data (experiments/run_localgan.sh does
both). Without init_from the generator starts from random weights (the notebook's
tiny runs). The parameters kept are the last ones (no selection on validation:
the NLL of gold responses is not what the game optimises); every ``eval_every``
steps the log records the validation NLL and Distinct-1/2 and Ent-4 of greedy
responses to ``eval.num_generated`` validation contexts (Figure 2).
"""

from seqvi import datasets
from seqvi.train.experiment import dataset_config

_MODELS = ("localgan", "gan_ael", "adver_regs")


def get_config(argument: str = "chatterbot"):
    dataset, _, variant = argument.partition(",")
    name = variant or "localgan"
    if name not in _MODELS:
        raise ValueError(f"the variant after the dataset must be one of {_MODELS} or nothing, got {variant!r}")
    model = dict(name=name, embed_dim=64, hidden_dim=256, soft_temperature=1.0)
    if name == "localgan":
        model.update(local_weight=1.0, word_dim=50, dbm_hidden=(128, 128), mean_field_iterations=30)
    c = dataset_config(dataset, model)
    small = datasets.get(dataset).source == "embedded"  # the embedded chatterbot corpus: a short game
    c.bound = "adversarial"
    c.length_bucket = 0  # full-length batches: the generator free-runs as many steps as the gold responses have
    c.init_from = ""  # workdir of the pretrained Seq2Seq
    c.embeddings = ""  # a GloVe/word2vec text file for LocalGAN's word vectors (default: word2vec on the training pairs)
    # The generator's rate: at 1e-4 the pretrained generator's validation NLL rose
    # from 4.31 to 5.6 in 100 adversarial steps on Cornell, at 1e-5 to 4.4.
    c.learning_rate = 1e-5
    c.discriminator_learning_rate = 1e-3
    c.num_steps = 300 if small else 1500
    # The discriminator trains alone first (the generator's groups get zero updates):
    # from the pretrained generator, a discriminator at chance pushes it anywhere.
    c.frozen = ("embed", "encoder", "decoder", "output", "score", "combine")  # the generator's groups
    c.frozen_steps = 50 if small else 300
    c.keep_best = False
    c.eval_every = 100
    c.checkpoint_every = 500
    c.eval.num_generated = 500
    return c
