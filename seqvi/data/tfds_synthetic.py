"""TFDS builder for the VHRNN synthetic suite, written as array_record (no TensorFlow).

    sources = build(data_dir)                     # default SyntheticSpec()
    sources["switch"][i]["x"]                     # [300, 2] float32

Splits are the settings of ``seqvi.data.synthetic`` (train, valid, test,
noiseless, switch, rand, long, zero_shot, add); examples carry x [T, 2], the
noise level per step, the matrix index per step and the sequence's index.
Generation is deterministic in the spec, so a rebuild gives identical files'
contents. Build from Python: the ``tfds`` command-line tool imports TensorFlow.
"""

import dataclasses

import numpy as np

from seqvi._extras import require
from seqvi.data import synthetic

tfds = require("tensorflow_datasets", "data")


@dataclasses.dataclass
class SyntheticConfig(tfds.core.BuilderConfig):
    spec: synthetic.SyntheticSpec = synthetic.SyntheticSpec()


class SyntheticLinearDynamics(tfds.core.GeneratorBasedBuilder):
    """2-D linear dynamics with switching noise and six generalisation settings."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "T=100, 10 stable random matrices, noise in {0.25, 1, 4}."}
    BUILDER_CONFIGS = [SyntheticConfig(name="default")]

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "x": tfds.features.Tensor(shape=(None, synthetic.DIM), dtype=np.float32),
                    "noise_scale": tfds.features.Tensor(shape=(None,), dtype=np.float32),
                    "matrix": tfds.features.Tensor(shape=(None,), dtype=np.int32),
                    "index": tfds.features.Scalar(dtype=np.int32),
                }
            ),
            description=synthetic.__doc__,
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        return {s: self._generate_examples(s) for s in synthetic.SETTINGS}

    def _generate_examples(self, setting):
        data = synthetic.generate(setting, self.builder_config.spec)
        for i in range(data.xs.shape[0]):
            yield i, {"x": data.xs[i], "noise_scale": data.noise_scale[i], "matrix": data.matrix[i], "index": np.int32(i)}


def build(data_dir, spec: synthetic.SyntheticSpec | None = None) -> dict:
    """Build (once) and open the suite: {setting: random-access source}. A
    non-default ``spec`` gets its own config name, so builds never collide."""
    config = SyntheticConfig(name="default") if spec in (None, synthetic.SyntheticSpec()) else SyntheticConfig(
        name="spec_" + "_".join(str(v) for v in dataclasses.astuple(spec)), spec=spec
    )
    builder = SyntheticLinearDynamics(config=config, data_dir=str(data_dir), file_format="array_record")
    builder.download_and_prepare()
    return builder.as_data_source()
