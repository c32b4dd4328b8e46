"""Optional dependencies. The core (core, smc, bounds, ssm, models, nn, dist) needs
none; every other feature imports its packages through ``require``, so a missing
package is one line naming the extra that installs it (pyproject.toml's
``[project.optional-dependencies]``)."""

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """An optional package a feature needs is not installed; the message names the
    extra (``pip install 'seqvi[extra]'``)."""


def require(module: str, extra: str) -> ModuleType:
    """Imports ``module`` (a dotted name), or raises MissingExtraError naming
    ``extra`` when its top-level package is not installed. An ImportError raised
    inside an installed package propagates unchanged."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        top = module.split(".")[0]
        if e.name is None or e.name.split(".")[0] != top:
            raise
        raise MissingExtraError(
            f"{top} is not installed; this part of seqvi needs the '{extra}' extra: pip install 'seqvi[{extra}]'"
        ) from None
