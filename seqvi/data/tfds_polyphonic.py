"""TFDS builders for polyphonic music, written as array_record (no TensorFlow).

    builder = PolyphonicMusic(config="jsb_chorales", data_dir=..., file_format="array_record")
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir="path/with/the/file"))
    train = builder.as_data_source()["train"]     # random access: train[i]["roll"]

TFDS stores examples in its own (hashed) order; "index" is a sequence's
position in the source file's split.

Nothing is downloaded: the file must be in ``manual_dir`` (any of the names in
the config, in .mat, .pickle or .json format; see ``seqvi.data.polyphonic``).
Build from Python: the ``tfds`` command-line tool imports TensorFlow.
"""

import dataclasses
import pathlib

import numpy as np

from seqvi._extras import require
from seqvi.data.polyphonic import NUM_PITCHES, SPLITS, load_polyphonic

tfds = require("tensorflow_datasets", "data")


@dataclasses.dataclass
class PolyphonicConfig(tfds.core.BuilderConfig):
    filenames: tuple[str, ...] = ()


def _names(stem: str, *alternatives: str) -> tuple[str, ...]:
    stems = (stem,) + alternatives
    return tuple(f"{s}{ext}" for s in stems for ext in (".mat", ".pickle", ".pkl", ".json"))


class PolyphonicMusic(tfds.core.GeneratorBasedBuilder):
    """Boulanger-Lewandowski et al. (2012) piano rolls, standard splits."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "88-pitch binary rolls (MIDI 21..108) with lengths."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Put the dataset's file in manual_dir: for example JSB_Chorales.mat, Nottingham.mat, "
        "Piano_midi.mat or MuseData.mat (or the original .pickle, or a .json of lists of notes)."
    )
    BUILDER_CONFIGS = [
        PolyphonicConfig(name="jsb_chorales", filenames=_names("JSB_Chorales", "JSB Chorales")),
        PolyphonicConfig(name="nottingham", filenames=_names("Nottingham")),
        PolyphonicConfig(name="piano_midi", filenames=_names("Piano_midi", "Piano-midi.de")),
        PolyphonicConfig(name="muse_data", filenames=_names("MuseData", "Muse_data")),
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "roll": tfds.features.Tensor(shape=(None, NUM_PITCHES), dtype=np.uint8),
                    "length": tfds.features.Scalar(dtype=np.int32),
                    "index": tfds.features.Scalar(dtype=np.int32),
                }
            ),
            homepage="http://www-etud.iro.umontreal.ca/~boulanni/icml2012",
        )

    def _source_file(self, manual_dir) -> pathlib.Path:
        manual_dir = pathlib.Path(manual_dir)
        for name in self.builder_config.filenames:
            if (manual_dir / name).is_file():
                return manual_dir / name
        raise FileNotFoundError(
            f"no {self.builder_config.name} file in {manual_dir}; expected one of {self.builder_config.filenames}"
        )

    def _split_generators(self, dl_manager):
        data = load_polyphonic(self._source_file(dl_manager.manual_dir))
        return {split: self._generate_examples(data[split]) for split in SPLITS}

    def _generate_examples(self, rolls):
        for i, roll in enumerate(rolls):
            yield i, {"roll": roll, "length": np.int32(roll.shape[0]), "index": np.int32(i)}


def build(name: str, manual_dir, data_dir) -> dict:
    """Build (once) and open dataset ``name``: {'train','valid','test'} random-access sources."""
    builder = PolyphonicMusic(config=name, data_dir=str(data_dir), file_format="array_record")
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
    return builder.as_data_source()
