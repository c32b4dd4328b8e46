"""Data sets as registered modules, as models are: one module per family, each
registering its data sets by name (``config.dataset``). A data set gives its
splits from its embedded default, a user's path or its generator, its
provenance record, its block of the experiment config and the named fields of
its batches (``seqvi.datasets.base.Dataset``). Register your own with
``register`` and name its module in ``config.dataset_module`` (docs: how-to/own-data,
"The registered data sets")."""

from seqvi.datasets import dialogue, first_person, navigation, physics, polyphonic, speech, synthetic
from seqvi.datasets.base import SOURCES, Dataset, entries, file_record, get, of_config, register, unregister

__all__ = ["Dataset", "SOURCES", "entries", "file_record", "get", "of_config", "register", "unregister", "dialogue",
           "first_person", "navigation", "physics", "polyphonic", "speech", "synthetic"]
