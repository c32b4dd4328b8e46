"""STORN (Bayer & Osendorfer, "Learning stochastic recurrent networks"): the
variational recurrent auto-encoder (VRAE) and the variational one-step
predictor (VOSP), with an i.i.d. standard-normal or a Wiener-process prior.

Priors over z_{1:T} (z_0 = 0):
  'standard_normal'  p(z_t) = N(0, I)
  'wiener'           p(z_t | z_{t-1}) = N(z_{t-1}, I)   (a Wiener process on a unit grid)

Both recognition models are factorised over time, q(z_{1:T} | x) = prod_t
N(m_t, diag s_t^2), so the KL to either prior is exact. For the Wiener prior,
the increment map g_W(z)_t = z_t - z_{t-1} (section 3.3) is linear with unit
Jacobian determinant and sends the prior to N(0, I); since KL is invariant under
an invertible map, KL(q || p_W) = KL(g_W q || N(0, I)) with g_W q = N(D m, D S D^T),
which gives ``wiener_kl``.

VRAE: bidirectional LSTM recognition q(z_t | x_{1:T}); a bidirectional LSTM
generating network over z_{1:T}, p(x_t | z_{1:T}). x_t depends on future
latents, so VRAE is a ``SequenceModel`` (ELBO and IWAE, no FIVO).

VOSP: forward LSTM recognition h_t over x_{1:t}, q(z_t | h_t), and a generating
MLP p(x_t | h_{t-1}, z_t) (section 3.2): a StepModel (all bounds).

Both offer ``reconstruct`` (the mode of q, then the mode or mean of p), which
STORN uses for denoising and, iterated, for imputation (``seqvi.imputation``).
"""

import dataclasses
import math
from typing import ClassVar

import jax
import jax.numpy as jnp

from seqvi import dist
from seqvi.models import parts
from seqvi.core import SequenceModel, SequenceTerms, StepModel, StepOutput, check_emission_mode
from seqvi.models.parts import EMISSIONS, centre
from seqvi.nn import DiagGaussianHead, FastDropoutRNNCell, LSTMCell, bidirectional_rnn, masked_scan, shift_right
from seqvi.models.objectives import TrainedByBounds
from seqvi.models.registry import register

PRIORS = ("standard_normal", "wiener")
RNN_TYPES = ("lstm", "fd_rnn")
_LOG_2PI = math.log(2.0 * math.pi)


# ---- priors and their exact KLs ------------------------------------------------------
def _valid(length: jax.Array, num_steps: int) -> jax.Array:
    return jnp.arange(num_steps) < length


def standard_normal_kl(means: jax.Array, scales: jax.Array, length: jax.Array) -> jax.Array:
    """[T] KL(N(m_t, diag s_t^2) || N(0, I)) per step, zero for t >= length."""
    kl = dist.kl_diag_gaussians(means, scales, jnp.zeros_like(means), jnp.ones_like(scales))
    return jnp.where(_valid(length, means.shape[0]), kl, 0.0)


def wiener_kl(means: jax.Array, scales: jax.Array, length: jax.Array) -> jax.Array:
    """[T] terms of KL(prod_t N(m_t, diag s_t^2) || Wiener prior), summing to the KL:

      KL = 1/2 sum_{t<=length} sum_d [s_t^2 + s_{t-1}^2 + (m_t - m_{t-1})^2 - 1 - log s_t^2]

    with m_0 = s_0 = 0: the diagonal of D S D^T is s_t^2 + s_{t-1}^2, the mean is
    D m, and log det(D S D^T) = log det S because det D = 1.
    """
    valid = _valid(length, means.shape[0])
    prev_m = shift_right(means)
    prev_s = shift_right(scales)
    var = jnp.square(scales)
    terms = var + jnp.square(prev_s) + jnp.square(means - prev_m) - 1.0 - jnp.log(var)
    return jnp.where(valid, 0.5 * terms.sum(-1), 0.0)


def prior_kl(prior_type: str, means, scales, length) -> jax.Array:
    return (wiener_kl if prior_type == "wiener" else standard_normal_kl)(means, scales, length)


def prior_log_prob(prior_type: str, zs: jax.Array, length: jax.Array) -> jax.Array:
    """[T] log p(z_t | z_{t-1}) of one path zs [T, Z], zero for t >= length."""
    centred = zs - shift_right(zs) if prior_type == "wiener" else zs
    lp = -0.5 * (jnp.square(centred).sum(-1) + zs.shape[-1] * _LOG_2PI)
    return jnp.where(_valid(length, zs.shape[0]), lp, 0.0)


def sample_prior(prior_type: str, key: jax.Array, num_steps: int, latent_dim: int) -> jax.Array:
    """z_{1:T} [T, Z] from the prior."""
    eps = jax.random.normal(key, (num_steps, latent_dim))
    return jnp.cumsum(eps, axis=0) if prior_type == "wiener" else eps


@dataclasses.dataclass(frozen=True)
class _StornConfig:
    """The sizes and choices VRAE and VOSP share, checked on construction.
    ``cell_type`` 'lstm' or 'fd_rnn' (fast dropout); ``keep_rate`` the FD-RNNs' keep
    rate (0.9: the paper's "drop out rates of 0.1", appendix); ``learned_keep_rate``
    lets the recognition FD-RNNs learn theirs (see ``_rnn``)."""

    data_dim: int
    latent_dim: int = 16
    rnn_dim: int = 32
    hidden_dim: int = 32
    emission_type: str = "bernoulli"
    emission_components: int = 20
    prior_type: str = "standard_normal"
    cell_type: str = "lstm"
    keep_rate: float = 0.9
    learned_keep_rate: bool = False

    def __post_init__(self):
        parts.check_config(
            type(self).__name__,
            {n: getattr(self, n) for n in ("data_dim", "latent_dim", "rnn_dim", "hidden_dim", "emission_components")},
            {"emission_type": (self.emission_type, EMISSIONS), "prior_type": (self.prior_type, PRIORS),
             "cell_type": (self.cell_type, RNN_TYPES)},
        )
        if not 0.0 < self.keep_rate <= 1.0:
            raise ValueError(f"{type(self).__name__}.keep_rate must lie in (0, 1], got {self.keep_rate!r}")
        if self.learned_keep_rate and (self.cell_type != "fd_rnn" or self.keep_rate == 1.0):
            raise ValueError(f"{type(self).__name__}.learned_keep_rate needs cell_type='fd_rnn' and a keep_rate "
                             f"below 1 to start from, got {self.cell_type!r} and {self.keep_rate!r}")

    def _rnn(self, recognition: bool = False):
        """An LSTM of ``rnn_dim`` units, or the paper's fast-dropout RNN (tanh units
        described by their mean and variance, inputs and hidden state kept at
        ``keep_rate``; ``seqvi.nn.fast_dropout``), whose output is the mean. With
        ``learned_keep_rate`` the recognition RNNs learn their keep rates (one per
        unit, from ``keep_rate``; the paper's appendix, Details on Learning); VRAE's
        generating RNNs keep theirs fixed. VOSP's recognition state h_{t-1} also
        feeds its emission, so there the learned rates shape the generative model too."""
        if self.cell_type == "fd_rnn":
            return FastDropoutRNNCell(self.rnn_dim, keep_input=self.keep_rate, keep_hidden=self.keep_rate,
                                      learn_keep=recognition and self.learned_keep_rate)
        return LSTMCell(self.rnn_dim)


def _emission_value(px, mode: str) -> jax.Array:
    """The mean of p(x | .), or its mode (the mean rounded, for Bernoulli)."""
    if mode not in ("mean", "mode"):
        raise ValueError(f"mode must be 'mean' or 'mode', got {mode!r}")
    return px.mode() if mode == "mode" else px.mean()


# ---- VRAE -----------------------------------------------------------------------------
@register("vrae", test_size=dict(latent_dim=3, rnn_dim=6, hidden_dim=4))
@dataclasses.dataclass(frozen=True)
class VRAE(TrainedByBounds, parts.Networks, _StornConfig, SequenceModel):
    """Variational recurrent auto-encoder with bidirectional recognition and
    generating RNNs of ``rnn_dim`` units each way (LSTMs, or with
    ``cell_type='fd_rnn'`` the paper's fast-dropout RNNs)."""

    @property
    def nets(self) -> dict:
        r, h = self.rnn_dim, self.hidden_dim
        return {
            "recognition_forward": self._rnn(recognition=True),
            "recognition_backward": self._rnn(recognition=True),
            "posterior": DiagGaussianHead(self.latent_dim, hidden=(h,)),
            "generator_forward": self._rnn(),
            "generator_backward": self._rnn(),
            "emission": parts.emission_head(self.emission_type, self.data_dim, (h,), self.emission_components),
        }

    def init(self, key: jax.Array, data_mean: jax.Array | None = None) -> dict:
        carry = self._rnn().zero_carry()
        x, z, rr = jnp.zeros(self.data_dim), jnp.zeros(self.latent_dim), jnp.zeros(2 * self.rnn_dim)
        example_inputs = {
            "recognition_forward": (carry, x),
            "recognition_backward": (carry, x),
            "posterior": (rr,),
            "generator_forward": (carry, z),
            "generator_backward": (carry, z),
            "emission": (rr,),
        }
        params = parts.init_nets(self.nets, example_inputs, key)
        return parts.with_constants(params, self.data_dim, data_mean, self.emission_type)

    def _bidirectional(self, params, prefix, xs, length):
        nets = self.nets
        return bidirectional_rnn(
            nets[f"{prefix}_forward"], params[f"{prefix}_forward"],
            nets[f"{prefix}_backward"], params[f"{prefix}_backward"], xs, length,
        )

    def posterior_params(self, params, xs: jax.Array, length) -> tuple[jax.Array, jax.Array]:
        """(m [T, Z], s [T, Z]) of q(z_t | x_{1:length})."""
        states = self._bidirectional(params, "recognition", centre(params, xs), length)
        return jax.vmap(lambda h: self.nets["posterior"].apply(params["posterior"], h))(states)

    def likelihood(self, params, zs: jax.Array, length):
        """p(x_t | z_{1:length}) for every t: a distribution with batch shape [T]."""
        states = self._bidirectional(params, "generator", zs, length)
        out = jax.vmap(lambda h: self.nets["emission"].apply(params["emission"], h))(states)
        return parts.emission_distribution(self.emission_type, out)

    def sequence_terms(self, params, xs, length, key, num_particles, inputs=None) -> SequenceTerms:
        """Terms of ``num_particles`` reparameterised samples z ~ q(z_{1:T} | x)."""
        del inputs
        if xs.ndim != 2 or xs.shape[1] != self.data_dim:
            raise ValueError(f"xs must have shape [T, {self.data_dim}], got {xs.shape}")
        valid = _valid(length, xs.shape[0])
        means, scales = self.posterior_params(params, xs, length)

        def one(k):
            zs = means + scales * jax.random.normal(k, means.shape, means.dtype)
            log_px = jnp.where(valid, self.likelihood(params, zs, length).log_prob(xs), 0.0)
            log_qz = jnp.where(valid, dist.diag_gaussian(means, scales).log_prob(zs), 0.0)
            return log_px, prior_log_prob(self.prior_type, zs, length), log_qz

        log_px, log_pz, log_qz = jax.vmap(one)(jax.random.split(key, num_particles))
        return SequenceTerms(log_px, log_pz, log_qz, prior_kl(self.prior_type, means, scales, length))

    def reconstruct(self, params, xs, length, mode: str = "mean") -> jax.Array:
        """[T, D]: z* = the mode of q(z | x), then the mean (or mode) of p(x | z*)."""
        means, _ = self.posterior_params(params, xs, length)
        return _emission_value(self.likelihood(params, means, length), mode)

    def generate(self, params, key, num_steps: int, *, inputs=None, emission_mode: str = "sample"):
        """(xs [num_steps, D], zs [num_steps, Z]): z ~ prior, then x ~ p(x | z)
        ('sample') or its mean ('mean'). VRAE takes no inputs (``inputs`` must be None)."""
        if inputs is not None:
            raise ValueError("VRAE takes no inputs; generate with inputs=None")
        check_emission_mode(emission_mode)
        kz, kx = jax.random.split(key)
        zs = sample_prior(self.prior_type, kz, num_steps, self.latent_dim)
        px = self.likelihood(params, zs, num_steps)
        xs = px.sample(seed=kx) if emission_mode == "sample" else px.mean()
        return xs.astype(zs.dtype), zs


# ---- VOSP -----------------------------------------------------------------------------
@register("vosp", test_size=dict(latent_dim=3, rnn_dim=6, hidden_dim=4, prior_type="wiener"))
@dataclasses.dataclass(frozen=True)
class VOSP(TrainedByBounds, parts.Networks, _StornConfig, StepModel):
    """Variational one-step predictor (section 3.2, Figure 2): one recognition RNN
    (an LSTM, or with ``cell_type='fd_rnn'`` the paper's fast-dropout RNN) whose
    state h_t summarises x_{1:t}, and a generating MLP:

      h_t = RNN(h_{t-1}, x_t - m)                        (h_0 = 0)
      q(z_t | x_{1:t})          = N(m_t, diag s_t^2) from an MLP of h_t
      p(x_t | h_{t-1}, z_t)     = Bernoulli or diagonal Gaussian from an MLP of [h_{t-1}, z_t]

    so the past x_{1:t-1} flows deterministically into the prediction of x_t, and
    z_{1:t-1} does not (the paper: "We did not consider using an RNN as generating
    model"). h_{1:T} depends on x only, so ``context`` computes it before the
    particle scan; a particle's state is z_{t-1} (for the Wiener prior). As for
    the SRNN, SMC imputation does not apply (``imputable`` is False): STORN
    imputes by iterated reconstruction (``seqvi.imputation.iterative_impute``).
    """

    imputable: ClassVar[bool] = False

    @property
    def nets(self) -> dict:
        h = self.hidden_dim
        return {
            "recognition": self._rnn(recognition=True),
            "posterior": DiagGaussianHead(self.latent_dim, hidden=(h,)),
            "emission": parts.emission_head(self.emission_type, self.data_dim, (h,), self.emission_components),
        }

    def init(self, key: jax.Array, data_mean: jax.Array | None = None) -> dict:
        carry = self._rnn().zero_carry()
        example_inputs = {
            "recognition": (carry, jnp.zeros(self.data_dim)),
            "posterior": (jnp.zeros(self.rnn_dim),),
            "emission": (jnp.zeros(self.rnn_dim), jnp.zeros(self.latent_dim)),
        }
        params = parts.init_nets(self.nets, example_inputs, key)
        return parts.with_constants(params, self.data_dim, data_mean, self.emission_type)

    def initial_state(self, params):
        del params
        return jnp.zeros(self.latent_dim)

    def context(self, params, xs, length, inputs=None) -> tuple[jax.Array, jax.Array]:
        """(h_{t-1} [T, R], h_t [T, R]): the recognition states before and after x_t."""
        return self.chunk_context(params, xs, length, inputs, self.initial_context_carry(params))[0]

    def initial_context_carry(self, params):
        """(the recognition RNN's zero carry, h_0 = 0)."""
        del params
        cell = self.nets["recognition"]
        return cell.zero_carry(), jnp.zeros(self.rnn_dim)

    def chunk_context(self, params, xs, length, inputs, carry):
        """The context of a chunk whose recognition RNN continues from the carried
        (RNN carry, h_prev), and that carry after its last valid step."""
        del inputs
        rnn_carry, h_prev = carry
        rnn_carry, h = masked_scan(self.nets["recognition"], params["recognition"], centre(params, xs), length,
                                   initial_carry=rnn_carry)
        before = jnp.concatenate([h_prev[None], h[:-1]], 0)
        return (before, h), (rnn_carry, jnp.where(length > 0, h[jnp.maximum(length - 1, 0)], h_prev))

    def prior(self, params, state, ctx_t):
        mean = state if self.prior_type == "wiener" else jnp.zeros_like(state)
        return dist.diag_gaussian(mean, jnp.ones_like(state))

    def proposal(self, params, state, ctx_t, x_t):
        del state, x_t  # in h_t already
        return dist.diag_gaussian(*self.apply_net(params, "posterior", ctx_t[1]))

    def _emission(self, params, h_prev, z_t):
        return parts.emission_distribution(self.emission_type, self.apply_net(params, "emission", h_prev, z_t))

    def emission(self, params, state, z_t, ctx_t):
        """p(x_t | h_{t-1}, z_t)."""
        del state
        return self._emission(params, ctx_t[0], z_t)

    def update(self, params, state, z_t, x_t, ctx_t):
        return z_t

    def generate(self, params, key, num_steps: int, *, inputs=None, emission_mode: str = "sample", state=None):
        """(xs [num_steps, D], zs [num_steps, Z]) by ancestral sampling, the
        recognition LSTM reading each sampled x_t to give h_t; from z_0 = 0, h_0 = 0
        unless ``state`` = (z_prev, recognition RNN carry) is given. ``inputs`` must be None."""
        if inputs is not None:
            raise ValueError("VOSP's inputs are its own previous outputs; generate takes inputs=None")
        check_emission_mode(emission_mode)
        if state is None:
            state = (self.initial_state(params), self.nets["recognition"].zero_carry())
        rnn = self.nets["recognition"]

        def body(carry, key):
            z_prev, rnn_carry = carry
            kz, kx = jax.random.split(key)
            z = self.prior(params, z_prev, None).sample(seed=kz)
            px = self._emission(params, rnn.output(rnn_carry), z)
            x = (px.sample(seed=kx) if emission_mode == "sample" else px.mean()).astype(z.dtype)
            rnn_carry, _ = self.apply_net(params, "recognition", rnn_carry, centre(params, x))
            return (z, rnn_carry), (x, z)

        _, (xs, zs) = jax.lax.scan(body, state, jax.random.split(key, num_steps))
        return xs, zs

    def continuation_state(self, params, state, xs, length, inputs=None):
        """(z_length, the recognition RNN's carry after x_{1:length}), which ``generate`` continues from."""
        del inputs
        carry, _ = masked_scan(self.nets["recognition"], params["recognition"], centre(params, xs), length)
        return state, carry

    def reconstruct(self, params, xs, length, mode: str = "mean") -> jax.Array:
        """Online denoising [T, D]: z_t* = the mode of q(z_t | x_{1:t}), then the mean
        (or mode) of p(x_t | h_{t-1}, z_t*)."""
        h_prev, h = self.context(params, xs, length)
        z_modes = jax.vmap(lambda c: self.apply_net(params, "posterior", c)[0])(h)
        return _emission_value(self._emission(params, h_prev, z_modes), mode)
