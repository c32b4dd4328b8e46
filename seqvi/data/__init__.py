"""Data: readers (polyphonic music, dialogue, physics videos, synthetic suites,
speech waveforms in ``seqvi.data.speech``), TFDS builders (array_record, no
TensorFlow) and batching."""

from seqvi.data.batching import BatchSchedule, pad_batch, shifted_inputs
from seqvi.data.polyphonic import (
    NUM_PITCHES,
    SPLITS,
    DataFormatError,
    embedded_jsb_path,
    load_polyphonic,
    training_mean,
)

__all__ = [
    "NUM_PITCHES",
    "SPLITS",
    "DataFormatError",
    "embedded_jsb_path",
    "load_polyphonic",
    "training_mean",
    "BatchSchedule",
    "pad_batch",
    "shifted_inputs",
]
