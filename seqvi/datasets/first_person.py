"""GTM-SM's first-person 3-D navigation (thesis, sections 7.4.2 and 7.7.2;
miniworld rooms in place of Labyrinth, ``seqvi.data.first_person``): rows are a
32 x 32 RGB view and a one-hot action, rendered once into TFDS files."""

import pathlib

from seqvi.core import ConfigError
from seqvi.data import first_person
from seqvi.datasets.base import Dataset, option_block, register
from seqvi.datasets.navigation import action_video_config

# (training steps, test steps) of each kind of video: 'rotating' tau + 16 for
# training (tau = 33) and tau + 45 at test; 'walking' 150 + 32 and 150 + 150.
KINDS = {"rotating": (49, 78), "walking": (182, 300)}


class FirstPerson(Dataset):
    """``config.first_person``: kind ('rotating' or 'walking'), sizes, seed,
    ``data_dir`` (empty: ~/tensorflow_datasets), ``displacements`` (append the
    true displacements in the agent's frame to each row)."""

    name = "first_person"
    source = "generated"

    def configure(self, c, **options) -> None:
        kind = option_block(options, {"kind": "rotating"}, "first_person")["kind"]
        if kind not in KINDS:
            raise ValueError(f"first_person kind must be one of {sorted(KINDS)}, got {kind!r}")
        steps = KINDS[kind]
        c.first_person = dict(kind=kind, num_steps=steps[0], test_steps=steps[1], size=32, repeat_rate=3.0,
                              num_train=1000, num_valid=50, num_test=100, seed=0, data_dir="", displacements=False,
                              avoid_walls=False)
        action_video_config(c, c.first_person)

    def sources(self, options) -> dict:
        """The TFDS sources {'train', 'valid', 'test'} of the videos ``options``
        (``config.first_person``) describe, rendered once into ``options.data_dir``
        by ``seqvi.data.tfds_first_person``. ConfigError if miniworld cannot render."""
        from seqvi.data import tfds_first_person

        fields = ("kind", "num_steps", "test_steps", "size", "repeat_rate", "num_train", "num_valid", "num_test",
                  "seed", "avoid_walls")
        data_dir = pathlib.Path(options.data_dir or "~/tensorflow_datasets").expanduser()
        try:
            return tfds_first_person.build(data_dir, **{k: options[k] for k in fields if k in options})
        except first_person.MiniworldUnavailable as e:
            raise ConfigError(str(e)) from e

    def load_splits(self, config) -> dict[str, list]:
        """{'train', 'valid', 'test'}: lists of [T, size * size * 3 + 3] float32 rows
        (RGB view in [0, 1], one-hot action; with ``displacements``, then the
        true displacements: ``seqvi.data.first_person.rows``)."""
        from seqvi.data import tfds_first_person

        options = config.first_person
        return {split: list(first_person.rows(tfds_first_person.videos(source), options.get("displacements", False)))
                for split, source in self.sources(options).items()}

    def record(self, config, splits) -> dict:
        return dict(super().record(config, splits), generator=config.first_person.to_dict())


FIRST_PERSON = register(FirstPerson())
