"""Writes notebooks/kvae_bouncing_ball.ipynb (generated so its source stays
reviewable as Python). Run: python notebooks/make_kvae_notebook.py"""

from nbformat.v4 import new_code_cell, new_markdown_cell
from notebook_writer import write

cells = [
    new_markdown_cell(
        "# KVAE: a bouncing ball\n\n"
        "The Kalman VAE separates *what a frame shows* from *how things move*. A VAE compresses each "
        "32x32 frame x_t into a 2-d a_t (the ball's position, ideally), and a linear-Gaussian state-space "
        "model over a_t, with matrices chosen at every step by an LSTM (the dynamics parameter network), "
        "carries the dynamics. Inference over the states z_t is exact Kalman smoothing, which also fills in "
        "missing frames. Set `SEQVI_NOTEBOOK_STEPS` for a longer run (the test suite uses a tiny budget)."
    ),
    new_code_cell(
        "import os, tempfile, time\n"
        "import jax, jax.numpy as jnp, numpy as np\n"
        "import matplotlib.pyplot as plt\n"
        "from IPython.display import Image\n"
        "from seqvi import imputation, plot\n"
        "from seqvi.data import physics\n"
        "from seqvi.data.batching import BatchSchedule\n"
        "from seqvi.models import KVAE, num_params\n"
        "from seqvi.train import Trainer, make_optimizer\n"
        "STEPS = int(os.environ.get('SEQVI_NOTEBOOK_STEPS', '1500'))\n"
        "spec = physics.PhysicsSpec('box')\n"
        "train = physics.generate(spec, 1000, seed=0)\n"
        "test = physics.generate(spec, 50, seed=1)\n"
        "rows = lambda d: d.frames.reshape(d.frames.shape[:2] + (-1,)).astype(np.float32)\n"
        "print(f'{len(train.frames)} training videos of {spec.num_steps} frames, {spec.image_size}x{spec.image_size}')\n"
        "out = tempfile.mkdtemp()\n"
        "Image(str(plot.save_trajectories(list(train.frames[:6]), [f'video {i}' for i in range(6)], f'{out}/data.png')))"
    ),
    new_markdown_cell(
        "Colour runs from early (purple) to late (yellow). Train the KVAE: reconstruction weighted 0.3 "
        "and the dynamics network frozen for the first quarter of the steps (section 6.8)."
    ),
    new_code_cell(
        "model = KVAE(image_size=32, a_dim=2, latent_dim=4, num_matrices=3, network='mlp', hidden_dim=128)\n"
        "params = model.init(jax.random.key(0), rows(train).mean((0, 1)))\n"
        "print(f'{num_params(params)} parameters')\n"
        "optimizer = make_optimizer(1e-3, STEPS, frozen=('alpha',), frozen_steps=STEPS // 4)\n"
        "trainer = Trainer(model.objective(), optimizer, None)\n"
        "schedule = BatchSchedule(list(rows(train)), 32, seed=0, pad_multiple=spec.num_steps)\n"
        "start = time.time()\n"
        "params = trainer.fit(trainer.init_state(params), schedule.batch, STEPS, log_every=max(STEPS // 5, 1)).params\n"
        "print(f'{STEPS} steps in {time.time() - start:.0f} s')"
    ),
    new_markdown_cell(
        "**Imputation.** Frames 4-11 of each test video are removed. Filtering uses only the frames "
        "before a gap, smoothing also those after it; both decode a_t = C_t E[z_t | observed a]. "
        "The error is the fraction of wrong pixels in the missing frames (threshold 0.5); blank frames "
        "are the baseline to beat."
    ),
    new_code_cell(
        "x = jnp.asarray(rows(test))\n"
        "mask = jnp.ones(x.shape[:2], bool).at[:, 4:12].set(False)\n"
        "missing = ~mask[..., None]\n"
        "print(f'blank frames     error {float(imputation.incorrect_fraction(x, jnp.zeros_like(x), missing)):.4f}')\n"
        "imputed = {}\n"
        "for method in ('filtering', 'smoothing'):\n"
        "    imputed[method] = jax.jit(jax.vmap(lambda f, m: model.impute(params, f, m, method=method)))(x, mask)\n"
        "    print(f'KVAE {method:10s}  error {float(imputation.incorrect_fraction(x, imputed[method], missing)):.4f}')\n"
        "grid = [np.asarray(v[0]).reshape(-1, 32, 32) for v in [x] + list(imputed.values())]\n"
        "Image(str(plot.save_frame_grid(grid, ['truth', 'filtering', 'smoothing'], f'{out}/imputed.png', ~np.asarray(mask[0]))))"
    ),
    new_markdown_cell("**Generation** from the prior: z_1 ~ p(z_1), then the LGSSM with the matrices the LSTM picks."),
    new_code_cell(
        "keys = jax.random.split(jax.random.key(3), 6)\n"
        "videos = jax.vmap(lambda k: model.generate(params, k, 20, emission_mode='mean')[0])(keys)\n"
        "videos = np.asarray(videos).reshape(6, 20, 32, 32)\n"
        "Image(str(plot.save_trajectories(list(videos), [f'generated {i}' for i in range(6)], f'{out}/generated.png')))"
    ),
]
write(cells, "kvae_bouncing_ball.ipynb")
