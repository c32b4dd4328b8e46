"""Train a model from a config; resumes from the workdir's latest checkpoint.

  python experiments/train.py --config=experiments/configs/vrnn.py \
      --config.bound=fivo --workdir=runs/vrnn_jsb

The workdir receives config.json, orbax checkpoints (checkpoints/, and best/ by
validation bound), metrics.jsonl and TensorBoard events.

Several hosts (BUILD.md): run the same command on every host with
--coordinator_address=HOST:PORT --num_processes=P --process_id=i (or --distributed
alone where the cluster tells JAX these, as on Cloud TPU or SLURM). Every host
builds the same seeded global batch; each device receives its slice.
"""

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from seqvi.models.parts import num_params
from seqvi.train import experiment
from seqvi.train.evaluation import evaluate_bound, evaluate_elbo_per_frame

_CONFIG = config_flags.DEFINE_config_file("config", "experiments/configs/vrnn.py", "Training config.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints and metrics.", required=True)
_STOP_AT = flags.DEFINE_integer("stop_at", None, "Stop after this step (the run can be resumed later).")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() (several hosts).")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None, "HOST:PORT of process 0 (implies --distributed).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes (hosts).")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index, 0 .. num_processes - 1.")


def initialize_distributed() -> None:
    """Join the other hosts before any other JAX call (no-op without the flags)."""
    if _DISTRIBUTED.value or _COORDINATOR.value:
        jax.distributed.initialize(coordinator_address=_COORDINATOR.value, num_processes=_NUM_PROCESSES.value,
                                   process_id=_PROCESS_ID.value)


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax is chatty at INFO
    initialize_distributed()
    config = _CONFIG.value
    splits = experiment.load_splits(config)
    model = experiment.build_model(config, splits["train"][0].shape[1])
    params = experiment.init_params(config, model, splits["train"])
    print(f"model {config.model.name} with {num_params(params)} parameters; devices {jax.devices()}", flush=True)
    experiment.save_config(config, _WORKDIR.value)
    trainer = experiment.build_trainer(config, model, _WORKDIR.value)
    state = trainer.restore_or_init(params)
    schedule = experiment.train_schedule(config, splits["train"])

    def eval_fn(p):
        if config.bound == "own":
            result = evaluate_elbo_per_frame(model, p, splits[config.eval.split], jax.random.key(config.seed + 1),
                                             batch_size=config.eval.batch_size)
            return {f"{config.eval.split}_elbo_per_frame": result["elbo_per_frame"]}
        result = evaluate_bound(
            model,
            p,
            splits[config.eval.split],
            jax.random.key(config.seed + 1),
            bound=config.bound,
            num_particles=config.eval.num_particles,
            batch_size=config.eval.batch_size,
        )
        return {f"{config.eval.split}_{config.bound}{config.eval.num_particles}_per_step": result["per_step"]}

    best = f"{config.eval.split}_{config.bound}{config.eval.num_particles}_per_step"
    if config.bound == "own":
        best = f"{config.eval.split}_elbo_per_frame"
    trainer.fit(
        state,
        schedule.batch,
        config.num_steps,
        log_every=config.log_every,
        eval_fn=eval_fn if config.eval_every else None,
        eval_every=config.eval_every,
        best_metric=best if config.eval_every else None,
        stop_at=_STOP_AT.value,
    )
    trainer.close()


if __name__ == "__main__":
    app.run(main)
