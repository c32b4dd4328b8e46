import json
import pickle

import numpy as np
import pytest

from seqvi.data import DataFormatError, embedded_jsb_path, load_polyphonic, training_mean
from seqvi.data.polyphonic import notes_to_roll

COUNTS = {
    "JSB_Chorales.mat": ((229, 76, 77), (13807, 4602, 4725)),
    "Nottingham.mat": ((694, 173, 170), (176561, 45513, 44463)),
    "Piano_midi.mat": ((87, 12, 25), (75911, 8540, 19036)),
    "JSB Chorales.pickle": ((229, 76, 77), (13807, 4602, 4725)),
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_real_files_have_the_standard_splits(polyphonic_dir, name):
    data = load_polyphonic(polyphonic_dir / name)
    sequences, steps = COUNTS[name]
    assert tuple(len(data[s]) for s in ("train", "valid", "test")) == sequences
    assert tuple(sum(r.shape[0] for r in data[s]) for s in ("train", "valid", "test")) == steps
    roll = data["train"][0]
    assert roll.dtype == np.uint8 and roll.shape[1] == 88 and set(np.unique(roll)) <= {0, 1}


def test_pickle_equals_mat_and_embedded_copy(polyphonic_dir):
    a = load_polyphonic(polyphonic_dir / "JSB_Chorales.mat")
    b = load_polyphonic(polyphonic_dir / "JSB Chorales.pickle")
    c = load_polyphonic(embedded_jsb_path())
    for split in a:
        for x, y, z in zip(a[split], b[split], c[split]):
            np.testing.assert_array_equal(x, y)
            np.testing.assert_array_equal(x, z)


def test_json_of_notes(tmp_path):
    data = {"train": [[[60, 64], [], [108]]], "valid": [[[21]]], "test": [[[60]]]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data))
    rolls = load_polyphonic(path)
    assert rolls["train"][0].shape == (3, 88)
    assert rolls["train"][0][0, 60 - 21] == 1 and rolls["train"][0][2, 87] == 1
    assert rolls["train"][0][1].sum() == 0


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.mat"):
        load_polyphonic(tmp_path / "nothing.mat")


def test_wrong_format_and_truncation(tmp_path, polyphonic_dir):
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"this is not matlab")
    with pytest.raises(DataFormatError, match="bad.mat"):
        load_polyphonic(bad)
    truncated = tmp_path / "trunc.pickle"
    truncated.write_bytes((polyphonic_dir / "JSB Chorales.pickle").read_bytes()[:5000])
    with pytest.raises(DataFormatError, match="trunc.pickle"):
        load_polyphonic(truncated)
    other = tmp_path / "x.csv"
    other.write_text("1,2")
    with pytest.raises(DataFormatError, match="unknown polyphonic format"):
        load_polyphonic(other)
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"train": []}))
    with pytest.raises(DataFormatError, match="keys"):
        load_polyphonic(keys)


def test_wrong_shapes_nans_and_notes(tmp_path):
    import scipy.io

    def write(name, train):
        cell = np.empty((1, len(train)), dtype=object)
        for i, r in enumerate(train):
            cell[0, i] = r
        ok = np.empty((1, 1), dtype=object)
        ok[0, 0] = np.zeros((2, 88), np.uint8)
        scipy.io.savemat(tmp_path / name, {"traindata": cell, "validdata": ok, "testdata": ok})
        return tmp_path / name

    with pytest.raises(DataFormatError, match=r"shape \(4, 12\)"):
        load_polyphonic(write("shape.mat", [np.zeros((4, 12))]))
    nan = np.zeros((3, 88))
    nan[1, 2] = np.nan
    with pytest.raises(DataFormatError, match="NaN"):
        load_polyphonic(write("nan.mat", [nan]))
    with pytest.raises(DataFormatError, match="other than 0 and 1"):
        load_polyphonic(write("two.mat", [2 * np.ones((3, 88))]))
    with pytest.raises(DataFormatError, match="outside the piano range"):
        notes_to_roll([[12]])


def test_unpickler_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps({"train": Evil(), "valid": [], "test": []}))
    with pytest.raises(DataFormatError, match="not allowed"):
        load_polyphonic(path)


def test_training_mean():
    rolls = [np.array([[1, 0], [0, 0]]), np.array([[1, 1]])]
    np.testing.assert_allclose(training_mean(rolls), [2 / 3, 1 / 3])
