"""Networks only (Flax Linen): MLPs, recurrent cells, distribution heads."""

from seqvi.nn.heads import BernoulliHead, Combiner, DiagGaussianHead, GatedTransition
from seqvi.nn.mlp import MLP
from seqvi.nn.rnn import GRUCell, LSTMCell, bidirectional_rnn, masked_scan, shift_right

__all__ = [
    "MLP",
    "DiagGaussianHead",
    "BernoulliHead",
    "GatedTransition",
    "Combiner",
    "LSTMCell",
    "GRUCell",
    "masked_scan",
    "bidirectional_rnn",
    "shift_right",
]
