"""The speech TFDS builder: array_record files whose examples are the recordings,
sample for sample, in the splits of ``seqvi.data.speech``; no TensorFlow."""

import shutil
import subprocess
import sys

import numpy as np

from conftest import SHARED_DATA
from seqvi.data import speech
from seqvi.data.tfds_speech import build


def test_builder_writes_array_record_and_reads_back(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    source = SHARED_DATA / "speech" / "fsdd" / "recordings"
    for take in range(13):
        shutil.copy(source / f"3_theo_{take}.wav", manual)
    sources = build("fsdd", manual, tmp_path / "tfds")
    expected = speech.fsdd_split(sorted(p.name for p in manual.iterdir()))
    assert {s: len(v) for s, v in sources.items()} == {s: len(v) for s, v in expected.items()} == \
        {"train": 3, "valid": 5, "test": 5}
    for split in ("train", "valid", "test"):
        names = sorted(sources[split][i]["name"].decode() for i in range(len(sources[split])))
        assert names == expected[split]
    example = sources["test"][0]
    samples, rate = speech.read_wav(manual / example["name"].decode())
    assert int(example["sample_rate"]) == rate == 8000
    np.testing.assert_array_equal(example["audio"], np.round(samples * 32768.0).astype(np.int16))
    assert list((tmp_path / "tfds").rglob("*.array_record*"))


def test_split_folders_config_keeps_the_folders_splits(tmp_path):
    t = np.arange(400) / 16000
    for split, count in (("train", 3), ("valid", 1), ("test", 2)):
        for i in range(count):
            (tmp_path / "manual" / split / "spk").mkdir(parents=True, exist_ok=True)
            speech.write_wav(tmp_path / "manual" / split / "spk" / f"s{i}.wav", 0.1 * np.sin(2e3 * t * (i + 1)), 16000)
    sources = build("split_folders", tmp_path / "manual", tmp_path / "tfds")
    assert {s: len(v) for s, v in sources.items()} == {"train": 3, "valid": 1, "test": 2}
    names = [sources["test"][i]["name"].decode() for i in range(2)]
    assert sorted(names) == ["test/spk/s0.wav", "test/spk/s1.wav"]
    example = sources["test"][names.index("test/spk/s1.wav")]
    assert int(example["sample_rate"]) == 16000
    samples, _ = speech.read_wav(tmp_path / "manual" / "test" / "spk" / "s1.wav")
    np.testing.assert_array_equal(example["audio"], np.round(samples * 32768.0).astype(np.int16))


def test_no_tensorflow_is_imported():
    code = "import sys, seqvi.data.tfds_speech; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
