import matplotlib.pyplot as plt
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


def test_trajectory_image_colours_pixels_by_their_last_time():
    video = np.zeros((3, 4, 4))
    video[0, 0, 0] = video[2, 0, 0] = 1.0  # on at t = 0 and t = 2
    video[1, 3, 3] = 1.0
    image = plot.trajectory_image(video, cmap="viridis")
    colours = plt.get_cmap("viridis")(np.linspace(0, 1, 3))[:, :3]
    np.testing.assert_allclose(image[0, 0], colours[2])
    np.testing.assert_allclose(image[3, 3], colours[1])
    np.testing.assert_allclose(image[1, 1], 1.0)  # never on: white


def test_video_figures_are_written(tmp_path):
    videos = [np.random.default_rng(i).uniform(size=(5, 8, 8)) for i in range(2)]
    assert plot.save_trajectories(videos, ["a", "b"], tmp_path / "t.png").stat().st_size > 500
    assert plot.save_gif(videos, tmp_path / "g.gif", ["a", "b"]).read_bytes()[:3] == b"GIF"
    assert plot.save_frame_grid(videos, ["a", "b"], tmp_path / "f.png", np.arange(5) > 2).stat().st_size > 500


def test_change_points():
    np.testing.assert_array_equal(plot.change_points(np.array([1, 1, 4, 4, 4, 0.25])), [2, 5])
