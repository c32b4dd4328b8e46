"""Writes notebooks/gtmsm_navigation.ipynb (generated so its source stays reviewable
as Python). Run: python notebooks/make_gtmsm_notebook.py"""

from nbformat.v4 import new_code_cell, new_markdown_cell
from notebook_writer import write

cells = [
    new_markdown_cell(
        "# GTM-SM: remembering where you have been\n\n"
        "An agent walks over a 32 x 32 image and sees only the 8 x 8 patch under it. GTM-SM infers its "
        "position s_t from the actions alone, stores (s_t, encoding of the view) in a differentiable "
        "neural dictionary during the first tau steps, and afterwards predicts what it will see from the "
        "K stored views nearest to where it believes it is. Set `SEQVI_NOTEBOOK_STEPS` for a longer run "
        "(the tests use a tiny budget; `experiments/configs/gtmsm.py` is the full one)."
    ),
    new_code_cell(
        "import os, time\n"
        "import jax, jax.numpy as jnp, numpy as np\n"
        "import matplotlib.pyplot as plt\n"
        "from seqvi.data import navigation as nav\n"
        "from seqvi.train import experiment\n"
        "STEPS = int(os.environ.get('SEQVI_NOTEBOOK_STEPS', '4000'))\n"
        "walks = nav.generate(nav.NavigationSpec(num_steps=96), 4, seed=1, images=nav.TEST_IMAGES)\n"
        "fig, axes = plt.subplots(1, 5, figsize=(12, 2.6))\n"
        "axes[0].imshow(walks.environments[0], cmap='gray'); axes[0].set_title('environment')\n"
        "path = walks.positions[0] * nav.STRIDE + nav.VIEW / 2\n"
        "axes[0].plot(path[:, 1], path[:, 0], 'y-', lw=0.8)\n"
        "for ax, t in zip(axes[1:], (0, 10, 20, 30)):\n"
        "    ax.imshow(walks.frames[0, t].reshape(8, 8), cmap='gray', vmin=0, vmax=1)\n"
        "    ax.set_title(f't = {t + 1}: ' + nav.ACTIONS[walks.actions[0, t].argmax()])\n"
        "for ax in axes: ax.set(xticks=[], yticks=[])\n"
        "plt.show()"
    ),
    new_markdown_cell(
        "Train on short walks (64 memorised steps, 32 predicted) through the same pipeline as every "
        "seqvi model, with the memory prior and with the ablation that has none."
    ),
    new_code_cell(
        "trained = {}\n"
        "for kind in ('memory', 'state'):\n"
        "    c = experiment.dataset_config('navigation', dict(name='gtmsm', latent_dim=16, hidden=(128,), memory_length=64,\n"
        "                                          num_neighbours=64, prior_type=kind))\n"
        "    c.navigation.update(num_steps=96, test_steps=160, num_train=400, num_valid=10, num_test=20)\n"
        "    c.num_steps, c.kl_anneal_steps, c.learning_rate = STEPS, max(STEPS // 4, 1), 1e-3\n"
        "    run = experiment.prepare(c)\n"
        "    start = time.time()\n"
        "    state = run.trainer.fit(run.trainer.init_state(run.params), run.batch_at, STEPS, log_every=max(STEPS // 4, 1))\n"
        "    trained[kind] = (run, state.params)\n"
        "    print(f'{kind}: {STEPS} steps in {time.time() - start:.0f} s')"
    ),
    new_markdown_cell(
        "**Prediction from memory** on test walks in environments cut from images never seen in "
        "training: per-pixel error against the horizon, and how well the inferred states map to the true "
        "positions (R^2 of an affine fit over the memorised steps)."
    ),
    new_code_cell(
        "from seqvi import prediction\n"
        "from seqvi.datasets.navigation import navigation_test_walks\n"
        "for kind, (run, params) in trained.items():\n"
        "    test = navigation_test_walks(run.config.navigation)\n"
        "    r = prediction.horizon_metrics(run.model, params, test)\n"
        "    plt.plot(np.arange(1, len(r['error_all']) + 1), r['error_revisited'], label=f'{kind}: revisited')\n"
        "    print(f\"{kind}: error at horizon 1 {r['error_revisited'][0]:.3f}, at 96 {r['error_revisited'][95]:.3f}; \"\n"
        "          f\"affine R^2 {np.nanmean(r['r2']):.2f}\")\n"
        "plt.xlabel('steps after the memorisation phase'); plt.ylabel('per-pixel error'); plt.legend(); plt.show()"
    ),
    new_code_cell(
        "run, params = trained['memory']\n"
        "r = prediction.horizon_metrics(run.model, params, test)\n"
        "fig, axes = plt.subplots(2, 8, figsize=(12, 3.2))\n"
        "for j, h in enumerate(np.linspace(1, 96, 8).astype(int)):\n"
        "    axes[0, j].imshow(test.frames[0, 64 + h - 1].reshape(8, 8), cmap='gray', vmin=0, vmax=1)\n"
        "    axes[1, j].imshow(r['predicted'][0, h - 1].reshape(8, 8), cmap='gray', vmin=0, vmax=1)\n"
        "    axes[0, j].set_title(f'+{h}')\n"
        "for ax in axes.ravel(): ax.set(xticks=[], yticks=[])\n"
        "axes[0, 0].set_ylabel('true'); axes[1, 0].set_ylabel('predicted'); plt.show()"
    ),
]

write(cells, "gtmsm_navigation.ipynb")
