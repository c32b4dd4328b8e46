"""VAE-RNN (thesis, section 4.4.1, Figure 4.3, eqs. 4.11-4.15), as a StepModel.

The same VAE at every time step, with a prior that reads the state d_t of an RNN
driven by the inputs alone:

  d_t = LSTM(d_{t-1}, u_t),  u_t = x_{t-1} - m   (d_0 = 0, u_1 = 0; m the training mean)
  prior       p(z_t | d_t)       = N(mu_p(d_t), diag sigma_p(d_t)^2)
  likelihood  p(x_t | z_t)       = Bernoulli or diagonal Gaussian from MLP(z_t)   (no d_t -> x_t link)
  posterior   q(z_t | x_t, d_t)  = N(mu_q, diag sigma_q^2) from MLP([x_t - m, d_t])   (eq. 4.15)

There is no z_{t-1} -> d_t link, so d_{1:T} is a deterministic function of the
inputs and, given d_{1:T}, the ELBO is the sum of T independent per-step VAE
ELBOs (the last line of eq. 4.15's derivation). The VRNN (section 4.4.2) adds the
d_t -> x_t and z_{t-1} -> d_t links; the model with a VRNN's links but an N(0, I)
prior is ``seqvi.models.vrnn_i.VRNNI``.

The particle state is d_t (the LSTM carry), advanced by ``update`` from the
observed x_t, so SMC imputation (``seqvi.imputation.smc_impute``) feeds a
missing step's sampled x_t to the RNN, as the thesis's VAE-RNN baseline of
section 6.5 feeds its previous output when a frame is missing. Every particle of
a fully observed sequence has the same d_t.
"""

import dataclasses

import jax
import jax.numpy as jnp

from seqvi import dist
from seqvi.core import StepModel
from seqvi.models import parts
from seqvi.models.objectives import TrainedByBounds
from seqvi.models.parts import EMISSIONS, centre
from seqvi.models.registry import register
from seqvi.nn import DiagGaussianHead, LSTMCell


@register("vae_rnn", test_size=dict(latent_dim=3, rnn_dim=6, hidden_dim=4))
@dataclasses.dataclass(frozen=True)
class VAERNN(TrainedByBounds, parts.Networks, StepModel):
    """Attributes:
      data_dim: D, the size of x_t. latent_dim: size of z_t. rnn_dim: LSTM units (d_t).
      hidden_dim: width of the prior's and posterior's hidden layer and of the
        likelihood's two hidden layers.
      emission_type: 'bernoulli' (binary data), 'gaussian' or 'gmm' (real data).
      emission_components: K of the 'gmm' emission (20 as in Chung et al. 2015).
    """

    data_dim: int
    latent_dim: int = 16
    rnn_dim: int = 32
    hidden_dim: int = 32
    emission_type: str = "bernoulli"
    emission_components: int = 20

    def __post_init__(self):
        parts.check_config(
            "VAERNN",
            {n: getattr(self, n) for n in ("data_dim", "latent_dim", "rnn_dim", "hidden_dim", "emission_components")},
            {"emission_type": (self.emission_type, EMISSIONS)},
        )

    @property
    def nets(self) -> dict:
        h = self.hidden_dim
        return {
            "rnn": LSTMCell(self.rnn_dim),
            "prior": DiagGaussianHead(self.latent_dim, hidden=(h,)),
            "posterior": DiagGaussianHead(self.latent_dim, hidden=(h,)),
            "likelihood": parts.emission_head(self.emission_type, self.data_dim, (h, h), self.emission_components),
        }

    def init(self, key: jax.Array, data_mean: jax.Array | None = None) -> dict:
        """Parameters. ``data_mean`` [D] (training mean of x) centres the RNN's and
        the posterior's inputs and, for Bernoulli likelihoods, sets the output bias
        to logit(mean)."""
        d, r, z = self.data_dim, self.rnn_dim, self.latent_dim
        example_inputs = {
            "rnn": (self.nets["rnn"].zero_carry(), jnp.zeros(d)),
            "prior": (jnp.zeros(r),),
            "posterior": (jnp.zeros(d), jnp.zeros(r)),
            "likelihood": (jnp.zeros(z),),
        }
        params = parts.init_nets(self.nets, example_inputs, key)
        return parts.with_constants(params, d, data_mean, self.emission_type, emission_net="likelihood")

    # ---- StepModel --------------------------------------------------------------
    def initial_state(self, params):
        """The LSTM carry of d_1 = LSTM(0, u_1 = 0)."""
        rnn = self.nets["rnn"]
        carry, _ = self.apply_net(params, "rnn", rnn.zero_carry(), jnp.zeros(self.data_dim))
        return carry

    def prior(self, params, state, ctx_t):
        del ctx_t
        return dist.diag_gaussian(*self.apply_net(params, "prior", state[1]))

    def proposal(self, params, state, ctx_t, x_t):
        del ctx_t
        return dist.diag_gaussian(*self.apply_net(params, "posterior", centre(params, x_t), state[1]))

    def emission(self, params, state, z_t, ctx_t):
        """p(x_t | z_t): the state d_t does not enter."""
        del state, ctx_t
        return parts.emission_distribution(self.emission_type, self.apply_net(params, "likelihood", z_t))

    def update(self, params, state, z_t, x_t, ctx_t):
        """d_{t+1} = LSTM(d_t, x_t - m): z_t does not enter."""
        del z_t, ctx_t
        carry, _ = self.apply_net(params, "rnn", state, centre(params, x_t))
        return carry
