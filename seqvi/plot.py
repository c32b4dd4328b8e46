"""Figures people look at: piano rolls (samples, continuations, imputations),
per-step diagnostic traces (KL, prediction error, predicted variance), videos
(trajectory images, animated GIFs), and speech (the thesis's Figure 5.3,
spectrograms)."""

import pathlib

import numpy as np

from seqvi._extras import require

plt = require("matplotlib.pyplot", "plots")  # the backend is the user's choice (headless: Agg by default)

LOWEST_MIDI = 21


def _save(fig, path, **savefig_options) -> pathlib.Path:
    """Write ``fig`` to ``path`` (creating its folder) and close it."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, **savefig_options)
    plt.close(fig)
    return path


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
    return _save(fig, path, dpi=100)


def roll_to_midi(roll: np.ndarray, path, step_seconds: float = 0.25, velocity: int = 80) -> pathlib.Path:
    """Write a [T, 88] binary roll as a one-track MIDI file (a held note spans
    consecutive active steps)."""
    mido = require("mido", "plots")

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


def change_points(values: np.ndarray) -> np.ndarray:
    """Steps t where values[t] != values[t - 1]."""
    values = np.asarray(values)
    return np.flatnonzero(values[1:] != values[:-1]) + 1


def diagnostics_figure(xs: np.ndarray, traces: dict, path, noise_scale=None, matrix=None, title: str = ""):
    """The VHRNN paper's Figure 2-4 layout for one sequence xs [T, D]: the data,
    then KL(q || p), the L2 error of the predicted mean and the predicted
    emission log-variance (mean over D) per step, one line per model in
    ``traces`` ({label: seqvi.diagnostics.StepDiagnostics}). Dashed lines mark
    where ``noise_scale`` [T] or ``matrix`` [T] change (noise switches, and the
    concatenation boundaries of the SWITCH setting). Written to ``path`` (PNG)."""
    xs = np.asarray(xs)
    steps = np.arange(xs.shape[0])
    fig, axes = plt.subplots(4, 1, figsize=(10, 8.5), sharex=True)
    for d in range(xs.shape[1]):
        axes[0].plot(steps, xs[:, d], lw=1, label=f"x[{d}]")
    if noise_scale is not None and np.any(noise_scale):
        twin = axes[0].twinx()
        twin.step(steps, noise_scale, where="post", color="grey", lw=1, alpha=0.7)
        twin.set_ylabel("noise sigma_t", color="grey")
    axes[0].set_ylabel("data")
    axes[0].legend(loc="upper left", fontsize=8)
    panels = [("KL(q || p)", lambda tr: tr.kl), ("L2 error of predicted mean", lambda tr: tr.error),
              ("predicted log-variance", lambda tr: np.mean(np.asarray(tr.log_var), axis=-1))]
    for ax, (label, get) in zip(axes[1:], panels):
        for name, trace in traces.items():
            ax.plot(steps, np.asarray(get(trace))[: len(steps)], lw=1, label=name)
        ax.set_ylabel(label)
    axes[1].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("time step")
    boundaries = set()
    for values in (noise_scale, matrix):
        if values is not None:
            boundaries.update(change_points(values).tolist())
    for ax in axes:
        for t in sorted(boundaries):
            ax.axvline(t, color="tab:red", ls="--", lw=0.8)
    axes[0].set_title(title)
    fig.tight_layout()
    return _save(fig, path, dpi=110)


def trajectory_image(frames: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """One RGB image [H, W, 3] of a video [T, H, W] with values in [0, 1]: each
    pixel takes the colour of the last time step at which it is on (> 0.5),
    colours running through ``cmap`` from t = 0 to T - 1, white where never on
    (the KVAE thesis's Figure 6.5)."""
    frames = np.asarray(frames) > 0.5
    num_steps = frames.shape[0]
    colours = plt.get_cmap(cmap)(np.linspace(0.0, 1.0, num_steps))[:, :3]
    image = np.ones(frames.shape[1:] + (3,))
    for t in range(num_steps):
        image[frames[t]] = colours[t]
    return image


def save_trajectories(videos: list[np.ndarray], titles: list[str], path) -> pathlib.Path:
    """A row of ``trajectory_image`` panels, one per video [T, H, W], to ``path`` (PNG)."""
    fig, axes = plt.subplots(1, len(videos), figsize=(2.2 * len(videos), 2.4), squeeze=False)
    for ax, video, title in zip(axes[0], videos, titles):
        ax.imshow(trajectory_image(video), interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])  # the frame's border stays
    fig.tight_layout()
    return _save(fig, path, dpi=110)


def save_gif(videos: list[np.ndarray], path, titles: list[str] | None = None, fps: int = 5) -> pathlib.Path:
    """An animated GIF of videos [T, H, W] side by side (greys, 1 = black), one
    frame per time step."""
    animation = require("matplotlib.animation", "plots")

    titles = titles or [""] * len(videos)
    fig, axes = plt.subplots(1, len(videos), figsize=(1.8 * len(videos), 2.0), squeeze=False)
    images = []
    for ax, video, title in zip(axes[0], videos, titles):
        images.append(ax.imshow(np.asarray(video[0]), cmap="Greys", vmin=0.0, vmax=1.0, interpolation="nearest"))
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.tight_layout()

    def show(t):
        for image, video in zip(images, videos):
            image.set_data(np.asarray(video[t]))
        return images

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    animation.FuncAnimation(fig, show, frames=len(videos[0]), blit=True).save(
        path, writer=animation.PillowWriter(fps=fps))
    plt.close(fig)
    return path


def save_frame_grid(videos: list[np.ndarray], titles: list[str], path, missing: np.ndarray | None = None):
    """Videos [T, H, W] as rows of frames (time left to right), one row per video
    with its title; ``missing`` [T] frames get a red border. Written to ``path`` (PNG)."""
    num_steps = len(videos[0])
    fig, axes = plt.subplots(len(videos), num_steps, figsize=(0.62 * num_steps, 0.72 * len(videos)), squeeze=False)
    for row, (video, title) in enumerate(zip(videos, titles)):
        for t in range(num_steps):
            ax = axes[row, t]
            ax.imshow(np.asarray(video[t]), cmap="Greys", vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if missing is not None and missing[t]:
                for spine in ax.spines.values():
                    spine.set_edgecolor("tab:red")
                    spine.set_linewidth(1.5)
        axes[row, 0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=8)
    fig.subplots_adjust(wspace=0.05, hspace=0.05, left=0.2)
    return _save(fig, path, dpi=100, bbox_inches="tight")


def speech_reconstruction_figure(recordings: list[dict], path, sample_rate: int, title: str = ""):
    """The thesis's Figure 5.3 for raw speech: one column per recording, rows (1) the
    raw (normalised) signal, (2) the average KL(q || p) of each 12.5 ms frame, (3)
    the reconstructed mean and (4) the reconstructed log-variance, both unframed to
    one value per sample. ``recordings``: dicts with 'name', 'signal' [N],
    'kl' [T], 'mean' [T * F] and 'log_var' [T * F]. Written to ``path`` (PNG)."""
    fig, axes = plt.subplots(4, len(recordings), figsize=(6 * len(recordings), 8), sharex="col", squeeze=False)
    for col, rec in enumerate(recordings):
        seconds = np.arange(len(rec["signal"])) / sample_rate
        frame_seconds = len(rec["signal"]) / len(rec["kl"]) / sample_rate
        axes[0, col].plot(seconds, rec["signal"], lw=0.5, color="black")
        axes[0, col].set_title(rec["name"])
        axes[1, col].step((np.arange(len(rec["kl"])) + 1) * frame_seconds, rec["kl"], where="pre", color="tab:red")
        axes[2, col].plot(seconds, rec["mean"], lw=0.5, color="tab:blue")
        axes[3, col].plot(seconds, rec["log_var"], lw=0.5, color="tab:green")
        axes[3, col].set_xlabel("seconds")
    for row, label in enumerate(["signal (normalised)", "KL per frame (nats)", "reconstructed mean",
                                 "reconstructed log-variance"]):
        axes[row, 0].set_ylabel(label)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path, dpi=110)


def spectrograms(signals: dict[str, np.ndarray], path, sample_rate: int):
    """One spectrogram panel per signal ({title: samples [N]}), stacked. Written to ``path`` (PNG)."""
    fig, axes = plt.subplots(len(signals), 1, figsize=(8, 2.2 * len(signals)), squeeze=False)
    for ax, (title, samples) in zip(axes[:, 0], signals.items()):
        ax.specgram(samples, NFFT=256, Fs=sample_rate, noverlap=192, cmap="magma")
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("Hz")
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    return _save(fig, path, dpi=110)
