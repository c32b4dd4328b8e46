"""A workdir never loses a run: nothing is written before the config is
validated and the checkpoint restored, a config of another model is refused
with the differing fields, and an unreadable latest checkpoint falls back (with
a warning) to the newest intact one."""

import json

import pytest

from seqvi.train import experiment
from seqvi.core import ConfigError
from seqvi.train.trainer import CheckpointError


def _config(**overrides):
    from conftest import load_config

    c = load_config("vrnn.py", "synthetic")
    c.synthetic.update(num_train=8, num_valid=4, num_test=4, length=6)
    c.model.update(latent_dim=2, rnn_dim=3, hidden_dim=4)
    c.update(num_steps=4, log_every=2, checkpoint_every=2, eval_every=0, num_particles=2, warmup_steps=0)
    c.update_from_flattened_dict(overrides)  # dotted names: {'eval.split': 'test'}
    return c


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("run")
    experiment.train_and_evaluate(_config(), workdir)
    return workdir


@pytest.mark.parametrize("field, value, match", [
    ("learning_rate", -0.1, "config.learning_rate must be > 0"),
    ("num_steps", -5, "config.num_steps must be a positive int"),
    ("bound", "foo", "bound must be one of"),
    ("ess_threshold", 2.0, "config.ess_threshold must lie in"),
    ("resampling", "bogus", r"config.resampling must be one of \['multinomial'"),
    ("eval.split", "nosuch", r"config.eval.split must be one of \['add', .*'valid', 'zero_shot'\], got 'nosuch'"),
    ("eval.num_particles", 0, "config.eval.num_particles must be a positive int, got 0"),
    ("eval.batch_size", -3, "config.eval.batch_size must be a positive int, got -3"),
])
def test_bad_fields_are_refused_before_anything_is_written(tmp_path, field, value, match):
    """Evaluation's fields too: a run does not train and then die at its first evaluation."""
    with pytest.raises(ConfigError, match=match):
        experiment.train_and_evaluate(_config(**{field: value}), tmp_path / "run")
    assert not (tmp_path / "run" / "config.json").exists()


def test_a_config_of_another_model_is_refused_and_the_run_kept(finished):
    before = (finished / "config.json").read_text()
    changed = _config()
    changed.model.rnn_dim = 7
    with pytest.raises(ConfigError, match=r"another model \(model.rnn_dim: 3 -> 7\)"):
        experiment.train_and_evaluate(changed, finished)
    assert (finished / "config.json").read_text() == before
    run, params, which = experiment.load_trained(finished, "latest")  # still evaluable
    assert which == "checkpoint at step 4"
    assert json.loads((finished / "data.json").read_text())["sequences"]["train"] == 8


def test_an_unreadable_latest_checkpoint_falls_back_to_the_previous(tmp_path, capsys):
    workdir = tmp_path / "run"
    experiment.train_and_evaluate(_config(), workdir)
    for f in (workdir / "checkpoints" / "4").rglob("*"):
        if f.is_file():
            f.write_bytes(b"\0" * 7)  # bytes overwritten and truncated
    run = experiment.prepare(_config(), workdir)
    try:
        state = run.trainer.restore_or_init(run.params)
    finally:
        run.trainer.close()
    out = capsys.readouterr().out
    assert int(state.step) == 2 and "the checkpoint at step 4 cannot be read" in out
    assert (workdir / "checkpoints" / "4.unreadable").is_dir()
    for f in (workdir / "checkpoints" / "2").rglob("*"):
        if f.is_file():
            f.write_bytes(b"")
    run = experiment.prepare(_config(), workdir)
    with pytest.raises(CheckpointError, match="none of the checkpoints"):
        run.trainer.restore_or_init(run.params)
    run.trainer.close()


def test_loading_a_trained_run_writes_nothing(finished):
    """What evaluate.py does (``load_trained``) leaves the workdir as training left it:
    no new TensorBoard events, metrics or checkpoints."""
    before = {p: p.stat().st_mtime_ns for p in finished.rglob("*") if p.is_file()}
    run, params, which = experiment.load_trained(finished)
    assert which == "best by validation" or which.startswith("checkpoint at step")
    after = {p: p.stat().st_mtime_ns for p in finished.rglob("*") if p.is_file()}
    assert after == before


def test_walks_no_longer_than_gtmsm_memory_are_refused_before_anything_is_written(tmp_path):
    """GTM-SM memorises tau steps: walks of at most tau steps leave nothing to
    predict, a one-line ConfigError at set-up rather than a traceback mid-step."""
    c = experiment.dataset_config("navigation", dict(name="gtmsm", latent_dim=2, hidden=(4,), memory_length=16,
                                                     num_neighbours=4, wall_hidden=4))
    c.navigation.update(num_steps=12, test_steps=20, num_train=4, num_valid=2, num_test=2)
    with pytest.raises(ConfigError, match="memorises the first 16 steps"):
        experiment.train_and_evaluate(c, tmp_path / "run")
    assert not (tmp_path / "run" / "config.json").exists()
