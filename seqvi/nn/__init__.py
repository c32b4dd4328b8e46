"""Networks only (Flax Linen): MLPs, recurrent cells (LSTM, GRU, the fast-dropout
RNN) and the one masked scan that runs them, distribution heads; ``seqvi.nn.dbm``,
the deep Boltzmann machine of LocalGAN as pure functions."""

from seqvi.nn.fast_dropout import FastDropoutRNNCell, dropout_linear_moments, transfer_moments
from seqvi.nn.heads import BernoulliHead, Combiner, DiagGaussianHead, GatedTransition, GMMHead
from seqvi.nn.mlp import MLP
from seqvi.nn.rnn import GRUCell, LSTMCell, bidirectional_rnn, masked_scan, shift_right

__all__ = [
    "MLP",
    "DiagGaussianHead",
    "BernoulliHead",
    "GMMHead",
    "GatedTransition",
    "Combiner",
    "LSTMCell",
    "GRUCell",
    "FastDropoutRNNCell",
    "dropout_linear_moments",
    "transfer_moments",
    "masked_scan",
    "bidirectional_rnn",
    "shift_right",
]
