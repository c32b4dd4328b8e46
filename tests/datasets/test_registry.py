"""Every registered data set: its config builds, its batches' fields are named,
and a missing, empty or malformed file or folder is a one-line ConfigError that
names it."""

import pathlib

import pytest

from seqvi import datasets
from seqvi.core import ConfigError
from seqvi.train import experiment

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
    assert data.source in datasets.SOURCES and {"xs", "lengths"} <= set(data.fields) or data.task == "dialogue"
    assert (data.source in ("file", "folder")) == bool(data.layout) or data.source == "embedded"


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
