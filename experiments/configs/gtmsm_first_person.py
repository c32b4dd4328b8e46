"""GTM-SM on first-person 3-D navigation (thesis, sections 7.4.2 and 7.7.2), in
textured miniworld rooms rendered headless (``seqvi.data.first_person``) in
place of DeepMind Lab's Labyrinth:

  --config=experiments/configs/gtmsm_first_person.py                  the rotating agent
  --config=experiments/configs/gtmsm_first_person.py:rotating_state   the same without memory
  --config=experiments/configs/gtmsm_first_person.py:walking          the walking agent
  --config=experiments/configs/gtmsm_first_person.py:rotating_vrnn    the baseline: an action-conditioned
      VRNN (LSTM 256, 64-d latents, Gaussian pixels; configs/gtmsm.py:vrnn) with the same budget

The thesis's settings: 3-d states with the rotating transition of eq. 7.4,
r = 1e-2, keys [s1, s2, cos s3, sin s3] (without the optional linear layer), the
'network' prior of section 7.7.2, 64-d frame latents; the
rotating agent memorises tau = 33 steps and predicts 16 in training, 45 at test;
the walking agent memorises 150 and predicts 32 in training, 150 at test; Adam
from 3e-3. Differences: the prior reads all tau memories rather than
the thesis's K = 4 (as for image navigation, configs/gtmsm.py: the top-K choice
passes no gradient to the memories outside it; on the rotating agent after 4000
steps, K = 4 gave a test ELBO of 3573 nats per frame and a revisited-view error of
0.064, K = 33 gave 3585 and 0.053); 32 x 32 views (not Labyrinth's) read by a fully
connected VAE (one hidden layer of 256) rather than a convolutional one, a
Gaussian pixel likelihood (scale 0.1), 1000 training videos (500 for the walking
agent) rather than 100000, Adam from 1e-3 with a cosine decay and the KL annealed
over the first 1000 steps. The walking agent has the velocity recursion of section
7.4.2.2 (transition_type 'walking': d_t = c_s * tanh(sigmoid(c_f) * d_{t-1} + M a_t))
and regresses d_t on the true displacements in its own frame with weight
lambda = 1000 (a choice: the thesis gives none; the ELBO is about 3600 nats per
frame and the initial squared error about 0.05); the rows carry the true
displacements (first_person.displacements) as a target only. Like the thesis's
pre-trained agent, it does not walk into walls: a blocked move becomes a turn
(first_person.avoid_walls; without it, half the forward moves were blocked and
dead reckoning from the actions alone fits the positions with R^2 0.79 at best).
"""

from seqvi.train.experiment import dataset_config

VARIANTS = ("rotating", "rotating_state", "rotating_vrnn", "walking")


def get_config(variant: str = "rotating"):
    if variant not in VARIANTS:
        raise ValueError(f"the variant must be one of {VARIANTS}, got {variant!r}")
    kind = variant.split("_")[0]
    tau = {"rotating": 33, "walking": 150}[kind]
    if variant.endswith("_vrnn"):
        model = dict(name="vrnn", input_dim=3, latent_dim=64, rnn_dim=256, hidden_dim=256, emission_type="gaussian")
    else:
        model = dict(
            name="gtmsm", num_actions=3, latent_dim=64, state_dim=3, hidden=(256,), memory_length=tau,
            num_neighbours=tau, transition_noise=1e-2, transition_type="rotation",
            prior_type="state" if variant.endswith("_state") else "network", prior_hidden=128,
            emission_type="gaussian", pixel_scale=0.1)
        if kind == "walking":
            model.update(transition_type="walking", displacement_weight=1000.0)
    c = dataset_config("first_person", model, kind=kind)
    c.prediction_start = tau  # where the report starts predicting (a baseline has no memory_length)
    if kind == "walking":
        c.first_person.num_train = 500
        c.first_person.displacements = True
        c.first_person.avoid_walls = True
    c.learning_rate = 1e-3
    c.lr_decay = "cosine"
    c.num_steps = 6000 if kind == "rotating" else 3000
    c.kl_anneal_steps = 1000
    c.eval_every = 250
    c.checkpoint_every = 250
    return c
