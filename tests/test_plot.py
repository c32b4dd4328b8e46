import mido
import numpy as np

from seqvi import plot


def test_roll_to_midi_round_trip(tmp_path):
    roll = np.zeros((4, 88))
    roll[0:2, 39] = 1  # middle C held for two steps
    roll[3, 40] = 1
    midi = mido.MidiFile(plot.roll_to_midi(roll, tmp_path / "x.mid"))
    notes = [(m.type, m.note) for m in midi.tracks[0] if m.type in ("note_on", "note_off")]
    assert notes == [("note_on", 60), ("note_off", 60), ("note_on", 61), ("note_off", 61)]


def test_save_rolls_writes_a_png(tmp_path):
    path = plot.save_rolls([np.eye(10, 88), np.zeros((5, 88))], ["a", "b"], tmp_path / "r.png", [None, 2])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
