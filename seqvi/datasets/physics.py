"""Simulated physics videos (``seqvi.data.physics``; the KVAE's environments,
thesis chapter 6): frames flattened to [H * W] rows, with the pendulum's
torque u_t appended for a model that takes inputs."""

import numpy as np

from seqvi.data import physics
from seqvi.datasets.base import Dataset, register


class Physics(Dataset):
    """'physics_<environment>': Bernoulli pixels, batch 32, whole sequences.
    ``config.physics``: environment, split sizes, seed, with_inputs (set when
    the model's ``input_dim`` > 0). Seeds: train ``seed``, test ``seed + 1``,
    valid ``seed + 2``."""

    source = "generated"

    def __init__(self, environment: str):
        self.environment = environment
        self.name = f"physics_{environment}"

    def configure(self, c, **options) -> None:
        super().configure(c, **options)
        with_inputs = c.model.get("input_dim", 0) > 0
        c.physics = dict(environment=self.environment, num_train=5000, num_valid=100, num_test=1000, seed=0,
                         with_inputs=with_inputs)
        c.batch_size = 32
        c.max_train_length = 0
        c.pad_multiple = physics.PhysicsSpec.default(self.environment).num_steps  # every video has as many frames
        c.eval.batch_size = 50

    def load_splits(self, config) -> dict[str, list]:
        """{'train', 'valid', 'test'}: lists of [T, H * W (+ k)] float32 rows."""
        options = config.physics
        spec = physics.PhysicsSpec.default(options.environment)
        out = {}
        for split, offset in (("train", 0), ("test", 1), ("valid", 2)):
            data = physics.generate(spec, int(options[f"num_{split}"]), seed=int(options.seed) + offset)
            rows = data.frames.reshape(data.frames.shape[:2] + (-1,))
            if options.get("with_inputs", False):
                rows = np.concatenate([rows, data.inputs], -1)
            out[split] = list(rows.astype(np.float32))
        return out

    def record(self, config, splits) -> dict:
        return dict(super().record(config, splits), generator=config.physics.to_dict())


ENVIRONMENTS = {e: register(Physics(e)) for e in physics.ENVIRONMENTS}
