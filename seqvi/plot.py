"""Figures people look at: piano rolls (samples, continuations, imputations)."""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

LOWEST_MIDI = 21


def piano_roll(ax, roll: np.ndarray, title: str = "", start_marker: int | None = None,
               missing: np.ndarray | None = None) -> None:
    """Draw a [T, 88] roll on ``ax``: time left to right, pitch bottom to top,
    values in [0, 1] as grey levels (probabilities show as shades).
    ``start_marker`` draws a vertical line (for example where a continuation
    starts); ``missing`` [T] bool shades the unobserved steps."""
    roll = np.asarray(roll)
    ax.imshow(roll.T, aspect="auto", origin="lower", cmap="Greys", interpolation="nearest", vmin=0.0, vmax=1.0,
              extent=(0, roll.shape[0], LOWEST_MIDI, LOWEST_MIDI + roll.shape[1]))
    if start_marker is not None:
        ax.axvline(start_marker, color="tab:red", lw=1.5)
    if missing is not None:
        for t in np.flatnonzero(np.asarray(missing)):
            ax.axvspan(t, t + 1, color="tab:red", alpha=0.15, lw=0)
    ax.set_xlabel("time step")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(title)


def save_rolls(rolls: list[np.ndarray], titles: list[str], path, markers=None, missing=None) -> pathlib.Path:
    """One stacked panel per roll, written to ``path`` (PNG); ``missing`` [T] shades
    the same unobserved steps on every panel (clean / corrupted / recovered)."""
    markers = markers or [None] * len(rolls)
    fig, axes = plt.subplots(len(rolls), 1, figsize=(10, 2.4 * len(rolls)), squeeze=False)
    for ax, roll, title, marker in zip(axes[:, 0], rolls, titles, markers):
        piano_roll(ax, roll, title, marker, missing)
    fig.tight_layout()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def roll_to_midi(roll: np.ndarray, path, step_seconds: float = 0.25, velocity: int = 80) -> pathlib.Path:
    """Write a [T, 88] binary roll as a one-track MIDI file (a held note spans
    consecutive active steps)."""
    import mido

    ticks_per_beat = 480
    ticks = int(ticks_per_beat * step_seconds / 0.5)  # at the default 120 bpm a beat is 0.5 s
    roll = np.asarray(roll) > 0.5
    padded = np.vstack([np.zeros((1, roll.shape[1]), bool), roll, np.zeros((1, roll.shape[1]), bool)])
    track = mido.MidiTrack()
    waited = 0
    for t in range(1, padded.shape[0]):
        events = [("note_off", p) for p in np.flatnonzero(padded[t - 1] & ~padded[t])]
        events += [("note_on", p) for p in np.flatnonzero(padded[t] & ~padded[t - 1])]
        for kind, pitch in events:
            track.append(mido.Message(kind, note=int(pitch) + LOWEST_MIDI, velocity=velocity, time=waited))
            waited = 0
        waited += ticks
    midi = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    midi.tracks.append(track)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.save(str(path))
    return path
