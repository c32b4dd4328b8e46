import shutil
import subprocess
import sys

import numpy as np
import pytest

from seqvi.data import load_polyphonic
from seqvi.data.tfds_polyphonic import build


def test_builder_writes_array_record_and_reads_back(tmp_path, polyphonic_dir):
    manual = tmp_path / "manual"
    manual.mkdir()
    shutil.copy(polyphonic_dir / "JSB_Chorales.mat", manual)
    sources = build("jsb_chorales", manual, tmp_path / "tfds")
    assert {s: len(v) for s, v in sources.items()} == {"train": 229, "valid": 76, "test": 77}
    expected = load_polyphonic(polyphonic_dir / "JSB_Chorales.mat")
    for i in range(len(sources["valid"])):
        example = sources["valid"][i]
        original = expected["valid"][int(example["index"])]
        np.testing.assert_array_equal(example["roll"], original)
        assert int(example["length"]) == original.shape[0]
    assert list((tmp_path / "tfds").rglob("*.array_record*"))


def test_builder_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nottingham"):
        build("nottingham", tmp_path, tmp_path / "tfds")


def test_no_tensorflow_is_imported():
    code = "import sys, seqvi.data.tfds_polyphonic; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
