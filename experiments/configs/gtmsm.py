"""GTM-SM on image navigation (thesis, sections 7.4.1 and 7.7.1), trained with
its ELBO over the predicted frames:

  --config=experiments/configs/gtmsm.py          the model: the DND memory and its mixture prior
  --config=experiments/configs/gtmsm.py:state    the ablation without memory: p(z_t | s_t) from s_t alone

The thesis's settings: 2-d states, 16-d frame latents, r = 1e-3, K = 5
neighbours, tau = 256 memorised steps and 32 predicted in training (256 at
test), Adam from 1e-3. Its VAE is convolutional, but it notes fully connected
ones do as well here: one hidden layer of 256 units. The learning rate decays
by a cosine to 1e-5 rather than linearly to 5e-5 over 50000 updates.
"""

from seqvi.train.experiment import navigation_config


def get_config(variant: str = "memory"):
    if variant not in ("memory", "state"):
        raise ValueError(f"the variant must be 'memory' or 'state', got {variant!r}")
    c = navigation_config(dict(name="gtmsm", latent_dim=16, state_dim=2, hidden=(256,), memory_length=256,
                               num_neighbours=5, transition_noise=1e-3, prior_kind=variant, wall_hidden=32,
                               likelihood="gaussian", pixel_scale=0.1))
    c.learning_rate = 1e-3
    c.lr_decay = "cosine"
    c.num_steps = 5000
    c.eval_every = 500
    c.checkpoint_every = 500
    return c
