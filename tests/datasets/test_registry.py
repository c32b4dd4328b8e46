"""Every registered data set: its config builds, its batches' fields are named,
and a missing, empty or malformed file or folder is a one-line ConfigError that
names it."""

import pathlib
import sys

import pytest

from seqvi import datasets
from seqvi.core import ConfigError
from seqvi.train import experiment
from seqvi.train.tasks import get_task

MODEL = {"sequences": dict(name="vrnn", latent_dim=2, rnn_dim=3, hidden_dim=4),
         "dialogue": dict(name="seq2seq", embed_dim=4, hidden_dim=4)}
FROM_USER = sorted(n for n, d in datasets.entries().items() if d.source in ("file", "folder"))


def _config(name: str, data_path=""):
    config = experiment.dataset_config(name, MODEL[datasets.get(name).task])
    config.data_path = str(data_path)
    return config


@pytest.mark.parametrize("name", sorted(datasets.entries()))
def test_every_data_set_builds_its_config(name):
    data = datasets.get(name)
    config = _config(name)
    assert config.dataset == name and config.task == data.task
    assert data.source in datasets.SOURCES
    assert (data.source in ("file", "folder")) == bool(data.layout) or data.source == "embedded"


@pytest.mark.parametrize("name", ["jsb", "synthetic", "chatterbot"])
def test_fields_name_the_training_batch(name):
    data = datasets.get(name)
    config = _config(name)
    task = get_task(data.task)
    splits = task.load_splits(config)
    batch = task.train_batches(config, splits, task.extras(config, splits))(0)
    assert set(batch) == set(data.fields)


MODULE = """
import numpy as np
from seqvi import datasets


class Ramps(datasets.Dataset):
    name = "ramps_for_a_test"
    source = "generated"

    def load_splits(self, config):
        return {s: [np.linspace(0, 1, 6, dtype=np.float32)[:, None]] * 3 for s in ("train", "valid", "test")}


datasets.register(Ramps())
"""


def test_a_users_data_set_is_found_in_every_process(tmp_path, monkeypatch):
    """dataset_config records the module that registers a user's data set, and
    of_config imports it (as a new evaluation process does)."""
    (tmp_path / "ramps_module.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import ramps_module

    try:
        config = experiment.dataset_config("ramps_for_a_test", MODEL["sequences"])
        assert config.dataset_module == "ramps_module"
        datasets.unregister("ramps_for_a_test")  # as in a fresh process: neither registered nor imported
        monkeypatch.delitem(sys.modules, "ramps_module")
        assert len(datasets.of_config(config).load_splits(config)["train"]) == 3
        datasets.register(ramps_module.Ramps())  # the same class again: replaced
        other = type("Ramps", (datasets.Dataset,), {"name": "ramps_for_a_test", "source": "generated"})
        with pytest.raises(ValueError, match="already registered"):
            datasets.register(other())
        config.dataset_module = "no_such_module_here"
        with pytest.raises(ConfigError, match="--config.dataset_module=no_such_module_here"):
            datasets.of_config(config)
    finally:
        datasets.unregister("ramps_for_a_test")


def test_an_unknown_data_set_names_the_registered_ones():
    with pytest.raises(ConfigError, match="unknown dataset 'jsbx'; registered: chatterbot, cornell"):
        experiment.dataset_config("jsbx", MODEL["sequences"])


def test_a_data_set_option_is_checked():
    with pytest.raises(ValueError, match="takes no options"):
        experiment.dataset_config("jsb", MODEL["sequences"], kind="walking")
    with pytest.raises(ValueError, match="unknown"):
        experiment.dataset_config("first_person", MODEL["sequences"], kinds="walking")


def _one_line(error: ConfigError, *names) -> str:
    message = str(error)
    assert "\n" not in message
    assert any(str(n) in message for n in names), message
    return message


@pytest.mark.parametrize("name", FROM_USER)
def test_no_path_and_a_missing_path_are_one_line_errors(name, tmp_path):
    with pytest.raises(ConfigError) as e:
        datasets.get(name).load_splits(_config(name))
    _one_line(e.value, "--config.data_path")
    missing = tmp_path / "nothing_here"
    with pytest.raises(ConfigError) as e:
        datasets.get(name).load_splits(_config(name, missing))
    _one_line(e.value, missing)


def _malformed(data: datasets.Dataset, root: pathlib.Path) -> pathlib.Path:
    """A file or folder with the data set's layout whose files hold junk bytes."""
    junk = b"\x00\x01 not the data you are looking for \xff" * 3
    if data.source == "file":
        path = root / f"bad{data.layout[0]}"
        path.write_bytes(junk)
        return path
    for pattern in data.layout:
        name = pattern.replace("<digit>_<speaker>_<take>", "3_someone_0").replace("**/*", "a")
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(junk)
    return root


@pytest.mark.parametrize("name", FROM_USER)
def test_a_malformed_file_is_a_one_line_error_naming_it(name, tmp_path):
    data = datasets.get(name)
    path = _malformed(data, tmp_path)
    with pytest.raises(ConfigError) as e:
        data.load_splits(_config(name, path))
    _one_line(e.value, path)


def test_the_record_names_the_data_set_the_file_holds():
    """Nottingham read through a Piano-midi config is recorded as 'nottingham'
    (read_as 'piano_midi'): the record follows the file's standard split sizes."""
    from conftest import SHARED_DATA

    path = str(SHARED_DATA / "polyphonic" / "Nottingham.mat")
    config = experiment.dataset_config("piano_midi", {"name": "vrnn"})
    config.data_path = path
    data = datasets.get("piano_midi")
    record = get_task(config.task).data_record(config, data.load_splits(config))
    assert (record["dataset"], record["read_as"]) == ("nottingham", "piano_midi")
    assert record["sequences"] == {"train": 694, "valid": 173, "test": 170}
    own = experiment.dataset_config("nottingham", {"name": "vrnn"})
    own.data_path = path
    assert get_task(own.task).data_record(own, data.load_splits(own)).get("read_as") is None
    assert datasets.polyphonic.identify({"train": [0] * 3, "valid": [], "test": [0]}) is None
