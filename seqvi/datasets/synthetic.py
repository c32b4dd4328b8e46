"""The VHRNN paper's synthetic suite (``seqvi.data.synthetic``): real-valued
sequences generated from ``config.synthetic`` (a ``SyntheticSpec``)."""

import dataclasses

from seqvi.data import synthetic
from seqvi.datasets.base import Dataset, register


class Synthetic(Dataset):
    """The VHRNN paper's setup: FIVO with 4 particles, batch 4, Gaussian
    emissions, every training sequence ``synthetic.length`` steps."""

    name = "synthetic"
    source = "generated"

    def model_fields(self, model: dict) -> dict:
        return dict(model, emission_type="gaussian")  # real-valued data

    def configure(self, c, **options) -> None:
        super().configure(c, **options)
        c.synthetic = dataclasses.asdict(synthetic.SyntheticSpec())
        c.max_train_length = 0
        c.pad_multiple = c.synthetic.get_ref("length")
        c.num_steps = 3000
        c.eval_every = 500
        c.eval.batch_size = 50

    def load_splits(self, config) -> dict[str, list]:
        return synthetic.load_synthetic(synthetic.SyntheticSpec(**config.synthetic))

    def record(self, config, splits) -> dict:
        return dict(super().record(config, splits), generator=config.synthetic.to_dict())


SYNTHETIC = register(Synthetic())
