"""STORN's variational recurrent auto-encoder (bidirectional recognition and
generating LSTMs), trained with the whole-sequence ELBO; datasets as in vrnn.py
(:jsb, :nottingham, :piano_midi, or any dataset of
seqvi.train.experiment.DATASETS, such as :synthetic or :physics_box). --config.model.prior_type=wiener for the
Wiener-process prior. IWAE also applies; FIVO does not (x_t depends on future z)."""

from seqvi.train.experiment import dataset_config


def get_config(dataset: str = "jsb"):
    c = dataset_config(
        dataset,
        dict(name="vrae", latent_dim=16, rnn_dim=32, hidden_dim=32, emission_type="bernoulli",
             prior_type="standard_normal"),
    )
    c.bound = "elbo"
    return c
