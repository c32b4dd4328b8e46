"""Writes notebooks/model_zoo.ipynb (generated so its source stays reviewable as
Python). Run: python notebooks/make_model_zoo.py"""

from nbformat.v4 import new_code_cell, new_markdown_cell
from notebook_writer import write

cells = [
    new_markdown_cell(
        "# The model zoo on a few chorales\n\n"
        "VRNN, VAE-RNN, SRNN, the deep Markov model and STORN's VRAE and VOSP share one data "
        "pipeline, one trainer and the same bounds. Here each trains briefly with the ELBO on the "
        "embedded JSB chorales at matched small sizes; then we compare their validation bounds, impute a "
        "missing stretch of a chorale with SMC and with STORN's iterative scheme, and denoise a corrupted "
        "one. Set `SEQVI_NOTEBOOK_STEPS` for a longer run (the test suite uses a tiny budget)."
    ),
    new_code_cell(
        "import os, time\n"
        "import jax, jax.numpy as jnp, numpy as np\n"
        "import matplotlib.pyplot as plt\n"
        "from seqvi import bounds, imputation, plot\n"
        "from seqvi.data import embedded_jsb_path, load_polyphonic, training_mean\n"
        "from seqvi.data.batching import BatchSchedule, pad_batch\n"
        "from seqvi.models import DMM, SRNN, VAERNN, VOSP, VRAE, VRNN, num_params\n"
        "from seqvi.train import Trainer, make_optimizer\n"
        "STEPS = int(os.environ.get('SEQVI_NOTEBOOK_STEPS', '400'))\n"
        "splits = load_polyphonic(embedded_jsb_path())\n"
        "mean = training_mean(splits['train'])\n"
        "D = 88"
    ),
    new_markdown_cell("Six models at similar sizes (latent 8, recurrent and hidden widths 32)."),
    new_code_cell(
        "models = {\n"
        "    'VRNN': VRNN(D, latent_dim=8, rnn_dim=32, hidden_dim=32),\n"
        "    'VAE-RNN': VAERNN(D, latent_dim=8, rnn_dim=32, hidden_dim=32),\n"
        "    'SRNN (smooth, Res_q)': SRNN(D, latent_dim=8, rnn_dim=32, hidden_dim=32),\n"
        "    'DMM (gated, smooth)': DMM(D, latent_dim=8, transition_dim=32, emission_dim=32, rnn_dim=32),\n"
        "    'VOSP': VOSP(D, latent_dim=8, rnn_dim=32, hidden_dim=32),\n"
        "    'VRAE (Wiener prior)': VRAE(D, latent_dim=8, rnn_dim=32, hidden_dim=32, prior_type='wiener'),\n"
        "}\n"
        "params = {name: m.init(jax.random.key(0), mean) for name, m in models.items()}\n"
        "for name in models: print(f'{name:22s} {num_params(params[name]):6d} parameters')"
    ),
    new_markdown_cell("Train each with the ELBO: batch 4, Adam with cosine decay."),
    new_code_cell(
        "schedule = BatchSchedule(splits['train'], batch_size=4, seed=0)\n"
        "for name, model in models.items():\n"
        "    trainer = Trainer(bounds.batch_loss(bounds.get_bound('elbo'), model), make_optimizer(3e-3, STEPS), None)\n"
        "    start = time.time()\n"
        "    state = trainer.fit(trainer.init_state(params[name]), schedule.batch, STEPS, log_every=STEPS)\n"
        "    params[name] = state.params\n"
        "    print(f'{name}: {STEPS} steps in {time.time() - start:.0f} s')"
    ),
    new_markdown_cell(
        "Validation bounds per time step (ratio of sums over 8 chorales). FIVO needs sequential "
        "importance weights, so it does not apply to the VRAE, whose x_t depends on future latents."
    ),
    new_code_cell(
        "batch = pad_batch(splits['valid'][:8])\n"
        "def per_step(model, p, name, **kw):\n"
        "    fn = bounds.get_bound(name, **kw)\n"
        "    r = jax.jit(lambda p, b, k: bounds.batch_bounds(fn, model, p, b, k))(p, batch, jax.random.key(1))\n"
        "    return float(r.bound.sum() / batch['lengths'].sum())\n"
        "table = {}\n"
        "for name, model in models.items():\n"
        "    row = {'ELBO': per_step(model, params[name], 'elbo'),\n"
        "           'IWAE(8)': per_step(model, params[name], 'iwae', num_particles=8)}\n"
        "    if not isinstance(model, VRAE):\n"
        "        row['FIVO(8)'] = per_step(model, params[name], 'fivo', num_particles=8)\n"
        "    table[name] = row\n"
        "    print(f'{name:22s} ' + '  '.join(f'{k} {v:7.3f}' for k, v in row.items()))\n"
        "fig, ax = plt.subplots(figsize=(8, 3))\n"
        "names = list(table)\n"
        "for i, bound in enumerate(['ELBO', 'IWAE(8)', 'FIVO(8)']):\n"
        "    ax.bar(np.arange(len(names)) + 0.27 * (i - 1), [table[n].get(bound, np.nan) for n in names], 0.27, label=bound)\n"
        "ax.set_xticks(range(len(names)), names, rotation=20, fontsize=8)\n"
        "ax.set_ylabel('valid bound per step (nats)'); ax.legend(); fig.tight_layout()"
    ),
    new_markdown_cell(
        "**Imputation.** Eight steps of a validation chorale go missing. SMC imputation (VRNN and DMM) "
        "conditions on the observed steps and samples the missing ones; STORN's iterative imputation (VRAE) "
        "starts from the training mean and repeatedly replaces the gap by the reconstruction. The error is "
        "the fraction of wrongly set pitches in the gap (threshold 0.5)."
    ),
    new_code_cell(
        "x = jnp.asarray(splits['valid'][1][:48], jnp.float32)\n"
        "T = x.shape[0]\n"
        "observed = ~((jnp.arange(T) >= 20) & (jnp.arange(T) < 28))\n"
        "gap = ~observed[:, None]\n"
        "recovered = {}\n"
        "for name in ['VRNN', 'DMM (gated, smooth)']:\n"
        "    r = jax.jit(lambda p, k: imputation.smc_impute(models[name], p, x, observed, T, k, num_particles=64))(\n"
        "        params[name], jax.random.key(3))\n"
        "    recovered[f'{name}: SMC posterior mean'] = r.mean()\n"
        "recovered['VRAE: iterative'] = imputation.iterative_impute(models['VRAE (Wiener prior)'],\n"
        "    params['VRAE (Wiener prior)'], x, observed, T, num_iterations=10)\n"
        "for name, value in recovered.items():\n"
        "    print(f'{name:32s} error in the gap {float(imputation.incorrect_fraction(x, value, gap)):.3f}')\n"
        "print(f\"{'training mean (baseline)':32s} error in the gap \"\n"
        "      f\"{float(imputation.incorrect_fraction(x, jnp.broadcast_to(mean, x.shape), gap)):.3f}\")\n"
        "corrupted = imputation.fill_missing(params['VRNN'], x, observed)\n"
        "fig, axes = plt.subplots(2 + len(recovered), 1, figsize=(9, 2 * (2 + len(recovered))))\n"
        "plot.piano_roll(axes[0], x, 'clean', missing=~observed)\n"
        "plot.piano_roll(axes[1], corrupted, 'gap filled with the training mean', missing=~observed)\n"
        "for ax, (name, value) in zip(axes[2:], recovered.items()):\n"
        "    plot.piano_roll(ax, value, name, missing=~observed)\n"
        "fig.tight_layout()"
    ),
    new_markdown_cell(
        "**Denoising** (STORN, section 4): flip 5% of the pitches, then take the mode of q(z | noisy x) and "
        "the mean of p(x | z). VOSP denoises online, VRAE with the whole sequence."
    ),
    new_code_cell(
        "noisy = imputation.corrupt_binary(jax.random.key(4), x, 0.05)\n"
        "everywhere = jnp.ones_like(x, bool)\n"
        "print(f'noisy input                      error {float(imputation.incorrect_fraction(x, noisy, everywhere)):.3f}')\n"
        "denoised = {name: models[name].reconstruct(params[name], noisy, T) for name in ['VOSP', 'VRAE (Wiener prior)']}\n"
        "for name, value in denoised.items():\n"
        "    print(f'{name:32s} error {float(imputation.incorrect_fraction(x, value, everywhere)):.3f}')\n"
        "fig, axes = plt.subplots(2 + len(denoised), 1, figsize=(9, 2 * (2 + len(denoised))))\n"
        "plot.piano_roll(axes[0], x, 'clean'); plot.piano_roll(axes[1], noisy, 'corrupted')\n"
        "for ax, (name, value) in zip(axes[2:], denoised.items()):\n"
        "    plot.piano_roll(ax, value, f'{name}: denoised (mean of p)')\n"
        "fig.tight_layout()"
    ),
]
write(cells, "model_zoo.ipynb")
