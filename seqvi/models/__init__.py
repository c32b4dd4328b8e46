"""Models. StepModels (one particle's move per time step; every bound applies):
VRNN, VAE-RNN, SRNN, DMM, VOSP, VHRNN. SequenceModels (a whole-sequence posterior; ELBO
and IWAE apply): VRAE. With its own loss (exact Kalman smoothing inside its
ELBO): KVAE."""

from seqvi.models.base import SequenceModel, SequenceTerms, StepModel, StepOutput
from seqvi.models.dssm import DMM
from seqvi.models.kvae import KVAE
from seqvi.models.parts import num_params
from seqvi.models.srnn import SRNN
from seqvi.models.storn import VOSP, VRAE
from seqvi.models.vae_rnn import VAERNN
from seqvi.models.vhrnn import VHRNN
from seqvi.models.vrnn import VRNN

__all__ = [
    "StepModel",
    "StepOutput",
    "SequenceModel",
    "SequenceTerms",
    "VRNN",
    "VAERNN",
    "SRNN",
    "DMM",
    "VOSP",
    "VRAE",
    "VHRNN",
    "KVAE",
    "num_params",
]
