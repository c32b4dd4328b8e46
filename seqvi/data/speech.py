"""Raw speech waveforms (thesis, section 5.4 and its experimental details: TIMIT
and Blizzard; here any folder of WAV files, such as the Free Spoken Digit Dataset).

* ``read_wav`` / ``write_wav``: mono 16-bit PCM WAV files (stdlib ``wave``), as
  float32 samples in [-1, 1) (int16 / 32768); anything else is refused with an
  ``AudioFormatError`` naming the file and what it holds.
* ``read_folder``: every ``*.wav`` of a folder, one sample rate for all.
* ``fsdd_split``: the FSDD's official split (takes 0-4 of every speaker and digit
  are the test set) and a seeded validation set carved from training.
* The thesis's preprocessing: ``normalisation`` (the global mean and standard
  deviation of the training samples only), ``frames`` (non-overlapping frames of F
  samples; the remainder shorter than a frame is dropped) and ``unframe``.
  The thesis uses F = 200 at 16 kHz, 12.5 ms per frame; ``FRAME_SIZE_8KHZ`` = 100
  keeps 12.5 ms at the FSDD's 8 kHz. The models' inputs u_t = x_{t-1} are
  ``seqvi.nn.shift_right`` of the frames.
"""

import pathlib
import re
import wave

import numpy as np

FRAME_SIZE_8KHZ = 100  # samples per frame at 8 kHz: 12.5 ms, as the thesis's 200 at 16 kHz
_FSDD_NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")


class AudioFormatError(ValueError):
    """A WAV file that is not mono 16-bit PCM, or a folder of mixed sample rates."""


def read_wav(path: str | pathlib.Path) -> tuple[np.ndarray, int]:
    """(samples [N] float32 in [-1, 1), sample rate in Hz) of a mono 16-bit PCM WAV.

    Raises FileNotFoundError for a missing file and AudioFormatError for a file
    that is not a PCM WAV, has more than one channel or another sample width."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no WAV file at {path}")
    try:
        with wave.open(str(path), "rb") as f:
            channels, width, rate, count = f.getnchannels(), f.getsampwidth(), f.getframerate(), f.getnframes()
            raw = f.readframes(count)
    except (wave.Error, EOFError) as e:
        raise AudioFormatError(f"{path}: not a PCM WAV file ({e})") from e
    if channels != 1:
        raise AudioFormatError(f"{path}: {channels} channels; seqvi reads mono recordings (mix them down first)")
    if width != 2:
        raise AudioFormatError(f"{path}: {8 * width}-bit samples; seqvi reads 16-bit PCM")
    return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0, rate


def write_wav(path: str | pathlib.Path, samples: np.ndarray, sample_rate: int) -> None:
    """Write samples [N] (floats, clipped to [-1, 1)) as a mono 16-bit PCM WAV."""
    samples = np.asarray(samples, np.float64)
    if samples.ndim != 1:
        raise ValueError(f"samples must be one channel [N], got shape {samples.shape}")
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(int(sample_rate))
        f.writeframes(pcm.tobytes())


def read_folder(folder: str | pathlib.Path, sample_rate: int | None = None) -> tuple[dict[str, np.ndarray], int]:
    """({file name: samples}, sample rate) of every ``*.wav`` in ``folder`` (sorted).

    Raises FileNotFoundError when the folder is missing or holds no WAV file, and
    AudioFormatError when a file's rate differs from ``sample_rate`` (default:
    the first file's)."""
    folder = pathlib.Path(folder)
    paths = sorted(folder.glob("*.wav")) if folder.is_dir() else []
    if not paths:
        raise FileNotFoundError(f"no .wav files in {folder}")
    out = {}
    for path in paths:
        samples, rate = read_wav(path)
        if sample_rate is None:
            sample_rate = rate
        if rate != sample_rate:
            raise AudioFormatError(f"{path}: {rate} Hz, but the folder's recordings are at {sample_rate} Hz")
        out[path.name] = samples
    return out, sample_rate


def fsdd_split(names: list[str], num_valid_takes: int = 5, seed: int = 0) -> dict[str, list[str]]:
    """{'train', 'valid', 'test'}: lists of FSDD file names ``{digit}_{speaker}_{take}.wav``.

    Test: takes 0-4 of every speaker and digit (the dataset's official split).
    Validation: for every speaker and digit, ``num_valid_takes`` of the remaining
    takes drawn without replacement by ``numpy.random.default_rng(seed)``, in the
    sorted order of (speaker, digit); training: the rest. Raises ValueError for a
    name that is not an FSDD name."""
    groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
    split = {"train": [], "valid": [], "test": []}
    for name in sorted(names):
        match = _FSDD_NAME.match(name)
        if match is None:
            raise ValueError(f"{name!r} is not an FSDD file name ({{digit}}_{{speaker}}_{{take}}.wav)")
        digit, speaker, take = match.group(1), match.group(2), int(match.group(3))
        if take < 5:
            split["test"].append(name)
        else:
            groups.setdefault((speaker, digit), []).append((take, name))
    rng = np.random.default_rng(seed)
    for key in sorted(groups):
        members = [name for _, name in sorted(groups[key])]
        chosen = set(rng.choice(len(members), size=min(num_valid_takes, len(members)), replace=False).tolist())
        for i, name in enumerate(members):
            split["valid" if i in chosen else "train"].append(name)
    return {k: sorted(v) for k, v in split.items()}


def normalisation(train: list[np.ndarray]) -> tuple[float, float]:
    """(mean, standard deviation) of all samples of the training recordings pooled
    (the thesis normalises by the training set's global statistics)."""
    if not train:
        raise ValueError("normalisation needs at least one training recording")
    pooled = np.concatenate([np.asarray(x, np.float64) for x in train])
    return float(pooled.mean()), float(pooled.std())


def frames(samples: np.ndarray, frame_size: int) -> np.ndarray:
    """Non-overlapping frames [T, frame_size] of samples [N], T = N // frame_size;
    the last N % frame_size samples (less than a frame) are dropped."""
    if frame_size < 1:
        raise ValueError(f"frame_size must be positive, got {frame_size}")
    samples = np.asarray(samples)
    count = samples.shape[0] // frame_size
    return samples[: count * frame_size].reshape(count, frame_size)


def unframe(framed: np.ndarray) -> np.ndarray:
    """The samples [T * F] of frames [T, F] (``frames``'s inverse on whole frames)."""
    return np.asarray(framed).reshape(-1)
