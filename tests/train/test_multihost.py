"""Two processes on this machine joined by ``jax.distributed`` (one CPU device
each, gloo collectives) train to the same losses as one process with two
devices: the multi-host recipe of docs/how-to/devices-and-hosts.md, at small scale."""

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

WORKER = textwrap.dedent(
    """
    import sys
    import jax
    process_id, num_processes, port = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if num_processes == 1:
        jax.config.update("jax_num_cpu_devices", 2)
    else:
        jax.distributed.initialize(coordinator_address=f"localhost:{port}", num_processes=num_processes,
                                   process_id=process_id)
    import numpy as np
    from seqvi import bounds
    from seqvi.models import VRNN
    from seqvi.train import Trainer, make_optimizer

    assert len(jax.devices()) == 2 and len(jax.local_devices()) == 2 // num_processes
    model = VRNN(data_dim=4, latent_dim=2, rnn_dim=4, hidden_dim=4)
    loss = bounds.batch_loss(bounds.get_bound("fivo", num_particles=3), model)
    rng = np.random.default_rng(0)  # every process builds the same global batch
    batch = {"xs": (rng.random((4, 10, 4)) < 0.4).astype(np.float32),
             "lengths": rng.integers(3, 11, 4).astype(np.int32)}
    trainer = Trainer(loss, make_optimizer(1e-2, 10), None)  # mesh over all processes' devices
    state = trainer.init_state(model.init(jax.random.key(0), batch["xs"].mean((0, 1))))
    losses = []
    for _ in range(3):
        state, metrics = trainer.step(state, batch)
        losses.append(float(metrics["loss"]))
    print("LOSSES", *losses, flush=True)
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def losses(out: str) -> list[float]:
    line = [ln for ln in out.splitlines() if ln.startswith("LOSSES")][-1]
    return [float(v) for v in line.split()[1:]]


# Executables read back from JAX's persistent compilation cache (tests/conftest.py turns it on)
# deadlock in the gloo collectives: on jax 0.12.1 two processes waited forever in the first
# step's all-reduce in 3 of 4 tries once the cache held the step, never in 4 tries without it.
# docs/how-to/devices-and-hosts.md tells users the same.
NO_CACHE = dict(os.environ, JAX_ENABLE_COMPILATION_CACHE="false")


@pytest.mark.slow
def test_two_processes_train_like_one():
    port = str(free_port())
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(i), "2", port], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=NO_CACHE) for i in range(2)]
    outs = [w.communicate(timeout=600) for w in workers]
    for w, (_, err) in zip(workers, outs):
        assert w.returncode == 0, err[-3000:]
    single = subprocess.run([sys.executable, "-c", WORKER, "0", "1", port], capture_output=True, text=True,
                            timeout=600)
    assert single.returncode == 0, single.stderr[-3000:]
    expected = losses(single.stdout)
    for out, _ in outs:
        np.testing.assert_allclose(losses(out), expected, rtol=1e-5)
    assert expected[-1] < expected[0]  # it trained
