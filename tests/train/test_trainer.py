import logging
import re
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from seqvi import bounds
from seqvi.models.vrnn import VRNN
from seqvi.train import NonFiniteError, Trainer, make_optimizer
from seqvi.train.trainer import CheckpointError
from seqvi.train.logging import read_metrics

MODEL = VRNN(data_dim=4, latent_dim=2, rnn_dim=4, hidden_dim=4)
LOSS = bounds.batch_loss(bounds.get_bound("fivo", num_particles=2), MODEL)


def batch_at(step):
    rng = np.random.default_rng(step)
    return {"xs": (rng.random((2, 8, 4)) < 0.4).astype(np.float32), "lengths": np.array([8, 5], np.int32)}


def make_trainer(workdir, **kw):
    return Trainer(LOSS, make_optimizer(1e-2, 6), workdir, checkpoint_every=kw.pop("checkpoint_every", 3),
                   tensorboard=False, **kw)


def test_resumed_run_equals_uninterrupted_run(tmp_path):
    params = MODEL.init(jax.random.key(0))
    straight = make_trainer(tmp_path / "a")
    final = straight.fit(straight.init_state(params), batch_at, 6, log_every=2)
    straight.close()

    first = make_trainer(tmp_path / "b")
    first.fit(first.init_state(params), batch_at, 6, log_every=2, stop_at=3)
    first.close()
    second = make_trainer(tmp_path / "b")
    state = second.restore_or_init(params)
    assert int(state.step) == 3
    resumed = second.fit(state, batch_at, 6, log_every=2)
    second.close()
    for a, b in zip(jax.tree.leaves(final.params), jax.tree.leaves(resumed.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    rows = read_metrics(tmp_path / "b")
    assert [r["step"] for r in rows] == [2, 3, 4, 6]
    assert all(np.isfinite(r["train/loss"]) for r in rows)


def test_nan_guard_names_the_step_and_writes_no_bad_checkpoint(tmp_path):
    trainer = make_trainer(tmp_path, checkpoint_every=1)

    def poisoned(step):
        batch = batch_at(step)
        if step == 3:
            batch["xs"][0, 0, 0] = np.nan
        return batch

    with pytest.raises(NonFiniteError, match="step 4") as err:
        trainer.fit(trainer.init_state(MODEL.init(jax.random.key(0))), poisoned, 6)
    assert "last good checkpoint: step 3" in str(err.value)
    assert trainer.latest_step() == 3
    good = trainer.restore(trainer.init_state(MODEL.init(jax.random.key(0))))
    assert all(bool(jnp.isfinite(x).all()) for x in jax.tree.leaves(good.params))

    bad = good._replace(params=jax.tree.map(lambda x: x * jnp.nan, good.params))
    with pytest.raises(NonFiniteError, match="refusing to checkpoint"):
        trainer.save(bad)
    trainer.close()


def test_a_full_disk_is_one_error_and_keeps_the_last_checkpoint(tmp_path, monkeypatch, caplog):
    """No room for the next checkpoint, found before writing (the disk's free space)
    or while writing (orbax's RESOURCE_EXHAUSTED): a CheckpointError naming the
    workdir and the space, and the last complete checkpoint still restores."""
    import collections

    from seqvi.train import trainer as trainer_module

    trainer = make_trainer(tmp_path, checkpoint_every=1)
    state = trainer.fit(trainer.init_state(MODEL.init(jax.random.key(0))), batch_at, 2)
    Usage = collections.namedtuple("Usage", "total used free")
    monkeypatch.setattr(trainer_module.shutil, "disk_usage", lambda _: Usage(10**6, 10**6 - 2000, 2000))
    with pytest.raises(CheckpointError, match=rf"no space left on the disk of {re.escape(str(tmp_path))}/checkpoints to write the checkpoint "
                       r"of step 3: 0.0 MB free, about 0.\d MB needed"):
        trainer.save(state._replace(step=state.step + 1))
    with pytest.raises(CheckpointError, match="/best to write the best parameters of step 3"):
        trainer.save_if_best(3, state.params, 1.0)
    monkeypatch.undo()
    assert trainer.save_if_best(3, state.params, 1.0)  # the refused value was not taken as the best

    def full(*args, **kwargs):
        error = ValueError('RESOURCE_EXHAUSTED: Error writing "kernel/0.0": No space left on device [os_error_code=28]')
        logging.getLogger("absl").error("Save Finalize thread failed", exc_info=error)  # as orbax logs it
        logging.getLogger("absl").error("another failure")
        raise error

    monkeypatch.setattr(trainer._manager, "save", full)
    with caplog.at_level(logging.ERROR), pytest.raises(
            CheckpointError, match=r"no space left on the disk.*the last complete one \(step 2\) is kept"):
        trainer.save(state._replace(step=state.step + 1))
    assert "Save Finalize" not in caplog.text and "another failure" in caplog.text  # only the full disk's
    monkeypatch.setattr(trainer._manager, "save", lambda *a, **k: (_ for _ in ()).throw(ValueError("other")))
    with pytest.raises(ValueError, match="other"):  # any other failure is not a full disk
        trainer.save(state._replace(step=state.step + 1))
    monkeypatch.undo()
    assert trainer.latest_step() == 2
    restored = trainer.restore(trainer.init_state(MODEL.init(jax.random.key(0))))
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(restored.params), jax.tree.leaves(state.params)))
    trainer.close()


def test_best_parameters_are_kept(tmp_path):
    trainer = make_trainer(tmp_path)
    values = iter([1.0, 3.0, 2.0])
    state = trainer.fit(
        trainer.init_state(MODEL.init(jax.random.key(0))), batch_at, 6,
        eval_fn=lambda p: {"v": next(values)}, eval_every=2, best_metric="v",
    )
    assert (tmp_path / "best.json").read_text().startswith('{"step": 4')
    best = trainer.restore_best(state.params)
    assert jax.tree.structure(best) == jax.tree.structure(state.params)
    trainer.close()


def test_batch_must_divide_over_devices():
    trainer = Trainer(LOSS, optax.adam(1e-3), None)
    n = trainer.mesh.shape["data"]
    if n == 1:
        assert trainer.shard_batch(batch_at(0))["xs"].shape == (2, 8, 4)
    else:
        with pytest.raises(ValueError, match="not divisible"):
            trainer.shard_batch({"xs": np.zeros((n + 1, 2))})


MULTI_DEVICE = textwrap.dedent(
    """
    import jax
    jax.config.update("jax_num_cpu_devices", 8)
    import numpy as np
    from seqvi import bounds
    from seqvi.models.vrnn import VRNN
    from seqvi.train import Trainer, make_optimizer
    from seqvi.train.trainer import data_mesh

    assert len(jax.devices()) == 8
    model = VRNN(data_dim=4, latent_dim=2, rnn_dim=4, hidden_dim=4)
    loss = bounds.batch_loss(bounds.get_bound("fivo", num_particles=3), model)
    rng = np.random.default_rng(0)
    batch = {"xs": (rng.random((8, 10, 4)) < 0.4).astype(np.float32),
             "lengths": rng.integers(3, 11, 8).astype(np.int32)}
    params = model.init(jax.random.key(0), batch["xs"].mean((0, 1)))
    out = []
    for devices in (jax.devices()[:1], jax.devices()):
        trainer = Trainer(loss, make_optimizer(1e-2, 10), None, mesh=data_mesh(devices))
        state = trainer.init_state(params)
        losses = []
        for _ in range(3):
            state, metrics = trainer.step(state, batch)
            losses.append(float(metrics["loss"]))
        out.append((losses, state.params))
    print("losses", out[0][0], out[1][0])
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-5)
    for a, b in zip(jax.tree.leaves(out[0][1]), jax.tree.leaves(out[1][1])):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)
    print("OK")
    """
)


def test_one_and_eight_devices_give_the_same_loss():
    out = subprocess.run([sys.executable, "-c", MULTI_DEVICE], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("OK")


def test_the_rate_leaves_out_the_steps_that_compiled(tmp_path, monkeypatch):
    """Each step of a new batch shape compiles: its time is kept out of steps/s
    and the ETA (one compile of 60 s, later ones of 30 s, then 1 s per step)."""
    from seqvi.train import logging as train_logging

    clock = [0.0]
    monkeypatch.setattr(train_logging.time, "perf_counter", lambda: clock[0])
    progress = train_logging.Progress(100)
    clock[0] += 60.0
    progress.exclude(60.0)  # step 1
    clock[0] += 9.0  # steps 2-10
    clock[0] += 30.0
    progress.exclude(30.0)  # step 11: a new batch shape
    clock[0] += 9.0  # steps 12-20
    assert progress.line(20, {"loss": 1.0}) == "step 20/100 | 1.00 steps/s | loss 1 | ETA 1m20s"

    monkeypatch.undo()
    excluded = []
    monkeypatch.setattr(train_logging.Progress, "exclude", lambda self, seconds, steps=1: excluded.append(steps))

    def two_shapes(step):
        batch = batch_at(step)
        return batch if step % 2 else {"xs": batch["xs"][:, :6], "lengths": np.minimum(batch["lengths"], 6)}

    trainer = make_trainer(tmp_path / "run")
    trainer.fit(trainer.init_state(MODEL.init(jax.random.key(0))), two_shapes, 5, log_every=5)
    trainer.close()
    assert excluded == [1, 1]  # the first step of each of the two shapes
