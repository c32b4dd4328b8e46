"""The deep Markov model in Pyro, structured as Pyro's DMM tutorial/example
(model and guide over a ``pyro.plate`` and ``pyro.markov`` loop, SVI with
Trace_ELBO and ClippedAdam): the peer of seqvi's DMM in benchmarks/dmm.py.

Networks match seqvi.models.DMM with transition_type='gated' and
posterior_type='smoothing': the gated transition, a two-hidden-layer ReLU emitter
with a Bernoulli output, the combiner (tanh(W z_{t-1}) + h_t) / 2 with a
softplus scale, and an LSTM run backward over x (Pyro's example uses a ReLU RNN;
the LSTM is seqvi's, so both sides do the same work). All sequences in a batch
have the full length, so the backward pass is a flip instead of packed sequences.
"""

import torch
from torch import nn
import torch.nn.functional as F

import pyro
import pyro.distributions as dist
from pyro.infer import SVI, Trace_ELBO
from pyro.optim import ClippedAdam


class GatedTransition(nn.Module):
    def __init__(self, z_dim: int, hidden: int):
        super().__init__()
        self.gate_hidden = nn.Linear(z_dim, hidden)
        self.gate_out = nn.Linear(hidden, z_dim)
        self.proposed_hidden = nn.Linear(z_dim, hidden)
        self.proposed_out = nn.Linear(hidden, z_dim)
        self.linear = nn.Linear(z_dim, z_dim)
        self.scale = nn.Linear(z_dim, z_dim)
        with torch.no_grad():
            self.linear.weight.copy_(torch.eye(z_dim))
            self.linear.bias.zero_()

    def forward(self, z):
        gate = torch.sigmoid(self.gate_out(F.relu(self.gate_hidden(z))))
        proposed = self.proposed_out(F.relu(self.proposed_hidden(z)))
        loc = (1 - gate) * self.linear(z) + gate * proposed
        return loc, F.softplus(self.scale(F.relu(proposed))) + 1e-4


class Combiner(nn.Module):
    def __init__(self, z_dim: int, rnn_dim: int):
        super().__init__()
        self.z_to_hidden = nn.Linear(z_dim, rnn_dim)
        self.loc = nn.Linear(rnn_dim, z_dim)
        self.scale = nn.Linear(rnn_dim, z_dim)

    def forward(self, z_prev, h_rnn):
        c = 0.5 * (torch.tanh(self.z_to_hidden(z_prev)) + h_rnn)
        return self.loc(c), F.softplus(self.scale(c)) + 1e-4


class DMM(nn.Module):
    def __init__(self, data_dim: int, z_dim: int, emission_dim: int, transition_dim: int, rnn_dim: int):
        super().__init__()
        self.emitter = nn.Sequential(nn.Linear(z_dim, emission_dim), nn.ReLU(), nn.Linear(emission_dim, emission_dim),
                                     nn.ReLU(), nn.Linear(emission_dim, data_dim))
        self.trans = GatedTransition(z_dim, transition_dim)
        self.combiner = Combiner(z_dim, rnn_dim)
        self.rnn = nn.LSTM(data_dim, rnn_dim, batch_first=True)
        self.z_0 = nn.Parameter(torch.zeros(z_dim))

    def model(self, xs):
        pyro.module("dmm", self)
        b, t_max, _ = xs.shape
        z_prev = self.z_0.expand(b, -1)
        with pyro.plate("batch", b):
            for t in pyro.markov(range(t_max)):
                loc, scale = self.trans(z_prev)
                z_t = pyro.sample(f"z_{t}", dist.Normal(loc, scale).to_event(1))
                pyro.sample(f"x_{t}", dist.Bernoulli(logits=self.emitter(z_t)).to_event(1), obs=xs[:, t])
                z_prev = z_t

    def guide(self, xs):
        pyro.module("dmm", self)
        b, t_max, _ = xs.shape
        h, _ = self.rnn(torch.flip(xs, [1]))
        h = torch.flip(h, [1])  # h_t summarises x_{t:T}
        z_prev = self.z_0.expand(b, -1)
        with pyro.plate("batch", b):
            for t in pyro.markov(range(t_max)):
                loc, scale = self.combiner(z_prev, h[:, t])
                z_prev = pyro.sample(f"z_{t}", dist.Normal(loc, scale).to_event(1))


def make_train_step(model: DMM, xs: torch.Tensor, learning_rate: float = 3e-4, clip_norm: float = 10.0):
    """One SVI step (Trace_ELBO, one sample) returning the loss."""
    pyro.clear_param_store()
    svi = SVI(model.model, model.guide, ClippedAdam({"lr": learning_rate, "clip_norm": clip_norm}), Trace_ELBO())

    def step():
        return torch.tensor(svi.step(xs))

    return step


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
