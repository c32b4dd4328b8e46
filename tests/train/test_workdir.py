"""A workdir never loses a run: nothing is written before the config is
validated and the checkpoint restored, a config of another model is refused
with the differing fields, an unreadable latest checkpoint falls back (with
a warning) to the newest intact one, one run at a time holds it, and a run is
resumed and evaluated only on the data it recorded."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from seqvi.train import experiment
from seqvi.train import workdir as workdirs
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
    ("lr_decay", "linear", r"config.lr_decay must be one of \['constant', 'cosine'\], got 'linear'"),
    ("kl_anneal_start", 1.5, r"config.kl_anneal_start must lie in \[0, 1\], got 1.5"),
    ("warmup_steps", -1, "config.warmup_steps must be >= 0"),
    ("tbptt_length", -4, "config.tbptt_length must be >= 0"),
    ("max_train_length", -2, "config.max_train_length must be >= 0"),
    ("clip_norm", -1.0, "config.clip_norm must be >= 0"),
    ("batch_size", 0, "config.batch_size must be a positive int, got 0"),
])
def test_bad_fields_are_refused_before_anything_is_written(tmp_path, field, value, match):
    """Evaluation's fields too: a run does not train and then die at its first evaluation."""
    with pytest.raises(ConfigError, match=match):
        experiment.train_and_evaluate(_config(**{field: value}), tmp_path / "run")
    assert not (tmp_path / "run" / "config.json").exists()


# Blocks whose fields their own code checks: the model's constructor, the data sets' option blocks.
_OWN_CHECKS = ("model.", "synthetic.", "physics.", "navigation.", "first_person.", "speech.")
_ANY_INT = ("seed", "split_seed")  # seeds: every int is one


def _numeric_fields(config, prefix=""):
    for name, value in config.items():
        if hasattr(value, "items"):
            yield from _numeric_fields(value, f"{prefix}{name}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield f"{prefix}{name}", value


def test_every_numeric_field_of_every_shipped_config_has_its_range_checked():
    """Each shipped config (each config file at its default argument), each of its
    numeric fields outside the model and the data sets' blocks, set to -1: a
    ConfigError naming the field, from the validation that runs before anything is
    written. A new field of a default config without a range fails here."""
    from conftest import ROOT, load_config

    checked = set()
    for path in sorted((ROOT / "experiments" / "configs").glob("*.py")):
        config = load_config(path.name)
        experiment.validate_config(config)  # as shipped: valid
        for field, _ in _numeric_fields(config):
            if field.startswith(_OWN_CHECKS) or field in _ANY_INT:
                continue
            bad = load_config(path.name)
            bad.update_from_flattened_dict({field: -1})
            with pytest.raises(ConfigError, match=rf"config\.{field} must"):
                experiment.validate_config(bad)
            checked.add(field)
    assert {"learning_rate", "eval.num_particles", "eval.num_generated", "frozen_steps", "vocab_size",
            "discriminator_learning_rate", "prediction_start"} <= checked, sorted(checked)



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
    listing = sorted(p.name for p in (workdir / "checkpoints").iterdir())
    _, _, which = experiment.load_trained(workdir, "latest")  # evaluation falls back too, moving nothing
    assert which == "checkpoint at step 2" and "the checkpoint at step 4 cannot be read" in capsys.readouterr().out
    assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == listing
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
    with pytest.raises(CheckpointError, match=r"holds no readable checkpoint \(set aside as unreadable: 2.unreadable, "
                                              r"4.unreadable\)"):
        experiment.load_trained(workdir)


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


def test_a_held_workdir_refuses_a_second_run_naming_the_holder(tmp_path):
    """Two runs in one workdir would mix their metrics and checkpoints: the second
    is refused (before it writes anything) naming the first."""
    workdir = tmp_path / "run"
    with workdirs.lock(workdir):
        with pytest.raises(ConfigError, match=rf"{workdir} is in use by the run of process {os.getpid()} on "):
            with workdirs.lock(workdir):
                pass
        with pytest.raises(ConfigError, match="is in use by the run of process"):
            experiment.train_and_evaluate(_config(), workdir)
    assert [p.name for p in workdir.rglob("*") if p.is_file()] == [workdirs.LOCK_FILE]  # no config, data or metrics
    with workdirs.lock(workdir):  # released at the end of the block
        pass


def test_the_lock_of_a_killed_run_is_stale():
    """The kernel drops the lock with its process, however it ends (SIGKILL here)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        code = ("import sys, time; from seqvi.train import workdir; held = workdir.lock(sys.argv[1]); "
                "held.__enter__(); print('held', flush=True); time.sleep(600)")
        holder = subprocess.Popen([sys.executable, "-c", code, folder], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "held"
            with pytest.raises(ConfigError, match=f"in use by the run of process {holder.pid} "):
                with workdirs.lock(folder):
                    pass
        finally:
            holder.kill()
            holder.wait()
        with workdirs.lock(folder):
            pass


def _tiny_rolls(path, num_train: int) -> dict:
    """A polyphonic JSON file of ``num_train`` training pieces (two each for valid and test)."""
    pieces = {"train": [[[60, 64], [62]]] * num_train, "valid": [[[60], [67]]] * 2, "test": [[[65]]] * 2}
    path.write_text(json.dumps(pieces))
    return pieces


def test_the_data_record_ignores_where_the_data_lie_and_names_both_places(tmp_path):
    from seqvi import datasets

    def record(path):
        config = experiment.dataset_config("nottingham", dict(name="vrnn"))
        config.data_path = str(path)
        data = datasets.get("nottingham")
        return data.record(config, data.load_splits(config))

    first, moved, other = tmp_path / "a.json", tmp_path / "moved" / "a.json", tmp_path / "b.json"
    _tiny_rolls(first, 3)
    moved.parent.mkdir()
    shutil.copy(first, moved)
    _tiny_rolls(other, 4)
    workdir = tmp_path / "run"
    workdir.mkdir()
    assert workdirs.data_mismatch(workdir, record(other)) is None  # no record: nothing to compare
    (workdir / workdirs.DATA_RECORD).write_text(json.dumps(record(first)))
    assert workdirs.data_mismatch(workdir, record(first)) is None
    assert workdirs.data_mismatch(workdir, record(moved)) is None  # the same bytes elsewhere
    renamed = dict(record(first), dataset="muse_data", read_as="nottingham")  # as a newer seqvi names it
    assert workdirs.data_mismatch(workdir, renamed) is None  # one name in common: the same data set
    assert "dataset: 'nottingham' -> 'jsb'" in workdirs.data_mismatch(workdir, dict(record(first), dataset="jsb"))
    message = workdirs.data_mismatch(workdir, record(other))
    assert "file.sha256" in message and "sequences.train: 3 -> 4" in message
    assert f"recorded {first.resolve()}, now {other.resolve()}" in message


def test_resume_and_evaluation_refuse_other_data_than_the_run_recorded(finished, tmp_path):
    """Resuming on other data is refused (the record kept); evaluating on them is
    refused unless asked for, and the description of the parameters then says so."""
    workdir = tmp_path / "run"
    shutil.copytree(finished, workdir, ignore=shutil.ignore_patterns(workdirs.LOCK_FILE))
    record = (workdir / "data.json").read_text()
    with pytest.raises(ConfigError, match=r"differ from those the run .* generator.seed: 0 -> 5.*use a new --workdir"):
        experiment.train_and_evaluate(_config(**{"synthetic.seed": 5}), workdir)
    assert (workdir / "data.json").read_text() == record
    config = json.loads((workdir / "config.json").read_text())
    config["synthetic"]["seed"] = 5  # what evaluate.py would read now
    (workdir / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=r"generator.seed: 0 -> 5.*\(--other_data reads them anyway\)"):
        experiment.load_trained(workdir)
    _, _, which = experiment.load_trained(workdir, other_data=True)
    assert which.endswith(", on other data than the run recorded")
