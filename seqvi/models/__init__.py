"""Models. StepModels (one particle's move per time step; every bound applies):
VRNN, VRNN-I, VAE-RNN, SRNN, DMM, VOSP, VHRNN, and the deterministic RNN
baseline (no latent; every bound is its exact log-likelihood). SequenceModels (a whole-sequence posterior; ELBO
and IWAE apply): VRAE. With their own losses: KVAE (exact Kalman smoothing inside
its ELBO), GTMSM (spatial memory). Dialogue (objectives per response token):
Seq2Seq, DNCSeq2Seq, CVAE, VLSTM, VMED; adversarial: LocalGAN, GANAEL, AdverREGS.
``registry.entries()`` lists every model by its config name; each is exported here."""

from seqvi.core import SequenceModel, SequenceTerms, StepModel, StepOutput
from seqvi.models import registry
from seqvi.models.adversarial import GANAEL, AdverREGS
from seqvi.models.cvae import CVAE, VLSTM
from seqvi.models.dmm import DMM
from seqvi.models.gtmsm import GTMSM
from seqvi.models.kvae import KVAE
from seqvi.models.localgan import LocalGAN
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
    "GTMSM",
    "LocalGAN",
    "GANAEL",
    "AdverREGS",
    "registry",
    "num_params",
]
