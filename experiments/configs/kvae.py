"""KVAE on simulated physics videos (thesis, chapter 6), trained with its own ELBO.

  --config=experiments/configs/kvae.py             bouncing ball in a box (32x32, 20 frames)
  --config=experiments/configs/kvae.py:gravity     or :polygon, :pong, :pendulum (16x16, 15 frames, torque input)

The thesis's settings: a 2-d, z 4-d, K = 3 matrices, an LSTM of 50 units for
alpha, Q = 0.08 I, R = 0.03 I, reconstruction weighted 0.3 while training, the
alpha network frozen for the first 10 epochs (of 5000 / 32 batches). Adam at
1e-3 rather than the thesis's 7e-3, and the prior terms (-log q(a|x) + log p(a|u))
annealed in over the first 500 steps, which the thesis does not do. Without the
annealing (--config.kl_anneal_steps=0) our MLP VAE stayed in the blank-frame solution
(reconstruction -123.4 nats per frame at step 900); with it, the run in
docs/results.md had -25.7 at step 600. At 7e-3 it stayed blank as well. The
convolutional VAE: --config.model.network=conv.
"""

from seqvi.train.experiment import dataset_config


def get_config(environment: str = "box"):
    pendulum = environment == "pendulum"
    c = dataset_config(
        f"physics_{environment}",
        dict(name="kvae", image_size=16 if pendulum else 32, a_dim=2, latent_dim=4, input_dim=1 if pendulum else 0,
             num_matrices=3, network="mlp", hidden_dim=128, alpha_rnn_dim=50, transition_noise=0.08,
             emission_noise=0.03, initial_scale=20.0, recon_weight=0.3, lgssm_estimator="sampled"),
    )
    c.bound = "elbo"  # the KVAE's own ELBO (eq. 6.8)
    c.learning_rate = 1e-3
    c.num_steps = 8000
    c.warmup_steps = 0
    c.kl_anneal_steps = 500
    c.frozen = ("alpha",)
    c.frozen_steps = 10 * 157  # ten epochs of 5000 sequences in batches of 32
    c.eval_every = 1000
    c.checkpoint_every = 1000
    return c
