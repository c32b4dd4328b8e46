"""Networks only (Flax Linen): MLPs, recurrent cells, distribution heads."""

from seqvi.nn.heads import BernoulliHead, Combiner, DiagGaussianHead, GatedTransition
from seqvi.nn.mlp import MLP
from seqvi.nn.rnn import GRUCell, LSTMCell, bidirectional_rnn, reverse_scan_rnn, scan_rnn, shift_right

__all__ = [
    "MLP",
    "DiagGaussianHead",
    "BernoulliHead",
    "GatedTransition",
    "Combiner",
    "LSTMCell",
    "GRUCell",
    "scan_rnn",
    "reverse_scan_rnn",
    "bidirectional_rnn",
    "shift_right",
]
