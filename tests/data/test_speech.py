"""Speech data: WAV round trips and refusals, the FSDD split on the real files,
training-only normalisation, exact and invertible framing."""

import wave

import numpy as np
import pytest

from seqvi.data import speech
from seqvi.nn import shift_right


def test_wav_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    pcm = rng.integers(-32768, 32767, 1000).astype(np.int16)
    speech.write_wav(tmp_path / "a.wav", pcm / 32768.0, 8000)
    samples, rate = speech.read_wav(tmp_path / "a.wav")
    assert rate == 8000 and samples.dtype == np.float32
    np.testing.assert_array_equal(np.round(samples * 32768.0).astype(np.int16), pcm)


def _raw_wav(path, channels=1, width=2, rate=8000):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(b"\x00" * (channels * width * 10))
    return path


def test_an_extensible_header_of_16_bit_pcm_is_read(tmp_path):
    """WAVE_FORMAT_EXTENSIBLE (format tag 65534) with the PCM subformat: what many
    recorders write for mono 16-bit audio."""
    import struct

    pcm = np.arange(-5, 5, dtype="<i2") * 1000
    pcm_guid = bytes.fromhex("0100000000001000800000aa00389b71")
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 8000, 16000, 2, 16, 22, 16, 4) + pcm_guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", pcm.nbytes) + pcm.tobytes()
    (tmp_path / "extensible.wav").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    samples, rate = speech.read_wav(tmp_path / "extensible.wav")
    assert rate == 8000
    np.testing.assert_array_equal(samples, pcm / 32768.0)


def test_bad_files_are_refused_with_reasons(tmp_path):
    with pytest.raises(FileNotFoundError, match="no WAV file"):
        speech.read_wav(tmp_path / "missing.wav")
    with pytest.raises(speech.AudioFormatError, match="2 channels"):
        speech.read_wav(_raw_wav(tmp_path / "stereo.wav", channels=2))
    with pytest.raises(speech.AudioFormatError, match="24- or 32-bit samples"):
        speech.read_wav(_raw_wav(tmp_path / "deep.wav", width=3))
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(speech.AudioFormatError, match="not a PCM WAV"):
        speech.read_wav(tmp_path / "text.wav")
    folder = tmp_path / "mixed"
    folder.mkdir()
    _raw_wav(folder / "a.wav", rate=8000)
    _raw_wav(folder / "b.wav", rate=16000)
    with pytest.raises(speech.AudioFormatError, match="16000 Hz, but the folder's recordings are at 8000 Hz"):
        speech.read_folder(folder)
    with pytest.raises(FileNotFoundError, match="no .wav files"):
        speech.read_folder(tmp_path / "nowhere")


def test_fsdd_split_on_the_real_recordings(polyphonic_dir):
    folder = polyphonic_dir.parent / "speech" / "fsdd" / "recordings"
    names = sorted(p.name for p in folder.glob("*.wav"))
    assert len(names) == 3000
    split = speech.fsdd_split(names)
    assert {k: len(v) for k, v in split.items()} == {"train": 2400, "valid": 300, "test": 300}
    assert all(int(n.rsplit("_", 1)[1][:-4]) < 5 for n in split["test"])
    assert not set(split["train"]) & set(split["valid"]) and sorted(sum(split.values(), [])) == names
    assert speech.fsdd_split(names) == split and speech.fsdd_split(names, seed=1)["valid"] != split["valid"]
    samples, rate = speech.read_wav(folder / split["test"][0])
    assert rate == 8000 and samples.ndim == 1 and np.abs(samples).max() < 1.0


def test_normalisation_uses_the_training_recordings_only():
    train = [np.array([1.0, 2.0, 3.0]), np.array([5.0])]
    mean, std = speech.normalisation(train)
    np.testing.assert_allclose((mean, std), (np.mean([1, 2, 3, 5]), np.std([1, 2, 3, 5])))
    with pytest.raises(ValueError, match="at least one"):
        speech.normalisation([])
    with pytest.raises(ValueError, match="the training recordings are silent .* standard deviation is 0"):
        speech.normalisation([np.zeros(100), np.zeros(30)])  # not NaN frames and a NonFiniteError at step 1


def test_framing_and_the_input_shift_are_exact_and_invertible():
    x = np.arange(1003, dtype=np.float32)
    framed = speech.frames(x, speech.FRAME_SIZE_8KHZ)
    assert framed.shape == (10, 100)
    np.testing.assert_array_equal(speech.unframe(framed), x[:1000])
    np.testing.assert_array_equal(framed[3], x[300:400])
    u = np.asarray(shift_right(framed))
    np.testing.assert_array_equal(u[0], 0.0)
    np.testing.assert_array_equal(u[1:], framed[:-1])
    with pytest.raises(ValueError, match="frame_size"):
        speech.frames(x, 0)


def _folder_of_tones(folder, names, rate, seconds=0.05):
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    for i, name in enumerate(names):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        speech.write_wav(folder / name, 0.1 * (i + 1) * np.sin(2 * np.pi * 440 * t), rate)


def test_load_speech_fsdd_layout_normalises_with_training_statistics(tmp_path):
    names = [f"{d}_ann_{take}.wav" for d in range(2) for take in range(8)]
    _folder_of_tones(tmp_path, names, 8000)
    data = speech.load_speech(tmp_path, "fsdd", valid_takes=1, seed=0)
    assert data.frame_size == 100 and data.sample_rate == 8000  # 12.5 ms at 8 kHz
    assert {k: len(v) for k, v in data.names.items()} == {"train": 4, "valid": 2, "test": 10}
    raw = {n: speech.read_wav(tmp_path / n)[0] for n in names}
    mean, std = speech.normalisation([raw[n] for n in data.names["train"]])
    assert (data.mean, data.std) == (mean, std)
    name, framed = data.names["test"][3], data.splits["test"][3]
    assert framed.shape == (4, 100) and framed.dtype == np.float32
    np.testing.assert_allclose(data.to_audio(framed), raw[name][:400], atol=1e-6)


def test_load_speech_timit_layout_at_16khz(tmp_path):
    _folder_of_tones(tmp_path / "train", [f"dr1/spk{i}/sa1.WAV" for i in range(20)], 16000)
    _folder_of_tones(tmp_path / "test", ["dr1/spk9/sa2.wav"], 16000)
    data = speech.load_speech(tmp_path, "split_folders", seed=3)
    assert data.frame_size == 200 and data.sample_rate == 16000  # the thesis's F
    assert len(data.names["valid"]) == 1 and len(data.names["train"]) == 19  # 5% held out
    assert data.names["test"] == ["test/dr1/spk9/sa2.wav"]
    assert not set(data.names["valid"]) & set(data.names["train"])
    with pytest.raises(ValueError, match="layout"):
        speech.load_speech(tmp_path, "timit")


def test_load_speech_refuses_mixed_rates_and_empty_folders(tmp_path):
    _folder_of_tones(tmp_path / "train", ["a.wav"], 16000)
    _folder_of_tones(tmp_path / "test", ["b.wav"], 8000)
    with pytest.raises(speech.AudioFormatError, match="8000 Hz, but the folder's recordings are at 16000 Hz"):
        speech.load_speech(tmp_path, "split_folders")
    with pytest.raises(FileNotFoundError, match="no .wav files"):
        speech.load_speech(tmp_path / "nothing", "fsdd")
