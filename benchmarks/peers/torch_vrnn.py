"""A standard eager PyTorch VRNN trained with FIVO: the peer of seqvi's VRNN in
benchmarks/vrnn_fivo.py.

The architecture is seqvi.models.vrnn.VRNN with the filtering proposal, layer for
layer: phi_x and phi_z (one ReLU layer of width H), an LSTM cell over
[phi_x(x_t - m), phi_z(z_t)], Gaussian prior and proposal heads (a ReLU layer of
width H, then a mean layer and a softplus(.) + 1e-4 scale layer) from h_t and
[h_t, phi_x(x_t - m)], and a Bernoulli emission (a ReLU layer, then logits; or,
``emission='gaussian'``, a Gaussian head as the prior's) from [h_t, phi_z(z_t)]. FIVO runs the B sequences' N particles as B * N rows, resamples
a sequence's particles (systematic) when its ESS < N / 2, and returns
-(sum_b log Z-hat_b) / (B T); the gradient does not flow through the ancestor
indices (integer gathers). A train step is that loss, backward, global-norm
clipping and Adam: what ``seqvi.train.Trainer`` does in one jitted call.
"""

import math

import torch
from torch import nn
import torch.nn.functional as F


class GaussianHead(nn.Module):
    def __init__(self, in_dim: int, hidden: int, out_dim: int):
        super().__init__()
        self.hidden = nn.Linear(in_dim, hidden)
        self.mean = nn.Linear(hidden, out_dim)
        self.raw_scale = nn.Linear(hidden, out_dim)

    def forward(self, x):
        h = F.relu(self.hidden(x))
        return self.mean(h), F.softplus(self.raw_scale(h)) + 1e-4


class VRNN(nn.Module):
    def __init__(self, data_dim: int, latent_dim: int, rnn_dim: int, hidden_dim: int, data_mean: torch.Tensor,
                 emission: str = "bernoulli"):
        super().__init__()
        h = hidden_dim
        self.phi_x = nn.Linear(data_dim, h)
        self.phi_z = nn.Linear(latent_dim, h)
        self.rnn = nn.LSTMCell(2 * h, rnn_dim)
        self.prior = GaussianHead(rnn_dim, h, latent_dim)
        self.proposal = GaussianHead(rnn_dim + h, h, latent_dim)
        self.emission = emission
        if emission == "gaussian":  # seqvi's DiagGaussianHead: a ReLU layer, mean and softplus(.) + 1e-4
            self.emission_head = GaussianHead(rnn_dim + h, h, data_dim)
        else:
            self.emission_hidden = nn.Linear(rnn_dim + h, h)
            self.logits = nn.Linear(h, data_dim)
            with torch.no_grad():  # emission bias = logit(training mean), as in seqvi
                p = data_mean.clamp(1e-5, 1 - 1e-5)
                self.logits.bias.copy_(torch.log(p) - torch.log1p(-p))
        self.register_buffer("data_mean", data_mean)
        self.rnn_dim = rnn_dim

    def log_px(self, features: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x_t | h_t, z_t) from the emission's input [h_t, phi_z(z_t)]."""
        if self.emission == "gaussian":
            return normal_log_prob(x, *self.emission_head(features))
        logits = self.logits(F.relu(self.emission_hidden(features)))
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def normal_log_prob(z, mean, scale):
    return (-0.5 * ((z - mean) / scale) ** 2 - torch.log(scale) - 0.5 * math.log(2 * math.pi)).sum(-1)


def systematic(log_w: torch.Tensor) -> torch.Tensor:
    """Ancestors [B, N] for log-weights [B, N]: one uniform per sequence."""
    b, n = log_w.shape
    u = (torch.rand(b, 1) + torch.arange(n, dtype=log_w.dtype)) / n
    cdf = torch.cumsum(torch.softmax(log_w, -1), -1)
    return torch.searchsorted(cdf, u).clamp(max=n - 1)


def fivo_loss(model: VRNN, xs: torch.Tensor, num_particles: int) -> torch.Tensor:
    """-(sum_b log Z-hat_b) / (B T) for xs [B, T, D] (all sequences of length T)."""
    b, t_max, _ = xs.shape
    n, r = num_particles, model.rnn_dim
    rows = b * n
    c = xs.new_zeros(rows, r)
    h = xs.new_zeros(rows, r)
    log_w = xs.new_zeros(b, n)
    log_z_acc = xs.new_zeros(b)
    identity = torch.arange(n).expand(b, n)
    offsets = (torch.arange(b) * n)[:, None]
    for t in range(t_max):
        x = xs[:, t].repeat_interleave(n, 0)  # [B*N, D]
        fx = F.relu(model.phi_x(x - model.data_mean))
        p_mean, p_scale = model.prior(h)
        q_mean, q_scale = model.proposal(torch.cat([h, fx], -1))
        z = q_mean + q_scale * torch.randn_like(q_mean)
        log_q = normal_log_prob(z, q_mean, q_scale)
        log_p = normal_log_prob(z, p_mean, p_scale)
        fz = F.relu(model.phi_z(z))
        log_px = model.log_px(torch.cat([h, fz], -1), x)
        h, c = model.rnn(torch.cat([fx, fz], -1), (h, c))
        log_w = log_w + (log_px + log_p - log_q).view(b, n)
        log_z_t = log_z_acc + torch.logsumexp(log_w, -1) - math.log(n)
        ess = torch.exp(2 * torch.logsumexp(log_w, -1) - torch.logsumexp(2 * log_w, -1))
        resample = ess < 0.5 * n
        if t < t_max - 1 and bool(resample.any()):
            with torch.no_grad():
                ancestors = torch.where(resample[:, None], systematic(log_w), identity)
                flat = (ancestors + offsets).reshape(-1)
            h, c = h[flat], c[flat]
            log_w = torch.where(resample[:, None], torch.zeros_like(log_w), log_w)
            log_z_acc = torch.where(resample, log_z_t, log_z_acc)
    return -log_z_t.sum() / (b * t_max)


def make_train_step(model: VRNN, xs: torch.Tensor, num_particles: int, learning_rate: float = 3e-3,
                    clip_norm: float = 10.0):
    """A closure running one FIVO train step (loss, backward, clipping, Adam)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = fivo_loss(model, xs, num_particles)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        optimizer.step()
        return loss.detach()

    return step


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
