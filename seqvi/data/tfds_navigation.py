"""A TFDS builder for GTM-SM's image navigation walks (``seqvi.data.navigation``),
written as array_record (no TensorFlow).

    sources = build(data_dir, num_train=2000, num_test=100)
    sources["train"][i]["frames"]                 # [288, 8, 8] float32 views
    sources["test"][i]["positions"]               # [512, 2] grid positions
    sources["test"][i]["index"]                   # the walk's place in its split (TFDS may reorder)

Training walks come from the training images with ``seed`` and ``num_steps``
steps, test walks from the test images with ``seed + 1`` and ``test_steps``
steps, exactly as the registered data set ``navigation`` makes them; the same
arguments always give the same data.
"""

import dataclasses

import numpy as np

from seqvi._extras import require
from seqvi.data import navigation

tfds = require("tensorflow_datasets", "data")


@dataclasses.dataclass
class NavigationConfig(tfds.core.BuilderConfig):
    num_train: int = 2000
    num_test: int = 100
    num_steps: int = 288
    test_steps: int = 512
    repeat_rate: float = 3.0
    seed: int = 0


class ImageNavigation(tfds.core.GeneratorBasedBuilder):
    """Walks of an agent seeing 8 x 8 views of 32 x 32 environments cut from matplotlib's sample images."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Views, one-hot actions, grid positions and the environment of every walk."}
    BUILDER_CONFIGS = [NavigationConfig(name="default")]

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "frames": tfds.features.Tensor(shape=(None, navigation.VIEW, navigation.VIEW), dtype=np.float32),
                "actions": tfds.features.Tensor(shape=(None, len(navigation.ACTIONS)), dtype=np.float32),
                "positions": tfds.features.Tensor(shape=(None, 2), dtype=np.int32),
                "environment": tfds.features.Tensor(shape=(navigation.SIZE, navigation.SIZE), dtype=np.float32),
                "index": tfds.features.Scalar(dtype=np.int32),
            }),
            description=navigation.__doc__,
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        c = self.builder_config
        return {"train": self._generate_examples(c.num_train, c.num_steps, c.seed, navigation.TRAIN_IMAGES),
                "test": self._generate_examples(c.num_test, c.test_steps, c.seed + 1, navigation.TEST_IMAGES)}

    def _generate_examples(self, num, steps, seed, images):
        data = navigation.generate(navigation.NavigationSpec(steps, self.builder_config.repeat_rate), num, seed,
                                   images)
        for i in range(num):
            yield i, {"frames": data.frames[i].reshape(steps, navigation.VIEW, navigation.VIEW),
                      "actions": data.actions[i], "positions": data.positions[i].astype(np.int32),
                      "environment": data.environments[i], "index": np.int32(i)}


def build(data_dir, num_train: int = 2000, num_test: int = 100, num_steps: int = 288, test_steps: int = 512,
          repeat_rate: float = 3.0, seed: int = 0) -> dict:
    """Build (once) and open the walks: {'train', 'test'} random-access sources.
    Non-default arguments get their own config name, so builds never collide."""
    values = (num_train, num_test, num_steps, test_steps, repeat_rate, seed)
    config = "default" if values == (2000, 100, 288, 512, 3.0, 0) else NavigationConfig(
        name="_".join(str(v) for v in values), num_train=num_train, num_test=num_test, num_steps=num_steps,
        test_steps=test_steps, repeat_rate=repeat_rate, seed=seed)
    builder = ImageNavigation(config=config, data_dir=str(data_dir), file_format="array_record")
    builder.download_and_prepare()
    return builder.as_data_source()
