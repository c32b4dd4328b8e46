"""A TFDS builder for GTM-SM's first-person 3-D videos (``seqvi.data.first_person``),
written as array_record (no TensorFlow). Rendering takes a few milliseconds a
frame, so the experiment pipeline reads the videos through this builder, which
renders them once per data directory.

    sources = build(data_dir, FirstPersonSpec("rotating", 49), num_train=1000, ...)
    sources["train"][i]["frames"]      # [T, size, size, 3] uint8 views
    sources["test"][i]["poses"]        # [test_steps, 3] (x, z, heading)
    sources["valid"][i]["index"]       # the video's place in its split (TFDS may reorder)

Seeds: train ``seed``, test ``seed + 1``, valid ``seed + 2``; test videos have
``test_steps`` steps, the others ``spec.num_steps``. The same arguments always
give the same data; other arguments get their own config name.
"""

import dataclasses

import numpy as np

from seqvi._extras import require
from seqvi.data import first_person

tfds = require("tensorflow_datasets", "data")

SPLITS = {"train": 0, "test": 1, "valid": 2}  # split -> seed offset


@dataclasses.dataclass
class FirstPersonConfig(tfds.core.BuilderConfig):
    kind: str = "rotating"
    num_steps: int = 49
    test_steps: int = 78
    size: int = 32
    repeat_rate: float = 3.0
    num_train: int = 1000
    num_valid: int = 50
    num_test: int = 100
    seed: int = 0
    avoid_walls: bool = False

    def spec(self, split: str) -> first_person.FirstPersonSpec:
        steps = self.test_steps if split == "test" else self.num_steps
        return first_person.FirstPersonSpec(self.kind, steps, self.size, self.repeat_rate, self.avoid_walls)


class FirstPersonNavigation(tfds.core.GeneratorBasedBuilder):
    """Videos of an agent in textured miniworld rooms: first-person views, one-hot actions, poses."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Views, one-hot actions and poses of rotating and walking agents."}
    BUILDER_CONFIGS = [FirstPersonConfig(name="default")]

    def _info(self) -> tfds.core.DatasetInfo:
        size = self.builder_config.size
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "frames": tfds.features.Tensor(shape=(None, size, size, 3), dtype=np.uint8),
                "actions": tfds.features.Tensor(shape=(None, len(first_person.ACTIONS)), dtype=np.float32),
                "poses": tfds.features.Tensor(shape=(None, 3), dtype=np.float32),
                "index": tfds.features.Scalar(dtype=np.int32),
            }),
            description=first_person.__doc__,
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        return {split: self._generate_examples(split) for split in SPLITS}

    def _generate_examples(self, split):
        c = self.builder_config
        count = getattr(c, f"num_{split}")
        seeds = np.random.default_rng(c.seed + SPLITS[split]).integers(2**31, size=count)
        for i, seed in enumerate(seeds):
            frames, actions, poses = first_person.video(c.spec(split), int(seed))
            yield i, {"frames": frames, "actions": np.eye(len(first_person.ACTIONS), dtype=np.float32)[actions],
                      "poses": poses, "index": np.int32(i)}


def build(data_dir, kind: str = "rotating", num_steps: int = 49, test_steps: int = 78, size: int = 32,
          repeat_rate: float = 3.0, num_train: int = 1000, num_valid: int = 50, num_test: int = 100,
          seed: int = 0, avoid_walls: bool = False) -> dict:
    """Build (once) and open the videos: {'train', 'valid', 'test'} random-access
    sources. Split i's videos equal ``first_person.generate(spec, num, seed + offset)``'s.
    The configuration's name lists the values (with 'avoid_walls' last, when set)."""
    values = dict(kind=kind, num_steps=num_steps, test_steps=test_steps, size=size, repeat_rate=repeat_rate,
                  num_train=num_train, num_valid=num_valid, num_test=num_test, seed=seed)
    default = FirstPersonConfig(name="default")
    same = all(getattr(default, k) == v for k, v in values.items())
    name = "_".join(str(v) for v in values.values()).replace(".", "p") + ("_avoid_walls" if avoid_walls else "")
    config = "default" if same and not avoid_walls else FirstPersonConfig(name=name, avoid_walls=avoid_walls, **values)
    builder = FirstPersonNavigation(config=config, data_dir=str(data_dir), file_format="array_record")
    builder.download_and_prepare()
    return builder.as_data_source()


def videos(source) -> first_person.FirstPerson:
    """One split's videos, in their generation order."""
    examples = sorted((source[i] for i in range(len(source))), key=lambda e: int(e["index"]))
    return first_person.FirstPerson(np.stack([e["frames"] for e in examples]),
                                    np.stack([e["actions"] for e in examples]),
                                    np.stack([e["poses"] for e in examples]))
