"""What a registered data set is, and the registry.

A data set is an object that knows its data: where they come from (the embedded
default, a user's file or folder, or a generator), how to read its splits, what
a run records about them, and the block of the experiment config that describes
them. The experiment pipeline (``seqvi.train``) asks the registry by
``config.dataset`` and never compares a data-set name itself.
"""

import hashlib
import importlib
import pathlib
from typing import Any, ClassVar

from seqvi.core import ConfigError

SOURCES = ("embedded", "file", "folder", "generated")


def file_record(path) -> dict:
    """{'path', 'bytes', 'sha256'} of a data file (the run records what it trained on)."""
    path = pathlib.Path(path)
    return {"path": str(path.resolve()), "bytes": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


class Dataset:
    """A registered data set (subclass it and call ``register``).

    Attributes:
      name: the registry key, ``config.dataset``.
      task: 'sequences' ([T, D] float rows) or 'dialogue' ((context, response) pairs).
      source: 'embedded' (ships with seqvi; ``config.data_path`` may replace it
        where ``layout`` says what to give), 'file' or 'folder' (the user's,
        ``config.data_path``), or 'generated' (made from the config's seed).
      layout: what ``config.data_path`` holds: a file's accepted suffixes, or the
        names of the files a folder needs (a pattern such as ``train/**/*.wav``
        or ``<digit>_<speaker>_<take>.wav`` where the names vary).
      fields: the named fields of its training batches.
    """

    name: ClassVar[str]
    task: ClassVar[str] = "sequences"
    source: ClassVar[str]
    layout: ClassVar[tuple[str, ...]] = ()
    fields: ClassVar[tuple[str, ...]] = ("xs", "lengths")

    def model_fields(self, model: dict) -> dict:
        """The model block the data set implies (the emission family real-valued
        data need, say); ``model`` itself by default."""
        return dict(model)

    def configure(self, c, **options) -> None:
        """Sets this data set's fields (and its own config block) on the shared
        config ``c`` (``seqvi.train.experiment.base_config``); ``options`` are the
        data set's named variants. ValueError for an unknown option."""
        if options:
            raise ValueError(f"data set {self.name!r} takes no options, got {sorted(options)}")

    def load_splits(self, config) -> dict[str, list]:
        """{'train', 'valid', 'test', ...}: the sequences ([T, D] float32 arrays) or
        the (context, response) pairs of each split. ConfigError (one line naming
        the file or folder) for missing, truncated or malformed data."""
        raise NotImplementedError

    def record(self, config, splits) -> dict:
        """What the run records about its data (data.json): the data set, the size
        of each split, and the files read (path, bytes, sha256) or the spec the
        data were generated from."""
        return {"task": self.task, "dataset": self.name,
                ("pairs" if self.task == "dialogue" else "sequences"): {k: len(v) for k, v in splits.items()}}

    def data_path(self, config, kind: str) -> pathlib.Path:
        """``config.data_path`` as an existing file or folder (``kind``); ConfigError
        naming the path (or saying that one is needed) otherwise."""
        if not config.get("data_path"):
            raise ConfigError(f"dataset {self.name!r} needs its {kind}: --config.data_path="
                              f"{'DIR' if kind == 'folder' else 'PATH'} ({', '.join(self.layout)})")
        path = pathlib.Path(config.data_path)
        if path.is_dir() if kind == "folder" else path.is_file():
            return path
        what = "a folder" if path.is_dir() else "a file" if path.exists() else f"no such {kind}"
        needed = f"; {self.name!r} reads a {kind} ({', '.join(self.layout)})" if path.exists() else ""
        raise ConfigError(f"--config.data_path={config.data_path}: {what}{needed}")


_REGISTRY: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    """Adds ``dataset`` under ``dataset.name`` and returns it. Registering a data
    set of the same class again (a notebook cell run twice) replaces it.
    ValueError for a missing name, a name another class holds, or an unknown task
    or source."""
    name = getattr(dataset, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{type(dataset).__name__} needs a name (the registry key, config.dataset)")
    old = _REGISTRY.get(name)
    if old is not None and _class_id(old) != _class_id(dataset):
        raise ValueError(f"data set {name!r} is already registered (by {_class_id(old)})")
    if dataset.task not in ("sequences", "dialogue"):
        raise ValueError(f"data set {name!r}: task must be 'sequences' or 'dialogue', got {dataset.task!r}")
    if getattr(dataset, "source", None) not in SOURCES:
        raise ValueError(f"data set {name!r}: source must be one of {SOURCES}, got {getattr(dataset, 'source', None)!r}")
    _REGISTRY[name] = dataset
    return dataset


def _class_id(dataset: Dataset) -> str:
    return f"{type(dataset).__module__}.{type(dataset).__qualname__}"


def unregister(name: str) -> None:
    """Removes a data set (a test's toy data set, say)."""
    _REGISTRY.pop(name, None)


def get(name: str) -> Dataset:
    """The registered data set ``name``; ConfigError listing the known ones."""
    if name not in _REGISTRY:
        raise ConfigError(f"unknown dataset {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def of_config(config) -> Dataset:
    """The data set of an experiment config: ``config.dataset``, after importing
    ``config.dataset_module`` (a module of the user's that registers it) when the
    config names one, so that every process (training, evaluation) finds it.
    ConfigError for a module that cannot be imported or an unknown name."""
    module = config.get("dataset_module", "")
    if module:
        try:
            importlib.import_module(module)
        except ImportError as e:
            raise ConfigError(f"--config.dataset_module={module}: {e}") from None
    return get(config.dataset)


def entries(task: str | None = None) -> dict[str, Dataset]:
    """Every registered data set (of ``task``, if given), by name."""
    return {n: d for n, d in sorted(_REGISTRY.items()) if task is None or d.task == task}


def option_block(options, defaults: dict[str, Any], what: str) -> dict[str, Any]:
    """``defaults`` updated by ``options``; ValueError naming an unknown option."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(f"{what} takes {sorted(defaults)}, got unknown {unknown}")
    return {**defaults, **options}
