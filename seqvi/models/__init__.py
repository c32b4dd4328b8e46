"""Models: StepModels (VRNN, ...) and models with their own pure loss."""

from seqvi.models.base import StepModel, StepOutput
from seqvi.models.vrnn import VRNN

__all__ = ["StepModel", "StepOutput", "VRNN"]
