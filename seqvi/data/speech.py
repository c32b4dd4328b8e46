"""Raw speech waveforms (thesis, section 5.4 and its experimental details: TIMIT
and Blizzard; here any folder of WAV files, such as the Free Spoken Digit Dataset).

* ``read_wav`` / ``write_wav``: mono 16-bit PCM WAV files (``scipy.io.wavfile``
  reads, stdlib ``wave`` writes), as
  float32 samples in [-1, 1) (int16 / 32768); anything else is refused with an
  ``AudioFormatError`` naming the file and what it holds.
* ``read_folder``: every ``*.wav`` of a folder (and, ``recursive``, of its
  subfolders, as TIMIT's speaker folders), one sample rate for all.
* ``fsdd_split``: the FSDD's official split (takes 0-4 of every speaker and digit
  are the test set) and a seeded validation set carved from training.
* ``split_recordings`` / ``load_speech``: a folder's recordings by split, and as
  normalised frames by split: FSDD (one folder of
  ``{digit}_{speaker}_{take}.wav``) or TIMIT-style (``train/`` and ``test/``
  subfolders, ``valid/`` optional, else 5% of training held out as the thesis
  does for TIMIT), at any one sample rate (16 kHz for TIMIT).
* The thesis's preprocessing: ``normalisation`` (the global mean and standard
  deviation of the training samples only), ``frames`` (non-overlapping frames of F
  samples; the remainder shorter than a frame is dropped) and ``unframe``.
  The thesis uses F = 200 at 16 kHz, 12.5 ms per frame; ``FRAME_SIZE_8KHZ`` = 100
  keeps 12.5 ms at the FSDD's 8 kHz. The models' inputs u_t = x_{t-1} are
  ``seqvi.nn.shift_right`` of the frames.
"""

import dataclasses
import pathlib
import re
import warnings
import wave

import numpy as np
from scipy.io import wavfile

FRAME_SECONDS = 0.0125  # the thesis's frame: 200 samples at 16 kHz
FRAME_SIZE_8KHZ = 100  # samples per frame at 8 kHz: 12.5 ms, as the thesis's 200 at 16 kHz
LAYOUTS = ("fsdd", "split_folders")
_FSDD_NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")


class AudioFormatError(ValueError):
    """A WAV file that is not mono 16-bit PCM, or a folder of mixed sample rates."""


def read_wav(path: str | pathlib.Path) -> tuple[np.ndarray, int]:
    """(samples [N] float32 in [-1, 1), sample rate in Hz) of a mono 16-bit PCM WAV
    (the plain and the WAVE_FORMAT_EXTENSIBLE header alike; ``scipy.io.wavfile``).

    Raises FileNotFoundError for a missing file and AudioFormatError for a file
    that is not a PCM WAV, has more than one channel or another sample width."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no WAV file at {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # chunks it skips (LIST, ...)
            rate, data = wavfile.read(path)
    except (ValueError, EOFError) as e:
        raise AudioFormatError(f"{path}: not a PCM WAV file ({e})") from e
    if data.ndim != 1:
        raise AudioFormatError(f"{path}: {data.shape[1]} channels; seqvi reads mono recordings (mix them down first)")
    if data.dtype != np.int16:
        width = _WIDTHS.get(data.dtype.str[1:], data.dtype.name)
        raise AudioFormatError(f"{path}: {width} samples; seqvi reads 16-bit PCM")
    return data.astype(np.float32) / 32768.0, int(rate)


# What scipy's sample types hold in a WAV file (24-bit PCM comes as int32).
_WIDTHS = {"u1": "8-bit", "i4": "24- or 32-bit", "f4": "32-bit float", "f8": "64-bit float"}


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


def read_folder(folder: str | pathlib.Path, sample_rate: int | None = None, *,
                recursive: bool = False) -> tuple[dict[str, np.ndarray], int]:
    """({file name: samples}, sample rate) of every ``*.wav`` (any case) in ``folder``
    (sorted; with ``recursive``, in its subfolders too, named by relative path).

    Raises FileNotFoundError when the folder is missing or holds no WAV file, and
    AudioFormatError when a file's rate differs from ``sample_rate`` (default:
    the first file's)."""
    folder = pathlib.Path(folder)
    found = (folder.rglob("*") if recursive else folder.glob("*")) if folder.is_dir() else ()
    paths = sorted(p for p in found if p.suffix.lower() == ".wav" and p.is_file())
    if not paths:
        raise FileNotFoundError(f"no .wav files in {folder}" + (" or its subfolders" if recursive else ""))
    out = {}
    for path in paths:
        samples, rate = read_wav(path)
        if sample_rate is None:
            sample_rate = rate
        if rate != sample_rate:
            raise AudioFormatError(f"{path}: {rate} Hz, but the folder's recordings are at {sample_rate} Hz")
        out[str(path.relative_to(folder))] = samples
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
    (the thesis normalises by the training set's global statistics). ValueError
    without recordings, or for silent ones (standard deviation 0)."""
    if not train:
        raise ValueError("normalisation needs at least one training recording")
    pooled = np.concatenate([np.asarray(x, np.float64) for x in train])
    if not pooled.std() > 0:
        raise ValueError(f"the training recordings are silent (every sample is {pooled.mean():g}): their standard "
                         "deviation is 0, so there is nothing to normalise by")
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


def frame_size_for(sample_rate: int) -> int:
    """Samples per 12.5 ms frame at ``sample_rate`` Hz (200 at 16 kHz, 100 at 8 kHz)."""
    return max(1, round(FRAME_SECONDS * sample_rate))


@dataclasses.dataclass(frozen=True)
class SpeechData:
    """A speech corpus as model data: ``splits`` {'train', 'valid', 'test'} of
    normalised frames [T, frame_size] (float32), ``names`` the recordings' file
    names in the same order, and what turns frames back into audio: samples =
    unframe(frames) * std + mean at ``sample_rate``."""

    splits: dict[str, list[np.ndarray]]
    names: dict[str, list[str]]
    mean: float
    std: float
    sample_rate: int
    frame_size: int

    def to_audio(self, framed: np.ndarray) -> np.ndarray:
        """Samples [T * F] in the recordings' units of normalised frames [T, F]."""
        return unframe(framed) * self.std + self.mean


def _held_out(names: list[str], fraction: float, seed: int) -> set[str]:
    rng = np.random.default_rng(seed)
    count = max(1, round(fraction * len(names)))
    return {names[i] for i in rng.choice(len(names), size=count, replace=False)}


def split_recordings(folder: str | pathlib.Path, layout: str = "fsdd", *, valid_takes: int = 5,
                     valid_fraction: float = 0.05, seed: int = 0
                     ) -> tuple[dict[str, np.ndarray], int, dict[str, list[str]]]:
    """(recordings {name: samples}, sample rate, {'train', 'valid', 'test'}: names)
    of a folder in ``layout`` (see ``load_speech``)."""
    folder = pathlib.Path(folder)
    if layout == "fsdd":
        audio, rate = read_folder(folder)
        return audio, rate, fsdd_split(list(audio), valid_takes, seed)
    if layout != "split_folders":
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    audio, rate, names = {}, None, {}
    for split in ("train", "valid", "test"):
        if split == "valid" and not (folder / split).is_dir():
            continue
        part, rate = read_folder(folder / split, rate, recursive=True)
        audio.update({f"{split}/{k}": v for k, v in part.items()})
        names[split] = sorted(f"{split}/{k}" for k in part)
    if "valid" not in names:
        held = _held_out(names["train"], valid_fraction, seed)
        names["valid"] = sorted(held)
        names["train"] = [n for n in names["train"] if n not in held]
    return audio, rate, names


def load_speech(folder: str | pathlib.Path, layout: str = "fsdd", *, frame_size: int = 0, valid_takes: int = 5,
                valid_fraction: float = 0.05, seed: int = 0) -> SpeechData:
    """The recordings of ``folder`` as normalised frames by split (thesis, section
    5.4: normalise by the training set's global mean and standard deviation, then
    non-overlapping frames of F samples; F = ``frame_size``, or 12.5 ms when 0).

    layout 'fsdd': one folder of FSDD files split by ``fsdd_split`` (``valid_takes``,
    ``seed``). 'split_folders' (TIMIT-style): ``train/`` and ``test/`` subfolders
    read recursively, ``valid/`` if present, else ``valid_fraction`` of the
    training recordings drawn with ``seed``. Recordings shorter than one frame
    are dropped. Raises ValueError for an unknown layout or no training
    recording, FileNotFoundError and AudioFormatError as ``read_folder``."""
    audio, rate, names = split_recordings(folder, layout, valid_takes=valid_takes, valid_fraction=valid_fraction,
                                          seed=seed)
    size = frame_size or frame_size_for(rate)
    mean, std = normalisation([audio[n] for n in names["train"]])
    splits, kept = {}, {}
    for split, members in names.items():
        members = [n for n in members if audio[n].shape[0] >= size]
        kept[split] = members
        splits[split] = [frames((audio[n] - mean) / std, size).astype(np.float32) for n in members]
    return SpeechData(splits, kept, mean, std, rate, size)
