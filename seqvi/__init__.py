"""seqvi: deep latent-variable sequence models and their inference in JAX/Flax.

Subpackages and modules: ``core`` (the contracts: StepModel, SequenceModel,
Objective), ``smc`` (resampling and the particle engine), ``bounds`` (ELBO,
IWAE, FIVO and the bound objectives), ``ssm`` (Kalman filtering and smoothing,
EM, EKF/UKF, particle filters), ``models`` (the model zoo and its registry),
``nn`` (Flax networks), ``dist`` (distribution helpers), ``data`` (readers,
TFDS builders, batching), ``datasets`` (the registered data sets), ``train``
(the pipeline, trainer, evaluation), ``imputation``, ``diagnostics`` (per-step
traces), ``prediction`` (prediction from memory), ``generation`` (dialogue
responses), ``metrics`` (text metrics), ``plot``. A feature outside the core
whose optional packages are missing raises ``MissingExtraError`` naming the
extra to install.
"""

from seqvi import _jaxlib

_jaxlib.avoid_cpu_deadlock()  # before XLA starts: jaxlib 0.10's CPU deadlock (seqvi/_jaxlib.py)

from seqvi import bounds, core, smc  # noqa: E402
from seqvi._extras import MissingExtraError  # noqa: E402
from seqvi._version import __version__  # noqa: E402
from seqvi.core import Objective, ObjectiveOptions, SequenceModel, StepModel, StepOutput  # noqa: E402

__all__ = ["__version__", "MissingExtraError", "bounds", "core", "smc", "Objective", "ObjectiveOptions", "SequenceModel", "StepModel", "StepOutput"]
