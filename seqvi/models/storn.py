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

VOSP: forward LSTM recognition q(z_t | x_{1:t}); generating LSTM
h_t = LSTM(h_{t-1}, [x_{t-1}, z_t]) and p(x_t | h_t): a StepModel (all bounds).

Both offer ``reconstruct`` (the mode of q, then the mode or mean of p), which
STORN uses for denoising and, iterated, for imputation (``seqvi.imputation``).
"""

import dataclasses
import math

import jax
import jax.numpy as jnp

from seqvi import dist
from seqvi.models import parts
from seqvi.core import SequenceModel, SequenceTerms, StepModel, StepOutput, check_emission_mode
from seqvi.models.parts import EMISSIONS, centre
from seqvi.nn import DiagGaussianHead, LSTMCell, bidirectional_rnn, masked_scan, shift_right
from seqvi.models.objectives import TrainedByBounds
from seqvi.models.registry import register

PRIORS = ("standard_normal", "wiener")
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
    """The sizes and choices VRAE and VOSP share, checked on construction."""

    data_dim: int
    latent_dim: int = 16
    rnn_dim: int = 32
    hidden_dim: int = 32
    emission_type: str = "bernoulli"
    prior_type: str = "standard_normal"

    def __post_init__(self):
        parts.check_config(
            type(self).__name__,
            {n: getattr(self, n) for n in ("data_dim", "latent_dim", "rnn_dim", "hidden_dim")},
            {"emission_type": (self.emission_type, EMISSIONS), "prior_type": (self.prior_type, PRIORS)},
        )


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
    generating LSTMs of ``rnn_dim`` units each way."""

    @property
    def nets(self) -> dict:
        r, h = self.rnn_dim, self.hidden_dim
        return {
            "recognition_forward": LSTMCell(r),
            "recognition_backward": LSTMCell(r),
            "posterior": DiagGaussianHead(self.latent_dim, hidden=(h,)),
            "generator_forward": LSTMCell(r),
            "generator_backward": LSTMCell(r),
            "emission": parts.emission_head(self.emission_type, self.data_dim, (h,)),
        }

    def init(self, key: jax.Array, data_mean: jax.Array | None = None) -> dict:
        carry = LSTMCell(self.rnn_dim).zero_carry()
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
    """Variational one-step predictor. State: (LSTM carry, z_{t-1}, centred x_{t-1})."""

    @property
    def nets(self) -> dict:
        r, h = self.rnn_dim, self.hidden_dim
        return {
            "recognition": LSTMCell(r),
            "posterior": DiagGaussianHead(self.latent_dim, hidden=(h,)),
            "generator": LSTMCell(r),
            "emission": parts.emission_head(self.emission_type, self.data_dim, (h,)),
        }

    def init(self, key: jax.Array, data_mean: jax.Array | None = None) -> dict:
        carry = LSTMCell(self.rnn_dim).zero_carry()
        example_inputs = {
            "recognition": (carry, jnp.zeros(self.data_dim)),
            "posterior": (jnp.zeros(self.rnn_dim),),
            "generator": (carry, jnp.zeros(self.data_dim + self.latent_dim)),
            "emission": (jnp.zeros(self.rnn_dim),),
        }
        params = parts.init_nets(self.nets, example_inputs, key)
        return parts.with_constants(params, self.data_dim, data_mean, self.emission_type)


    def initial_state(self, params):
        del params
        return LSTMCell(self.rnn_dim).zero_carry(), jnp.zeros(self.latent_dim), jnp.zeros(self.data_dim)

    def context(self, params, xs, length, inputs=None) -> jax.Array:
        """[T, R] recognition states over x_{1:t}."""
        del length, inputs
        return masked_scan(self.nets["recognition"], params["recognition"], centre(params, xs))[1]

    def prior(self, params, state, ctx_t):
        z_prev = state[1]
        mean = z_prev if self.prior_type == "wiener" else jnp.zeros_like(z_prev)
        return dist.diag_gaussian(mean, jnp.ones_like(z_prev))

    def proposal(self, params, state, ctx_t, x_t):
        return dist.diag_gaussian(*self.apply_net(params, "posterior", ctx_t))

    def _generator(self, params, state, z_t):
        carry, _ = self.apply_net(params, "generator", state[0], jnp.concatenate([state[2], z_t], -1))
        return carry

    def _emission(self, params, carry):
        return parts.emission_distribution(self.emission_type, self.apply_net(params, "emission", LSTMCell.output(carry)))

    def emission(self, params, state, z_t, ctx_t):
        return self._emission(params, self._generator(params, state, z_t))

    def update(self, params, state, z_t, x_t, ctx_t):
        return self._generator(params, state, z_t), z_t, centre(params, x_t)

    def step(self, params, state, key, x_t, ctx_t) -> StepOutput:
        """The generic step with the generating LSTM run once."""
        z, log_qz = self.proposal(params, state, ctx_t, x_t).sample_and_log_prob(seed=key)
        log_pz = self.prior(params, state, ctx_t).log_prob(z)
        carry = self._generator(params, state, z)
        log_px = self._emission(params, carry).log_prob(x_t)
        return StepOutput((carry, z, centre(params, x_t)), log_px, log_pz, log_qz)

    def reconstruct(self, params, xs, length, mode: str = "mean") -> jax.Array:
        """Online denoising [T, D]: z_t* = the mode of q(z_t | x_{1:t}), then the mean
        (or mode) of p(x_t | x_{<t}, z_{1:t}*), with the given x_{<t} as inputs."""
        del length
        z_modes = jax.vmap(lambda c: self.apply_net(params, "posterior", c)[0])(self.context(params, xs, None))

        def body(state, inp):
            z, x = inp
            carry = self._generator(params, state, z)
            value = _emission_value(self._emission(params, carry), mode)
            return (carry, z, centre(params, x)), value

        _, values = jax.lax.scan(body, self.initial_state(params), (z_modes, xs))
        return values
