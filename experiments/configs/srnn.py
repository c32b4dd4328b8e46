"""SRNN (smoothing posterior, Res_q) trained with the ELBO on polyphonic music,
as in the thesis, chapter 5; datasets as in vrnn.py (:jsb, :nottingham, :piano_midi, or any dataset of
seqvi.datasets, such as :synthetic or :physics_box).
--config.bound=iwae or fivo trains it with the other bounds."""

from seqvi.train.experiment import dataset_config


def get_config(dataset: str = "jsb"):
    c = dataset_config(
        dataset,
        dict(name="srnn", latent_dim=16, rnn_dim=64, hidden_dim=64, emission_type="bernoulli",
             posterior_type="smoothing", residual_q=True),
    )
    c.bound = "elbo"
    c.kl_anneal_steps = 500  # the thesis anneals the KL term at the start of training
    return c
