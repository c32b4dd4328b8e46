"""VRNN-I (the VRNN with an N(0, I) prior; seqvi.models.vrnn_i) trained with the
ELBO on polyphonic music; datasets as in vrnn.py. Until the thesis's VAE-RNN
replaced it, this model was seqvi's "vae_rnn", with these settings."""

from seqvi.train.experiment import dataset_config


def get_config(dataset: str = "jsb"):
    c = dataset_config(
        dataset,
        dict(name="vrnn_i", latent_dim=16, rnn_dim=32, hidden_dim=32, emission_type="bernoulli",
             posterior_type="filtering", residual_q=False),
    )
    c.bound = "elbo"
    return c
