"""TFDS builders for the simulated physics videos (``seqvi.data.physics``),
written as array_record (no TensorFlow).

    sources = build("box", data_dir, num_train=5000, num_test=1000)
    sources["train"][i]["frames"]                 # [20, 32, 32] uint8

Configs: box, gravity, polygon, pong, pendulum. Train sequences are those of
``seed``, test sequences those of ``seed + 1`` (so the splits never share one),
and the same arguments always give the same data.
"""

import dataclasses

import numpy as np

from seqvi._extras import require
from seqvi.data import physics

tfds = require("tensorflow_datasets", "data")


@dataclasses.dataclass
class PhysicsConfig(tfds.core.BuilderConfig):
    spec: physics.PhysicsSpec = physics.PhysicsSpec()
    num_train: int = 5000
    num_test: int = 1000
    seed: int = 0


class PhysicsVideos(tfds.core.GeneratorBasedBuilder):
    """Binary videos of a ball in a box / under gravity / in a polygon / in Pong, and a pendulum."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "pymunk ball environments (32x32, 20 steps) and the pendulum (16x16, 15 steps)."}
    BUILDER_CONFIGS = [PhysicsConfig(name=e, spec=physics.PhysicsSpec.default(e)) for e in physics.ENVIRONMENTS]

    def _info(self) -> tfds.core.DatasetInfo:
        spec = self.builder_config.spec
        t, s = spec.num_steps, spec.image_size
        u = 1 if spec.environment == "pendulum" else 0
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "frames": tfds.features.Tensor(shape=(t, s, s), dtype=np.uint8),
                    "positions": tfds.features.Tensor(shape=(t, 2), dtype=np.float32),
                    "inputs": tfds.features.Tensor(shape=(t, u), dtype=np.float32),
                    "index": tfds.features.Scalar(dtype=np.int32),
                }
            ),
            description=physics.__doc__,
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        c = self.builder_config
        return {"train": self._generate_examples(c.num_train, c.seed),
                "test": self._generate_examples(c.num_test, c.seed + 1)}

    def _generate_examples(self, num, seed):
        spec = self.builder_config.spec
        for i in range(num):
            data = physics.generate(spec, 1, seed=seed, start=i)
            yield i, {"frames": data.frames[0], "positions": data.positions[0], "inputs": data.inputs[0],
                      "index": np.int32(i)}


def build(environment: str, data_dir, num_train: int = 5000, num_test: int = 1000, seed: int = 0) -> dict:
    """Build (once) and open one environment: {'train', 'test'} random-access sources.
    Non-default sizes or seeds get their own config name, so builds never collide."""
    if environment not in physics.ENVIRONMENTS:
        raise ValueError(f"environment must be one of {physics.ENVIRONMENTS}, got {environment!r}")
    name = environment if (num_train, num_test, seed) == (5000, 1000, 0) else (
        f"{environment}_{num_train}_{num_test}_{seed}")
    config = PhysicsConfig(name=name, spec=physics.PhysicsSpec.default(environment), num_train=num_train,
                           num_test=num_test, seed=seed)
    builder = PhysicsVideos(config=config, data_dir=str(data_dir), file_format="array_record")
    builder.download_and_prepare()
    return builder.as_data_source()
