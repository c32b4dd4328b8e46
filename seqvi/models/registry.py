"""The model registry: names to model classes, with what the generic machinery
needs to know about each (which task's data it consumes, a tiny size for tests).

A model module registers its classes with ``@register(...)``; ``entries()``
imports every module of ``seqvi.models`` first, so adding a model is its module
and its config: the pipeline, the binaries and the contract tests find it here.
"""

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

TASKS = ("sequences", "dialogue")


@dataclasses.dataclass(frozen=True)
class Entry:
    """name: the config's ``model.name``; cls: the model class; task: 'sequences'
    ([T, D] arrays: music, synthetic suite, videos) or 'dialogue' (token ids);
    test_size: constructor arguments of a tiny instance (besides data_dim or
    vocab_size) that the registry-driven tests build; data: 'binary', 'real' or
    'tokens', what the tiny instance models; dim_arg: the constructor argument
    that receives the data's size ('data_dim', 'vocab_size'; None: from the config)."""

    name: str
    cls: type
    task: str
    test_size: dict[str, Any]
    data: str
    dim_arg: str | None

    def build(self, dim: int, **kwargs):
        """The model for data of ``dim`` entries per step (a vocabulary of ``dim``
        for dialogue), with constructor arguments ``kwargs``. A model without a
        ``dim_arg`` takes its sizes from ``kwargs`` and must have ``row_dim == dim``.
        A model whose rows hold [x_t, u_t] (it has ``row_dim``, like the VRNN with
        ``input_dim`` k > 0) gets data_dim = dim - k."""
        if self.dim_arg is None:
            model = self.cls(**kwargs)
            if model.row_dim != dim:
                raise ValueError(f"the data rows have {dim} entries but the {self.cls.__name__} of this config "
                                 f"expects {model.row_dim}")
            return model
        if self.dim_arg == "data_dim" and kwargs.get("input_dim") and hasattr(self.cls, "row_dim"):
            if dim <= kwargs["input_dim"]:
                raise ValueError(f"the data rows have {dim} entries, not more than input_dim={kwargs['input_dim']}")
            dim -= kwargs["input_dim"]
        return self.cls(**{self.dim_arg: dim}, **kwargs)

    def tiny(self, dim: int):
        """The tiny test instance for data of ``dim`` entries per step (or a vocabulary of ``dim``)."""
        if self.dim_arg is None:
            return self.cls(**self.test_size)
        return self.cls(**{self.dim_arg: dim}, **self.test_size)


_REGISTRY: dict[str, Entry] = {}


def register(name: str, *, test_size: dict[str, Any], task: str = "sequences", data: str = "binary",
             dim_arg: str | None = "data_dim") -> Callable[[type], type]:
    """Class decorator: register the model under ``name`` (see ``Entry``)."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")

    def decorate(cls: type) -> type:
        if name in _REGISTRY and _REGISTRY[name].cls is not cls:
            raise ValueError(f"model name {name!r} is already registered to {_REGISTRY[name].cls.__name__}")
        _REGISTRY[name] = Entry(name, cls, task, dict(test_size), data, dim_arg)
        return cls

    return decorate


def _import_all() -> None:
    import seqvi.models as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")


def entries() -> dict[str, Entry]:
    """Every registered model by name (all model modules imported first)."""
    _import_all()
    return dict(_REGISTRY)


def get(name: str) -> Entry:
    """The entry of ``name``; ValueError listing the registered names otherwise."""
    registered = entries()
    if name not in registered:
        raise ValueError(f"model.name must be one of {sorted(registered)}, got {name!r}")
    return registered[name]
