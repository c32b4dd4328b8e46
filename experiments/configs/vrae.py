"""STORN's variational recurrent auto-encoder (bidirectional recognition and
generating LSTMs), trained with the whole-sequence ELBO; datasets as in vrnn.py
(:jsb, :nottingham, :piano_midi, or any dataset of
seqvi.datasets, such as :synthetic or :physics_box). --config.model.prior_type=wiener for the
Wiener-process prior; --config.model.cell_type=fd_rnn for the paper's fast-dropout RNNs, with
--config.model.learned_keep_rate=True for learned keep rates in the recognition RNNs. IWAE also
applies; FIVO does not (x_t depends on future z)."""

from seqvi.train.experiment import dataset_config


def get_config(dataset: str = "jsb"):
    c = dataset_config(
        dataset,
        dict(name="vrae", latent_dim=16, rnn_dim=32, hidden_dim=32, emission_type="bernoulli",
             prior_type="standard_normal", cell_type="lstm", keep_rate=0.9, learned_keep_rate=False),
    )
    c.bound = "elbo"
    return c
