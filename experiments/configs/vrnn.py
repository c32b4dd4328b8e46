"""VRNN trained with FIVO on polyphonic music.

  --config=experiments/configs/vrnn.py            JSB chorales (embedded in seqvi)
  --config=experiments/configs/vrnn.py:nottingham ../shared/data/polyphonic/Nottingham.mat
  --config=experiments/configs/vrnn.py:piano_midi ../shared/data/polyphonic/Piano_midi.mat

The JSB default budget finishes in under 10 minutes on a 2-core CPU. Nottingham
and Piano-midi train on pieces of at most 128 steps (evaluation always uses
whole sequences). Override any field with --config.<field>=value.
"""

import ml_collections


DATA = {
    "jsb": "",  # empty: the JSB chorales shipped inside seqvi
    "nottingham": "../shared/data/polyphonic/Nottingham.mat",
    "piano_midi": "../shared/data/polyphonic/Piano_midi.mat",
}


def get_config(dataset: str = "jsb") -> ml_collections.ConfigDict:
    if dataset not in DATA:
        raise ValueError(f"dataset must be one of {sorted(DATA)}, got {dataset!r}")
    c = ml_collections.ConfigDict()
    c.data_path = DATA[dataset]
    c.model = ml_collections.ConfigDict(
        dict(
            name="vrnn",
            latent_dim=16,
            rnn_dim=32,
            hidden_dim=32,
            emission_type="bernoulli",
            proposal_type="filtering",
            residual_q=False,
        )
    )
    c.bound = "fivo"  # elbo | iwae | fivo
    c.num_particles = 4
    c.resampling = "systematic"
    c.ess_threshold = 0.5
    c.free_bits = 0.0  # elbo only
    c.kl_anneal_steps = 0
    c.batch_size = 4
    c.max_train_length = 0 if dataset == "jsb" else 128  # 0: whole sequences
    c.learning_rate = 3e-3
    c.lr_decay = "cosine"
    c.warmup_steps = 100
    c.clip_norm = 10.0
    c.num_steps = 4000
    c.seed = 0
    c.log_every = 100
    c.checkpoint_every = 500
    c.eval_every = 1000
    c.eval = ml_collections.ConfigDict(dict(num_particles=16, batch_size=16, split="valid"))
    return c
