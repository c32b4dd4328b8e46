"""Writes notebooks/vrnn_quickstart.ipynb (the notebook is generated so its source
stays reviewable as Python). Run: python notebooks/make_quickstart.py"""

from nbformat.v4 import new_code_cell, new_markdown_cell
from notebook_writer import write

cells = [
    new_markdown_cell(
        "# VRNN quickstart\n\n"
        "Build a VRNN (Chung et al. 2015), compute its ELBO, IWAE and FIVO bounds on a few JSB "
        "chorales, train it briefly with FIVO, and look at a sample. Runs on CPU; set "
        "`SEQVI_NOTEBOOK_STEPS` for a longer run (the test suite runs it with a tiny budget)."
    ),
    new_code_cell(
        "import os\n"
        "import jax, jax.numpy as jnp, numpy as np\n"
        "from seqvi import bounds, plot, smc\n"
        "from seqvi.data import embedded_jsb_path, load_polyphonic, training_mean\n"
        "from seqvi.data.batching import BatchSchedule, pad_batch\n"
        "from seqvi.models import VRNN\n"
        "from seqvi.train import Trainer, make_optimizer\n"
        "STEPS = int(os.environ.get('SEQVI_NOTEBOOK_STEPS', '300'))"
    ),
    new_markdown_cell("The JSB chorales ship inside seqvi: 88-pitch binary piano rolls."),
    new_code_cell(
        "splits = load_polyphonic(embedded_jsb_path())\n"
        "print({k: len(v) for k, v in splits.items()})\n"
        "model = VRNN(data_dim=88, latent_dim=16, rnn_dim=32, hidden_dim=32)\n"
        "params = model.init(jax.random.key(0), training_mean(splits['train']))\n"
        "batch = pad_batch(splits['valid'][:4])"
    ),
    new_markdown_cell(
        "Three bounds on log p(x) for the same (untrained) model, per time step. "
        "In expectation ELBO <= IWAE(K) and FIVO(K) <= log p(x)."
    ),
    new_code_cell(
        "def per_step(name, **kw):\n"
        "    fn = bounds.get_bound(name, **kw)\n"
        "    r = jax.jit(lambda p, b, k: bounds.batch_bounds(fn, model, p, b, k))(params, batch, jax.random.key(1))\n"
        "    return float(r.bound.sum() / batch['lengths'].sum())\n"
        "before = {n: per_step(n, **kw) for n, kw in [('elbo', {}), ('iwae', {'num_particles': 8}), "
        "('fivo', {'num_particles': 8})]}\n"
        "before"
    ),
    new_markdown_cell("Train with FIVO (4 particles, systematic resampling when ESS < N/2)."),
    new_code_cell(
        "loss = bounds.batch_loss(bounds.get_bound('fivo', num_particles=4), model)\n"
        "trainer = Trainer(loss, make_optimizer(3e-3, STEPS), workdir=None)\n"
        "schedule = BatchSchedule(splits['train'], batch_size=4, seed=0)\n"
        "state = trainer.fit(trainer.init_state(params), schedule.batch, STEPS, log_every=max(1, STEPS // 5))\n"
        "params = state.params\n"
        "after = {n: per_step(n, **kw) for n, kw in [('elbo', {}), ('iwae', {'num_particles': 8}), "
        "('fivo', {'num_particles': 8})]}\n"
        "print('before', before)\nprint('after ', after)"
    ),
    new_markdown_cell("A continuation: 16 steps of a validation chorale, then the model's own music."),
    new_code_cell(
        "prefix = splits['valid'][0][:16].astype(np.float32)\n"
        "cont = smc.continue_sequence(model, params, jax.random.key(2), prefix, 16, 48)\n"
        "import matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(figsize=(10, 3))\n"
        "plot.piano_roll(ax, np.vstack([prefix, np.asarray(cont)]), 'given | sampled', start_marker=16)"
    ),
]
write(cells, "vrnn_quickstart.ipynb")
