"""Deep Markov model (gated transition, smoothing combiner inference) trained
with the ELBO on polyphonic music, as in Krishnan et al. 2017; datasets as in
vrnn.py (:jsb, :nottingham, :piano_midi, or any dataset of
seqvi.datasets, such as :synthetic or :physics_box)."""

from seqvi.train.experiment import dataset_config


def get_config(dataset: str = "jsb"):
    c = dataset_config(
        dataset,
        dict(name="dmm", latent_dim=16, transition_dim=64, emission_dim=64, rnn_dim=64,
             transition_type="gated", posterior_type="smoothing", emission_type="bernoulli"),
    )
    c.bound = "elbo"
    c.kl_anneal_steps = 500  # Krishnan et al. anneal the KL term
    return c
