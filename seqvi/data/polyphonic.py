"""Polyphonic music (Boulanger-Lewandowski et al. 2012) as 88-dim binary piano rolls.

Column i of a roll is MIDI pitch i + 21 (A0 .. C8). Three file formats load to
``{'train': [...], 'valid': [...], 'test': [...]}`` of uint8 arrays [T_n, 88]:

* ``.mat`` (MATLAB v5): keys traindata / validdata / testdata, each a 1 x N cell
  of T x 88 rolls.
* ``.pickle`` / ``.pkl``: the original Python-2 pickle, a dict train / valid /
  test of sequences of tuples of active MIDI notes. Read with a restricted
  unpickler that only rebuilds numpy scalars: nothing else in the file can run.
* ``.json``: the same structure as the pickle, as lists of lists of notes.

Any file of this shape loads (JSB Chorales, Nottingham, Piano-midi.de, MuseData).
"""

import io
import json
import pathlib
import pickle
from importlib import resources

import numpy as np

NUM_PITCHES = 88
LOWEST_MIDI = 21
SPLITS = ("train", "valid", "test")
_MAT_KEYS = {"train": "traindata", "valid": "validdata", "test": "testdata"}


class DataFormatError(ValueError):
    """A data file is truncated, malformed or not of the expected format."""


def embedded_jsb_path() -> pathlib.Path:
    """Path of JSB_Chorales.mat shipped inside the package (see embedded/README.md)."""
    return pathlib.Path(str(resources.files("seqvi.data") / "embedded" / "JSB_Chorales.mat"))


def notes_to_roll(sequence, path: str = "<input>") -> np.ndarray:
    """A sequence of collections of MIDI notes (21..108) -> uint8 roll [T, 88]."""
    roll = np.zeros((len(sequence), NUM_PITCHES), np.uint8)
    for t, notes in enumerate(sequence):
        for note in notes:
            pitch = int(note) - LOWEST_MIDI
            if not 0 <= pitch < NUM_PITCHES:
                raise DataFormatError(
                    f"{path}: MIDI note {note} at step {t} is outside the piano range 21..108"
                )
            roll[t, pitch] = 1
    return roll


class _NumpyScalarUnpickler(pickle.Unpickler):
    """Rebuilds builtins and numpy scalars only; any other global is refused."""

    _ALLOWED = {
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            module = "numpy._core.multiarray" if name == "scalar" else module
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a piano-roll pickle")


def _check_rolls(rolls, path: str, split: str) -> list[np.ndarray]:
    out = []
    for n, roll in enumerate(rolls):
        arr = np.asarray(roll)
        if arr.ndim != 2 or arr.shape[1] != NUM_PITCHES or arr.shape[0] == 0:
            raise DataFormatError(
                f"{path}: {split} sequence {n} has shape {arr.shape}, expected [T > 0, {NUM_PITCHES}]"
            )
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise DataFormatError(f"{path}: {split} sequence {n} contains NaN or Inf")
        if not np.isin(arr, (0, 1)).all():
            raise DataFormatError(f"{path}: {split} sequence {n} has values other than 0 and 1")
        out.append(arr.astype(np.uint8))
    return out


def _from_notes(data, path: str) -> dict[str, list[np.ndarray]]:
    if not isinstance(data, dict) or not all(s in data for s in SPLITS):
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise DataFormatError(f"{path}: expected a dict with keys {SPLITS}, got {keys}")
    return {s: [notes_to_roll(seq, path) for seq in data[s]] for s in SPLITS}


def _read_mat(path: pathlib.Path) -> dict[str, list[np.ndarray]]:
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as e:  # scipy raises several types for bad files
        raise DataFormatError(f"{path}: not a readable MATLAB file ({e})") from e
    out = {}
    for split, key in _MAT_KEYS.items():
        if key not in mat:
            raise DataFormatError(f"{path}: missing key {key!r} (found {sorted(k for k in mat if not k.startswith('__'))})")
        out[split] = list(np.asarray(mat[key]).ravel())
    return out


def _read_pickle(path: pathlib.Path):
    try:
        return _NumpyScalarUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
        raise DataFormatError(f"{path}: not a readable piano-roll pickle ({e})") from e


def _read_json(path: pathlib.Path):
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataFormatError(f"{path}: not valid JSON ({e})") from e


def load_polyphonic(path: str | pathlib.Path) -> dict[str, list[np.ndarray]]:
    """Read a polyphonic-music file into {'train','valid','test'} lists of [T, 88] uint8 rolls.

    Raises FileNotFoundError for a missing file and DataFormatError (a
    ValueError) naming the file for anything truncated or malformed.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"polyphonic data file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        raw = _read_mat(path)
    elif suffix in (".pickle", ".pkl"):
        raw = _from_notes(_read_pickle(path), str(path))
    elif suffix == ".json":
        raw = _from_notes(_read_json(path), str(path))
    else:
        raise DataFormatError(f"{path}: unknown polyphonic format {suffix!r}; expected .mat, .pickle or .json")
    return {s: _check_rolls(raw[s], str(path), s) for s in SPLITS}


def training_mean(rolls: list[np.ndarray]) -> np.ndarray:
    """Per-pitch frequency over all time steps of ``rolls``: [88] float32."""
    total = sum(r.sum(0, dtype=np.float64) for r in rolls)
    return (total / sum(r.shape[0] for r in rolls)).astype(np.float32)
