"""TFDS builders for speech recordings, written as array_record (no TensorFlow).

    sources = build("fsdd", manual_dir="path/to/fsdd/recordings", data_dir=...)
    sources["test"][i]  # {'audio': int16 [N], 'name': b'0_george_0.wav', 'sample_rate': 8000}

Configs: 'fsdd' (one folder of ``{digit}_{speaker}_{take}.wav``, split by
``seqvi.data.speech.fsdd_split`` with its default seed) and 'split_folders' (a
TIMIT-style folder with train/ and test/, valid/ optional; otherwise 5% of the
training recordings, seed 0). Examples hold the raw 16-bit samples; the
thesis's preprocessing (training-set normalisation, 12.5 ms frames) is
``seqvi.data.speech``'s, applied when the data are read. Nothing is downloaded:
the recordings must be in ``manual_dir``. Build from Python: the ``tfds``
command-line tool imports TensorFlow.
"""

import dataclasses

import numpy as np

from seqvi._extras import require
from seqvi.data import speech

tfds = require("tensorflow_datasets", "data")


@dataclasses.dataclass
class SpeechConfig(tfds.core.BuilderConfig):
    layout: str = "fsdd"


class SpeechRecordings(tfds.core.GeneratorBasedBuilder):
    """Mono 16-bit recordings with the splits of ``seqvi.data.speech.load_speech``."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Raw int16 samples, file name and sample rate per recording."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Put the recordings in manual_dir: the FSDD's recordings/ folder ('fsdd'), or a folder with "
        "train/ and test/ subfolders of WAV files ('split_folders', as TIMIT converted to WAV)."
    )
    BUILDER_CONFIGS = [SpeechConfig(name="fsdd", layout="fsdd"),
                       SpeechConfig(name="split_folders", layout="split_folders")]

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "audio": tfds.features.Tensor(shape=(None,), dtype=np.int16),
                "name": tfds.features.Text(),
                "sample_rate": tfds.features.Scalar(dtype=np.int32),
            }),
            homepage="https://github.com/Jakobovski/free-spoken-digit-dataset" if self.builder_config.layout == "fsdd"
            else None,
        )

    def _split_generators(self, dl_manager):
        audio, rate, names = speech.split_recordings(dl_manager.manual_dir, self.builder_config.layout)
        return {split: self._generate_examples(audio, members, rate) for split, members in names.items()}

    def _generate_examples(self, audio: dict, names: list[str], sample_rate: int):
        for name in names:
            yield name, {"audio": np.round(audio[name] * 32768.0).astype(np.int16), "name": name,
                         "sample_rate": np.int32(sample_rate)}


def build(name: str, manual_dir, data_dir) -> dict:
    """Build (once) and open config ``name``: {'train','valid','test'} random-access sources."""
    builder = SpeechRecordings(config=name, data_dir=str(data_dir), file_format="array_record")
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
    return builder.as_data_source()
