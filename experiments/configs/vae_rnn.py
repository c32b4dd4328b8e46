"""VAE-RNN (thesis, section 4.4.1: d_t from u_t = x_{t-1} alone, p(z_t | d_t),
p(x_t | z_t)) trained with the ELBO on polyphonic music; datasets as in vrnn.py
(:jsb, :nottingham, :piano_midi, or any dataset of seqvi.datasets,
such as :synthetic or :physics_box)."""

from seqvi.train.experiment import dataset_config


def get_config(dataset: str = "jsb"):
    c = dataset_config(
        dataset,
        dict(name="vae_rnn", latent_dim=16, rnn_dim=32, hidden_dim=32, emission_type="bernoulli"),
    )
    c.bound = "elbo"
    # Without annealing the posterior collapses at once (JSB, 3000 steps: ELBO -11.07
    # per step, KL 1e-4 nats per step): the past reaches x_t only through z_t.
    c.kl_anneal_steps = 500
    return c
