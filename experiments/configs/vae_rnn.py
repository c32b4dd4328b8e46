"""VAE-RNN (thesis, section 4.4.1) trained with the ELBO on polyphonic music;
datasets as in vrnn.py (:jsb, :nottingham, :piano_midi, or any dataset of
seqvi.train.experiment.DATASETS, such as :synthetic or :physics_box)."""

from seqvi.train.experiment import dataset_config


def get_config(dataset: str = "jsb"):
    c = dataset_config(
        dataset,
        dict(name="vae_rnn", latent_dim=16, rnn_dim=32, hidden_dim=32, emission_type="bernoulli",
             proposal_type="filtering", residual_q=False),
    )
    c.bound = "elbo"
    return c
