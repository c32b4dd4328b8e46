"""Polyphonic music (Boulanger-Lewandowski et al. 2012): piano rolls of 88
pitches, [T, 88] binary rows. JSB chorales are embedded in seqvi; the others
are read from the user's file (.mat, .pickle or .json with train/valid/test)."""

import pathlib

from seqvi.core import ConfigError
from seqvi.data import polyphonic
from seqvi.datasets.base import Dataset, file_record, register

SUFFIXES = (".mat", ".pickle", ".json")

# The standard splits' sizes (train, valid, test sequences) of Boulanger-Lewandowski et
# al. (2012): a file with these holds that data set, whichever config read it. The first
# three were read from ../shared/data/polyphonic; no MuseData file is there, and its test
# count, 124, is that of the SRNN authors' MuseData file (whole test songs).
STANDARD_SPLITS = {
    (229, 76, 77): "jsb",
    (694, 173, 170): "nottingham",
    (87, 12, 25): "piano_midi",
    (524, 135, 124): "muse_data",
}


def identify(splits: dict[str, list]) -> str | None:
    """The standard data set a polyphonic file holds, by its splits' sizes
    (``STANDARD_SPLITS``); None for any other file."""
    return STANDARD_SPLITS.get(tuple(len(splits.get(k, ())) for k in ("train", "valid", "test")))


class Polyphonic(Dataset):
    """A polyphonic set: JSB (embedded) trains on whole chorales; the others
    on pieces of at most ``max_train_length`` = 128 steps (evaluation always
    scores whole sequences)."""

    layout = SUFFIXES

    def __init__(self, name: str, embedded: bool = False):
        self.name = name
        self.source = "embedded" if embedded else "file"

    def configure(self, c, **options) -> None:
        super().configure(c, **options)
        c.max_train_length = 0 if self.source == "embedded" else 128  # 0: whole sequences

    def data_file(self, config) -> pathlib.Path:
        """``config.data_path``, or the embedded JSB chorales."""
        if config.get("data_path") or self.source != "embedded":
            return self.data_path(config, "file")
        return pathlib.Path(polyphonic.embedded_jsb_path())

    def load_splits(self, config) -> dict[str, list]:
        path = self.data_file(config)
        try:
            splits = polyphonic.load_polyphonic(path)
        except polyphonic.DataFormatError as e:
            raise ConfigError(str(e)) from e
        if not splits.get("train"):
            raise ConfigError(f"{path}: the training split is empty")
        return splits

    def record(self, config, splits) -> dict:
        """The record names the data set the file holds (``identify``), not the one
        the config was written for: MuseData read through ``vrnn.py:nottingham`` is
        'muse_data', with ``read_as`` 'nottingham'."""
        out = dict(super().record(config, splits), file=file_record(self.data_file(config)))
        held = identify(splits)
        if held is not None and held != self.name:
            out.update(dataset=held, read_as=self.name)
        return out


JSB = register(Polyphonic("jsb", embedded=True))
NOTTINGHAM = register(Polyphonic("nottingham"))
PIANO_MIDI = register(Polyphonic("piano_midi"))
MUSE_DATA = register(Polyphonic("muse_data"))
