"""Data sets as registered modules, as models are: one module per family, each
registering its data sets by name (``config.dataset``). A data set gives its
splits from its embedded default, a user's path or its generator, its
provenance record, its block of the experiment config and the named fields of
its batches (``seqvi.datasets.base.Dataset``). Register your own with
``register`` (docs: how-to/adding-a-data-set)."""

from seqvi.datasets import dialogue, first_person, navigation, physics, polyphonic, speech, synthetic
from seqvi.datasets.base import SOURCES, Dataset, entries, file_record, get, register, unregister

__all__ = ["Dataset", "SOURCES", "entries", "file_record", "get", "register", "unregister", "dialogue",
           "first_person", "navigation", "physics", "polyphonic", "speech", "synthetic"]
