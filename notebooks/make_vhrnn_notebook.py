"""Writes notebooks/vhrnn_system_identification.ipynb (generated so its source
stays reviewable as Python). Run: python notebooks/make_vhrnn_notebook.py"""

from nbformat.v4 import new_code_cell, new_markdown_cell
from notebook_writer import write

cells = [
    new_markdown_cell(
        "# VHRNN identifies a linear system\n\n"
        "The VHRNN's latent z_t drives hypernetworks that rescale its recurrent cell's and its decoder's "
        "weights at every step. On the synthetic suite (2-D linear dynamics x_t = W x_{t-1} + sigma_t eps_t, "
        "W one of 10 matrices, noise switching twice) the latent has to find out which W and which noise "
        "level a sequence has. The KL between posterior and prior measures how much the model learns from "
        "each new observation: it is large while the dynamics are being identified, drops once they are, "
        "and rises again when the system changes (the SWITCH setting concatenates three sequences with "
        "different W). Set `SEQVI_NOTEBOOK_STEPS` for a longer run (the test suite uses a tiny budget)."
    ),
    new_code_cell(
        "import os, tempfile, time\n"
        "import jax, jax.numpy as jnp, numpy as np\n"
        "import matplotlib.pyplot as plt\n"
        "from seqvi import bounds, plot\n"
        "from seqvi.data import synthetic, training_mean\n"
        "from seqvi.data.batching import BatchSchedule\n"
        "from seqvi.diagnostics import step_diagnostics\n"
        "from seqvi.models import VHRNN, num_params\n"
        "from seqvi.train import Trainer, make_optimizer\n"
        "STEPS = int(os.environ.get('SEQVI_NOTEBOOK_STEPS', '2000'))\n"
        "spec = synthetic.SyntheticSpec()\n"
        "train = list(synthetic.generate('train', spec).xs)\n"
        "test, switch = synthetic.generate('test', spec), synthetic.generate('switch', spec)\n"
        "print(f'{len(train)} training sequences of {spec.length} steps; SWITCH sequences have {switch.xs.shape[1]}')"
    ),
    new_markdown_cell(
        "A VHRNN with a 4-dimensional latent and 4 hidden units (the paper's small synthetic model), "
        "trained with FIVO (4 particles, batch 4)."
    ),
    new_code_cell(
        "model = VHRNN(2, latent_dim=4, rnn_dim=4, hidden_dim=16, hyper_dim=4, omega_hidden=64)\n"
        "params = model.init(jax.random.key(0), training_mean(train))\n"
        "print(f'{num_params(params)} parameters')\n"
        "loss = bounds.batch_loss(bounds.get_bound('fivo', num_particles=4), model)\n"
        "trainer = Trainer(loss, make_optimizer(3e-3, STEPS, warmup_steps=min(100, STEPS // 2)), None)\n"
        "start = time.time()\n"
        "state = trainer.fit(trainer.init_state(params), BatchSchedule(train, 4, seed=0).batch, STEPS,\n"
        "                    log_every=max(STEPS // 4, 1))\n"
        "params = state.params\n"
        "print(f'{STEPS} steps in {time.time() - start:.0f} s')"
    ),
    new_markdown_cell(
        "Diagnostics along the posterior: KL(q || p) per step, the L2 error of the one-step-ahead "
        "predicted mean and the predicted log-variance (`seqvi.diagnostics.step_diagnostics`)."
    ),
    new_code_cell(
        "diagnose = jax.jit(jax.vmap(lambda x, k: step_diagnostics(model, params, x, x.shape[0], k)))\n"
        "def traces(data):\n"
        "    keys = jax.random.split(jax.random.key(1), data.xs.shape[0])\n"
        "    return jax.device_get(diagnose(jnp.asarray(data.xs), keys))\n"
        "on_test = traces(test)\n"
        "kl = on_test.kl.mean(0)\n"
        "print(f'test: mean KL per step over steps 1-5 {kl[:5].mean():.3f}, over steps 50-100 {kl[50:].mean():.3f}')\n"
        "plt.figure(figsize=(8, 2.5)); plt.plot(kl); plt.xlabel('time step'); plt.ylabel('KL(q || p)')\n"
        "plt.title('test sequences: KL per step, mean over 100 sequences'); plt.tight_layout()"
    ),
    new_markdown_cell(
        "On SWITCH the dynamics change at steps 100 and 200 (dashed lines). The KL right after each "
        "boundary, where the new W must be identified, against the KL elsewhere:"
    ),
    new_code_cell(
        "on_switch = traces(switch)\n"
        "kl = on_switch.kl.mean(0)\n"
        "after = np.concatenate([kl[b:b + 5] for b in (100, 200)])\n"
        "elsewhere = np.concatenate([kl[b + 20:b + 100] for b in (0, 100, 200)])\n"
        "print(f'switch: mean KL in the 5 steps after a boundary {after.mean():.3f}, '\n"
        "      f'20-100 steps after a start {elsewhere.mean():.3f}')\n"
        "one = jax.tree.map(lambda v: v[0], on_switch)\n"
        "path = plot.diagnostics_figure(switch.xs[0], {'VHRNN': one}, os.path.join(tempfile.mkdtemp(), 'switch.png'),\n"
        "                               switch.noise_scale[0], switch.matrix[0], 'SWITCH, sequence 0')\n"
        "from IPython.display import Image; Image(str(path))"
    ),
]
write(cells, "vhrnn_system_identification.ipynb")
