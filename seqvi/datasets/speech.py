"""Raw speech (thesis, section 5.4, scaled to a CPU; ``seqvi.data.speech``):
normalised waveform frames of a folder of WAV files."""

import pathlib

from seqvi.core import ConfigError
from seqvi.data import speech
from seqvi.datasets.base import Dataset, register


class Speech(Dataset):
    """'fsdd' (the FSDD's recordings/ folder) or 'speech' (a TIMIT-style folder
    with train/ and test/). Frames of 12.5 ms (``speech.frame_size`` 0), ELBO on
    one sample, beta from 0.2 to 1, evaluated on whole recordings.

    Training sequences are cut into independent 2 s pieces (160 frames, states
    reset, as the thesis) and scored in 0.5 s chunks (``tbptt_length`` 40 frames:
    set it to 0.5 s of any other ``frame_size``) with the states carried from
    chunk to chunk and gradients truncated between them. Unlike the thesis, which
    updates the parameters after each chunk (4 updates per 2 s), seqvi sums the
    chunks' truncated gradients into one update per batch. On the FSDD (training
    recordings of at most 1.3 s) no piece is cut and 24% of the recordings span
    more than one chunk."""

    source = "folder"

    def __init__(self, name: str, folder_layout: str, layout: tuple[str, ...]):
        self.name = name
        self.folder_layout = folder_layout  # seqvi.data.speech's layout
        self.layout = layout

    def model_fields(self, model: dict) -> dict:
        return dict(model, emission_type=model.get("emission_type", "gaussian"))

    def configure(self, c, **options) -> None:
        super().configure(c, **options)
        c.speech = dict(frame_size=0, valid_takes=5, split_seed=0)
        c.max_train_length = 160  # 2 s of 12.5 ms frames
        c.bound = "elbo"
        c.num_particles = 1
        c.kl_anneal_start = 0.2
        c.kl_anneal_steps = 1000
        c.tbptt_length = 40  # 0.5 s of 12.5 ms frames, as the thesis
        c.batch_size = 32
        c.learning_rate = 1e-3
        c.num_steps = 3000
        c.eval_every = 500
        c.eval = dict(num_particles=16, batch_size=50, split="valid")

    def load(self, config) -> speech.SpeechData:
        """The folder ``config.data_path`` as ``speech.SpeechData`` with
        ``config.speech`` (frame_size, valid_takes, split_seed). A missing folder
        or an unreadable recording is a ConfigError naming it."""
        if not config.get("data_path"):
            raise ConfigError(f"dataset {self.name!r} needs its folder of WAV files: --config.data_path=DIR "
                              "(for the FSDD, its recordings/ folder)")
        self.data_path(config, "folder")  # a file or a missing path: one line saying which
        options = config.get("speech", {})
        try:
            return speech.load_speech(config.data_path, self.folder_layout, frame_size=options.get("frame_size", 0),
                                      valid_takes=options.get("valid_takes", 5), seed=options.get("split_seed", 0))
        except (FileNotFoundError, ValueError) as e:
            inner = pathlib.Path(config.data_path) / "recordings"
            hint = f" (the FSDD's WAV files are in its recordings/ folder: {inner})" if inner.is_dir() else ""
            raise ConfigError(f"--config.data_path={config.data_path}: {e}{hint}") from e

    def load_splits(self, config) -> dict[str, list]:
        return self.load(config).splits

    def record(self, config, splits) -> dict:
        return dict(super().record(config, splits), folder=str(pathlib.Path(config.data_path).resolve()))


FSDD = register(Speech("fsdd", "fsdd", ("<digit>_<speaker>_<take>.wav",)))
SPEECH = register(Speech("speech", "split_folders", ("train/**/*.wav", "test/**/*.wav")))
