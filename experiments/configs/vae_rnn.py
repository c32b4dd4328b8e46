"""VAE-RNN (thesis, section 4.4.1) trained with the ELBO on polyphonic music;
datasets as in vrnn.py (:jsb, :nottingham, :piano_midi)."""

from seqvi.train.experiment import polyphonic_config


def get_config(dataset: str = "jsb"):
    c = polyphonic_config(
        dataset,
        dict(name="vae_rnn", latent_dim=16, rnn_dim=32, hidden_dim=32, emission_type="bernoulli",
             proposal_type="filtering", residual_q=False),
    )
    c.bound = "elbo"
    return c
