"""Train any registered model from a config; resumes from the workdir's latest checkpoint.

  python experiments/train.py --config=experiments/configs/vrnn.py --workdir=runs/vrnn_jsb
  python experiments/train.py --config=experiments/configs/vrnn.py:nottingham \
      --config.data_path=path/to/Nottingham.mat --workdir=runs/vrnn_nottingham
  python experiments/train.py --config=experiments/configs/seq2seq.py:parlai \
      --config.data_path=path/to/parlai_folder --workdir=runs/seq2seq

The workdir receives config.json, data.json (the data it trained on), orbax
checkpoints (checkpoints/, and best/ by the validation figure), metrics.jsonl,
TensorBoard events and, for dialogue, vocab.txt. A user error prints one line
(--traceback shows the Python traceback).

Several hosts (docs/how-to/devices-and-hosts.md): run the same command on every host with
--coordinator_address=HOST:PORT --num_processes=P --process_id=i (or --distributed
alone where the cluster tells JAX these, as on Cloud TPU or SLURM). Every host
builds the same seeded global batch; each device receives its slice.
"""

import jax
from absl import flags, logging

from seqvi.train import cli, experiment

_CONFIG = cli.define_config_file("config", "experiments/configs/vrnn.py", "Training config.")
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
    experiment.train_and_evaluate(_CONFIG.value, _WORKDIR.value, stop_at=_STOP_AT.value)


if __name__ == "__main__":
    cli.run(main)
