"""Writes notebooks/localgan_dialogue.ipynb (generated so its source stays reviewable
as Python). Run: python notebooks/make_localgan_notebook.py"""

from nbformat.v4 import new_code_cell, new_markdown_cell
from notebook_writer import write

cells = [
    new_markdown_cell(
        "# LocalGAN: adversarial responses shaped by a DBM's free energy\n\n"
        "A Seq2Seq generator is first trained by maximum likelihood; a deep Boltzmann machine learns the "
        "joint distribution of (query, response) pairs as averaged word vectors; then the generator plays "
        "against a discriminator read off the DBM, with LocalGAN's hinge pushing its responses to lie as "
        "far from the DBM's centre r_c(q) as the gold responses do (the radial distribution alpha). "
        "Here all of it runs on the chatterbot conversations embedded in seqvi, beside GAN-AEL started "
        "from the same generator. Set `SEQVI_NOTEBOOK_STEPS` for longer runs (the tests use a tiny budget)."
    ),
    new_code_cell(
        "import os, time\n"
        "import jax, jax.numpy as jnp, numpy as np\n"
        "import matplotlib.pyplot as plt\n"
        "from seqvi import metrics\n"
        "from seqvi.data.dialogue import DialogueSchedule, encode_pairs\n"
        "from seqvi.models import localgan, num_params\n"
        "from seqvi.train import experiment\n"
        "from seqvi.generation import responses\n"
        "STEPS = int(os.environ.get('SEQVI_NOTEBOOK_STEPS', '600'))\n"
        "pre = experiment.dataset_config('chatterbot', dict(name='seq2seq', embed_dim=64, hidden_dim=128))\n"
        "pre.bound = 'nll'\n"
        "run = experiment.prepare(pre)\n"
        "splits, vocab = run.splits, run.extras['vocab']\n"
        "print({s: len(p) for s, p in splits.items()}, 'pairs; vocabulary', len(vocab))"
    ),
    new_markdown_cell("**1. Pretraining** the generator by maximum likelihood (teacher forcing)."),
    new_code_cell(
        "schedule = DialogueSchedule(splits['train'], vocab, 32, pre.max_context, pre.max_response)\n"
        "start = time.time()\n"
        "state = run.trainer.fit(run.trainer.init_state(run.params), schedule.batch, STEPS, log_every=max(STEPS // 3, 1))\n"
        "pretrained = state.params\n"
        "print(f'Seq2Seq: {num_params(pretrained)} parameters, {STEPS} steps in {time.time() - start:.0f} s')"
    ),
    new_markdown_cell(
        "**2. The DBM** over v = [q, r] (standardised averaged word2vec vectors of the training pairs), "
        "trained by persistent contrastive divergence inside `fit_to_data`. Its free energy should be "
        "lower for real pairs than for mismatched ones (a query with another query's response)."
    ),
    new_code_cell(
        "configs = {}\n"
        "for name in ('localgan', 'gan_ael'):\n"
        "    c = experiment.dataset_config('chatterbot', dict(name=name, embed_dim=64, hidden_dim=128))\n"
        "    c.bound, c.learning_rate = 'adversarial', 1e-4\n"
        "    configs[name] = c\n"
        "gan_run = experiment.prepare(configs['localgan'])  # fits the word vectors, standardisation and DBM\n"
        "model, params = gan_run.model, dict(gan_run.params, **{k: pretrained[k] for k in pretrained})\n"
        "pairs = {k: jnp.asarray(v) for k, v in encode_pairs(splits['test'], vocab, 20, 20)._asdict().items()}\n"
        "q, gold, _ = model.pair_vectors(params, pairs, jnp.zeros(pairs['response_out'].shape + (len(vocab),)),\n"
        "                                jnp.zeros(pairs['response_out'].shape, bool))\n"
        "p = model.dbm_params(params)\n"
        "free = jax.vmap(lambda a, b: localgan.dbm.free_energy_mean_field(p, jnp.concatenate([a, b])))\n"
        "real, shuffled = free(q, gold), free(q, jnp.roll(gold, 1, axis=0))\n"
        "print(f'mean free energy: real pairs {float(real.mean()):.2f}, mismatched pairs {float(shuffled.mean()):.2f}')\n"
        "alpha = jax.vmap(lambda a, b: localgan.radial_distribution(p, a, b))(q, gold)\n"
        "plt.hist(np.asarray(alpha), 30); plt.xlabel('alpha(q, r) of the gold test responses'); plt.show()"
    ),
    new_markdown_cell(
        "**3. The game.** LocalGAN and GAN-AEL, both from the pretrained generator, for the same number "
        "of steps; every 1/4 of the run, Ent-4 of greedy answers to the validation contexts."
    ),
    new_code_cell(
        "trained = {}\n"
        "for name, c in configs.items():\n"
        "    c.num_steps = STEPS\n"
        "    r = gan_run if name == 'localgan' else experiment.prepare(c)\n"
        "    start_params = dict(r.params, **{k: pretrained[k] for k in pretrained})\n"
        "    def eval_fn(p, r=r, c=c):\n"
        "        return r.task.generation_scores(c, p, r.model, splits['valid'], r.extras)\n"
        "    state = r.trainer.fit(r.trainer.init_state(start_params), r.batch_at, STEPS, log_every=max(STEPS // 3, 1),\n"
        "                          eval_fn=eval_fn, eval_every=max(STEPS // 4, 1))\n"
        "    trained[name] = (r.model, state.params)\n"
        "    print(name, 'done')\n"
        "print('Ent-4 of the pretrained generator:',\n"
        "      round(run.task.generation_scores(pre, pretrained, run.model, splits['valid'], run.extras)['ent4'], 3))"
    ),
    new_markdown_cell("**4. Answers and scores** on the test pairs (greedy decoding; Rel. = greedy + average + extrema)."),
    new_code_cell(
        "from seqvi.metrics import text_scores\n"
        "contexts = [c for c, _ in splits['test']]\n"
        "answers = {'Seq2Seq (MLE)': responses(run.model, pretrained, contexts, vocab, pre)}\n"
        "for name, (m, p) in trained.items():\n"
        "    answers[name] = responses(m, p, contexts, vocab, configs[name])\n"
        "for name, out in answers.items():\n"
        "    s = text_scores(splits['test'], out, splits['train'], None, 0)\n"
        "    print(f\"{name:>14}: Dist-1 {s['distinct1']:.3f}  Dist-2 {s['distinct2']:.3f}  Ent4 {s['ent4']:.3f}  Rel. {s['rel']:.3f}\")\n"
        "for i in range(3):\n"
        "    print('\\ncontext:', contexts[i])\n"
        "    for name, out in answers.items():\n"
        "        print(f'  {name:>14}: ' + ' '.join(out[i][0]))"
    ),
]

write(cells, "localgan_dialogue.ipynb")
