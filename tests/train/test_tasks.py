"""Any user data through the documented route: a polyphonic file of one's own,
a ParlAI folder with its own splits (kept, or re-split when asked), the data a
run trained on recorded, and long sequences refused with advice."""

import json

import numpy as np
import pytest

from seqvi.train import experiment
from seqvi.core import ConfigError
from seqvi.train.tasks import LONGEST_WHOLE_SEQUENCE, get_task

PARLAI = {
    "train": ["1 hello there !\thi , how are you ?", "2 fine thanks .\tgood to hear ."],
    "valid": ["1 what time is it ?\tnoon ."],
    "test": ["1 where are you ?\there .", "1 who is it ?\tme ."],
}


def _parlai_folder(tmp_path):
    folder = tmp_path / "parlai"
    folder.mkdir()
    for split, lines in PARLAI.items():
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return folder


def _seq2seq_config(folder, **overrides):
    c = experiment.dataset_config("parlai", dict(name="seq2seq", embed_dim=4, hidden_dim=4))
    c.bound, c.data_path, c.vocab_size = "nll", str(folder), 50
    c.update(overrides)
    return c


def test_a_parlai_folder_keeps_its_splits(tmp_path):
    folder = _parlai_folder(tmp_path)
    splits = get_task("dialogue").load_splits(_seq2seq_config(folder))
    assert {k: len(v) for k, v in splits.items()} == {"train": 2, "valid": 1, "test": 2}
    assert splits["valid"] == [("what time is it ?", "noon .")]
    resplit = get_task("dialogue").load_splits(_seq2seq_config(folder, resplit=True))
    assert sum(len(v) for v in resplit.values()) == 5
    record = get_task("dialogue").data_record(_seq2seq_config(folder), splits)
    assert record["pairs"] == {"train": 2, "valid": 1, "test": 2}
    assert {f["path"].rsplit("/", 1)[1] for f in record["files"]} == {"train.txt", "valid.txt", "test.txt"}
    assert all(len(f["sha256"]) == 64 for f in record["files"])


def test_a_parlai_folder_missing_a_split_is_refused(tmp_path):
    folder = _parlai_folder(tmp_path)
    (folder / "valid.txt").unlink()
    with pytest.raises(ConfigError, match="missing: .*valid.txt"):
        get_task("dialogue").load_splits(_seq2seq_config(folder))


def _music_config(path, **overrides):
    c = experiment.dataset_config("nottingham", dict(name="vrnn", latent_dim=2, rnn_dim=3, hidden_dim=4))
    c.data_path = str(path)
    c.update(overrides)
    return c


def _notes_file(tmp_path, length):
    rng = np.random.default_rng(0)
    seq = lambda n: [sorted(rng.choice(np.arange(40, 80), 3, replace=False).tolist()) for _ in range(n)]  # noqa: E731
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"train": [seq(length), seq(30)], "valid": [seq(20)], "test": [seq(25)]}))
    return path


def test_a_polyphonic_file_of_ones_own_is_read_and_recorded(tmp_path):
    path = _notes_file(tmp_path, 40)
    config = _music_config(path, max_train_length=16)
    task = get_task("sequences")
    splits = task.load_splits(config)
    assert [s.shape for s in splits["train"]] == [(40, 88), (30, 88)]
    batch = task.train_batches(config, splits, {})(0)
    assert batch["xs"].shape[1] <= 16  # pieces of at most max_train_length steps
    record = task.data_record(config, splits)
    assert record["file"]["path"].endswith("mine.json") and record["sequences"]["train"] == 2


def test_long_sequences_are_not_trained_on_whole(tmp_path):
    path = _notes_file(tmp_path, LONGEST_WHOLE_SEQUENCE + 1)
    config = _music_config(path, max_train_length=0)
    task = get_task("sequences")
    with pytest.raises(ConfigError, match="--config.max_train_length=128"):
        task.train_batches(config, task.load_splits(config), {})


def test_a_sequence_without_steps_is_refused_naming_the_data_and_the_sequence(tmp_path):
    """A batch of such sequences would have nothing to score: refused where the data
    are read, by a file's reader (naming the file) and, for any registered data set,
    by the task (naming the data set and the sequence)."""
    from seqvi import datasets

    path = tmp_path / "rolls.json"
    path.write_text(json.dumps({"train": [[[60], [62]]], "valid": [[[60]], []], "test": [[[64]]]}))
    with pytest.raises(ConfigError, match=r"rolls.json: valid sequence 1 has shape \(0, 88\)"):
        get_task("sequences").load_splits(_music_config(path))

    class WithAnEmptySequence(datasets.Dataset):
        name = "with_an_empty_sequence_for_a_test"
        source = "generated"

        def load_splits(self, config):
            one = np.ones((3, 2), np.float32)
            return {"train": [one], "valid": [one, one[:0]], "test": [one]}

    datasets.register(WithAnEmptySequence())
    try:
        config = experiment.dataset_config("with_an_empty_sequence_for_a_test", dict(name="vrnn", latent_dim=2))
        with pytest.raises(ConfigError, match=r"'with_an_empty_sequence_for_a_test' \(its generated or embedded "
                                              r"data\): sequence 1 of the valid split has no steps"):
            get_task("sequences").load_splits(config)
    finally:
        datasets.unregister("with_an_empty_sequence_for_a_test")


def test_a_named_set_without_its_file_asks_for_data_path():
    c = experiment.dataset_config("nottingham", dict(name="vrnn"))
    with pytest.raises(ConfigError, match="--config.data_path"):
        get_task("sequences").load_splits(c)


def test_a_malformed_data_file_is_a_config_error_naming_it(tmp_path):
    """The binaries print a ConfigError as one line (exit 2): a malformed file is one."""
    path = tmp_path / "rolls.json"
    path.write_text(json.dumps({"train": [[[0, 1, 1]]], "valid": [], "test": []}))  # 0/1 rolls, not notes
    with pytest.raises(ConfigError, match=r"rolls.json: MIDI note 0 at step 0 is outside the piano range"):
        get_task("sequences").load_splits(_music_config(path))
    folder = _parlai_folder(tmp_path)
    (folder / "valid.txt").write_text("1 what time is it ?\tnoon .\nsecond turn without its number\n")
    with pytest.raises(ConfigError, match=r"valid.txt:2.*--config.lenient=True"):
        get_task("dialogue").load_splits(_seq2seq_config(folder))
    assert len(get_task("dialogue").load_splits(_seq2seq_config(folder, lenient=True))["valid"]) == 1


def test_a_speech_folder_is_read_with_its_config_and_refused_with_reasons(tmp_path):
    from seqvi.data import speech

    c = experiment.dataset_config("fsdd", dict(name="rnn"))
    task = get_task("sequences")
    with pytest.raises(ConfigError, match="needs its folder of WAV files"):
        task.load_splits(c)
    c.data_path = str(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match=r"nowhere: no such folder"):
        task.load_splits(c)
    for split, rate in (("train", 16000), ("test", 16000)):
        (tmp_path / "timit" / split).mkdir(parents=True)
        for i in range(3):
            speech.write_wav(tmp_path / "timit" / split / f"s{i}.wav", np.full(450 + i, 0.01 * i), rate)
    c.dataset, c.data_path = "speech", str(tmp_path / "timit")
    splits = task.load_splits(c)
    assert {k: len(v) for k, v in splits.items()} == {"train": 2, "valid": 1, "test": 3}
    assert splits["test"][0].shape == (2, 200)  # 450 samples at 16 kHz: two 12.5 ms frames
    assert task.data_record(c, splits)["folder"].endswith("timit")
    speech.write_wav(tmp_path / "timit" / "test" / "odd.wav", np.zeros(500), 8000)
    with pytest.raises(ConfigError, match="odd.wav: 8000 Hz"):
        task.load_splits(c)


def test_the_fsdd_parent_folder_is_refused_with_the_recordings_folder_named(tmp_path):
    from seqvi.data import speech

    (tmp_path / "fsdd" / "recordings").mkdir(parents=True)
    speech.write_wav(tmp_path / "fsdd" / "recordings" / "0_ann_0.wav", np.zeros(300), 8000)
    c = experiment.dataset_config("fsdd", dict(name="rnn"))
    c.data_path = str(tmp_path / "fsdd")
    with pytest.raises(ConfigError, match="no .wav files .*its recordings/ folder: .*fsdd/recordings"):
        get_task("sequences").load_splits(c)
