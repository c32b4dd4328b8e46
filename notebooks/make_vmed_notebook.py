"""Writes notebooks/vmed_dialogue.ipynb (generated so its source stays reviewable
as Python). Run: python notebooks/make_vmed_notebook.py"""

from nbformat.v4 import new_code_cell, new_markdown_cell
from notebook_writer import write

cells = [
    new_markdown_cell(
        "# VMED: diverse responses from a memory\n\n"
        "The variational memory encoder-decoder writes the context into a DNC memory; while it decodes, "
        "each of its K read heads proposes one mode of a mixture-of-Gaussians prior over a latent z_t, so "
        "sampling z_t picks among several readings of the memory at every word. Here it trains briefly on "
        "the chatterbot conversations embedded in seqvi, next to a Seq2Seq with attention, and both answer "
        "test contexts. Set `SEQVI_NOTEBOOK_STEPS` for a longer run (the test suite uses a tiny budget; "
        "the corpus is small, so expect rough answers)."
    ),
    new_code_cell(
        "import os, time\n"
        "import jax, numpy as np\n"
        "import matplotlib.pyplot as plt\n"
        "from seqvi import metrics\n"
        "from seqvi.data import dialogue\n"
        "from seqvi.data.dialogue import DialogueSchedule, tokenize\n"
        "from seqvi.models import num_params\n"
        "from seqvi.train import experiment\n"
        "from seqvi.generation import responses\n"
        "STEPS = int(os.environ.get('SEQVI_NOTEBOOK_STEPS', '800'))\n"
        "configs = {\n"
        "    'Seq2Seq+attention': experiment.dataset_config('chatterbot', dict(name='seq2seq', embed_dim=64, hidden_dim=128, attention=True)),\n"
        "    'VMED (K=3)': experiment.dataset_config('chatterbot', dict(name='vmed', embed_dim=64, hidden_dim=128, num_slots=16,\n"
        "                                                   num_reads=3, latent_dim=16)),\n"
        "}\n"
        "configs['Seq2Seq+attention'].bound, configs['VMED (K=3)'].bound = 'nll', 'dvar'\n"
        "run = experiment.prepare(configs['VMED (K=3)'])  # the data and vocabulary both models use\n"
        "splits, vocab = run.splits, run.extras['vocab']\n"
        "print({s: len(p) for s, p in splits.items()}, 'pairs; vocabulary', len(vocab))\n"
        "print(splits['train'][:3])"
    ),
    new_markdown_cell("Train both for the same number of steps (VMED's KL weight rises over the first half)."),
    new_code_cell(
        "trained = {}\n"
        "for name, config in configs.items():\n"
        "    config.num_steps = STEPS\n"
        "    config.kl_anneal_steps = STEPS // 2 if config.model.name == 'vmed' else 0\n"
        "    model = experiment.build_model(config, len(vocab))\n"
        "    params = model.init(jax.random.key(0))\n"
        "    trainer = experiment.build_trainer(config, model.objective(experiment.objective_options(config)), None,\n"
        "                                       model=model)\n"
        "    schedule = DialogueSchedule(splits['train'], vocab, 32, config.max_context, config.max_response)\n"
        "    start = time.time()\n"
        "    state = trainer.fit(trainer.init_state(params), schedule.batch, STEPS, log_every=max(STEPS // 4, 1))\n"
        "    trained[name] = (config, model, state.params)\n"
        "    print(f'{name}: {num_params(params)} parameters, {STEPS} steps in {time.time() - start:.0f} s')"
    ),
    new_markdown_cell("Five sampled answers each to a few test contexts (temperature 0.8):"),
    new_code_cell(
        "contexts = [c for c, _ in splits['test'][:3]]\n"
        "answers = {name: responses(model, params, contexts, vocab, config, method='sample', num_samples=5,\n"
        "                              temperature=0.8, key=jax.random.key(1))\n"
        "           for name, (config, model, params) in trained.items()}\n"
        "for i, context in enumerate(contexts):\n"
        "    print('context:', context)\n"
        "    for name in trained:\n"
        "        for words in answers[name][i]:\n"
        "            print(f'  {name:>18}: ' + ' '.join(words))\n"
        "    print()"
    ),
    new_markdown_cell(
        "**Metrics** on the test pairs, ten samples per context: BLEU-1/4 (smoothed sentence BLEU), "
        "A-Glove (embedding average; word2vec trained on the training pairs here, GloVe with "
        "`metrics.load_embeddings`), Distinct-1/2 and Ent-4."
    ),
    new_code_cell(
        "emb = metrics.train_embeddings([tokenize(u) for p in splits['train'] for u in p])\n"
        "pairs = splits['test']\n"
        "rows = {}\n"
        "for name, (config, model, params) in trained.items():\n"
        "    out = responses(model, params, [c for c, _ in pairs], vocab, config, method='sample', num_samples=10,\n"
        "                       key=jax.random.key(2))\n"
        "    refs = [tokenize(r) for _, r in pairs]\n"
        "    flat = [(ref, hyp) for ref, hyps in zip(refs, out) for hyp in hyps]\n"
        "    everything = [hyp for _, hyp in flat]\n"
        "    rows[name] = {\n"
        "        'BLEU-1': np.mean([metrics.bleu([r], h, 1) if h else 0.0 for r, h in flat]),\n"
        "        'BLEU-4': np.mean([metrics.bleu([r], h, 4) if h else 0.0 for r, h in flat]),\n"
        "        'A-Glove': np.mean([metrics.embedding_average(emb, h, r) for r, h in flat]),\n"
        "        'Distinct-1': metrics.distinct(everything, 1), 'Distinct-2': metrics.distinct(everything, 2),\n"
        "        'Ent-4': metrics.ngram_entropy(everything, 4)}\n"
        "    print(name, {k: round(float(v), 4) for k, v in rows[name].items()})\n"
        "fig, axes = plt.subplots(1, 6, figsize=(14, 2.6))\n"
        "for ax, key in zip(axes, rows[next(iter(rows))]):\n"
        "    ax.bar(range(len(rows)), [rows[n][key] for n in rows], color=['tab:gray', 'tab:blue'])\n"
        "    ax.set_xticks(range(len(rows)), [n.split()[0] for n in rows], fontsize=7)\n"
        "    ax.set_title(key, fontsize=9)\n"
        "fig.tight_layout()"
    ),
]
write(cells, "vmed_dialogue.ipynb")
