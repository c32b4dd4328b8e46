"""Train a dialogue model from a config; resumes from the workdir's latest checkpoint.

  python experiments/train_dialogue.py --config=experiments/configs/seq2seq.py:cornell,attention \
      --workdir=runs/seq2seq_attention

The workdir receives config.json, vocab.txt, orbax checkpoints (and best/ by
validation NLL per token), metrics.jsonl and TensorBoard events.
"""

import pathlib

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from seqvi.data import dialogue
from seqvi.models.parts import num_params
from seqvi.train import dialogue_experiment as dx
from seqvi.train import experiment

_CONFIG = config_flags.DEFINE_config_file("config", "experiments/configs/seq2seq.py", "Training config.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints and metrics.", required=True)
_STOP_AT = flags.DEFINE_integer("stop_at", None, "Stop after this step (the run can be resumed later).")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    config = _CONFIG.value
    splits = dx.load_dialogue(config)
    workdir = pathlib.Path(_WORKDIR.value)
    vocab_file = workdir / "vocab.txt"
    if vocab_file.exists():  # a resumed run keeps its vocabulary
        vocab = dialogue.Vocabulary.load(vocab_file)
    else:
        vocab = dx.build_vocab(config, splits["train"])
        workdir.mkdir(parents=True, exist_ok=True)
        vocab.save(vocab_file)
    model = dx.build_model(config, vocab)
    params = model.init(jax.random.key(config.seed))
    print(f"{config.model.name}: {num_params(params)} parameters; vocabulary {len(vocab)}; pairs "
          + ", ".join(f"{s} {len(p)}" for s, p in splits.items()), flush=True)
    experiment.save_config(config, workdir)
    trainer = dx.build_trainer(config, model, workdir)
    state = trainer.restore_or_init(params)
    schedule = dialogue.DialogueSchedule(splits["train"], vocab, config.batch_size, config.max_context,
                                         config.max_response, seed=config.seed)
    metric = f"{config.eval.split}_neg_loss_per_token"

    def eval_fn(p):  # higher is better for the trainer's best-parameter record
        return {metric: -dx.eval_loss(model, p, splits[config.eval.split], vocab, config)}

    trainer.fit(state, schedule.batch, config.num_steps, log_every=config.log_every,
                eval_fn=eval_fn if config.eval_every else None, eval_every=config.eval_every,
                best_metric=metric if config.eval_every else None, stop_at=_STOP_AT.value)
    trainer.close()


if __name__ == "__main__":
    app.run(main)
