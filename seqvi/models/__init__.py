"""Models. StepModels (one particle's move per time step; every bound applies):
VRNN, VRNN-I, VAE-RNN, SRNN, DMM, VOSP, VHRNN, and the deterministic RNN
baseline (no latent; every bound is its exact log-likelihood). SequenceModels (a whole-sequence posterior; ELBO
and IWAE apply): VRAE. With its own loss (exact Kalman smoothing inside its
ELBO): KVAE. Dialogue (objectives per response token): Seq2Seq, DNCSeq2Seq, CVAE,
VLSTM, VMED. ``registry.entries()`` lists every model by its config name."""

from seqvi.core import SequenceModel, SequenceTerms, StepModel, StepOutput
from seqvi.models import registry
from seqvi.models.cvae import CVAE, VLSTM
from seqvi.models.dmm import DMM
from seqvi.models.kvae import KVAE
from seqvi.models.parts import num_params
from seqvi.models.rnn import RNN
from seqvi.models.seq2seq import Seq2Seq
from seqvi.models.srnn import SRNN
from seqvi.models.storn import VOSP, VRAE
from seqvi.models.vae_rnn import VAERNN
from seqvi.models.vhrnn import VHRNN
from seqvi.models.vmed import VMED, DNCSeq2Seq, VMEDSteps
from seqvi.models.vrnn import VRNN
from seqvi.models.vrnn_i import VRNNI

__all__ = [
    "StepModel",
    "StepOutput",
    "SequenceModel",
    "SequenceTerms",
    "RNN",
    "VRNN",
    "VRNNI",
    "VAERNN",
    "SRNN",
    "DMM",
    "VOSP",
    "VRAE",
    "VHRNN",
    "KVAE",
    "Seq2Seq",
    "DNCSeq2Seq",
    "CVAE",
    "VLSTM",
    "VMED",
    "VMEDSteps",
    "registry",
    "num_params",
]
