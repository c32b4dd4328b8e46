"""Networks only (Flax Linen): MLPs, recurrent cells, distribution heads."""

from seqvi.nn.heads import BernoulliHead, DiagGaussianHead
from seqvi.nn.mlp import MLP
from seqvi.nn.rnn import LSTMCell, reverse_scan_rnn

__all__ = ["MLP", "DiagGaussianHead", "BernoulliHead", "LSTMCell", "reverse_scan_rnn"]
