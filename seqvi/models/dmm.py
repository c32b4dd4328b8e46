"""Deep state-space model / deep Markov model (thesis, section 4.3; Krishnan et
al. 2017), as a StepModel.

Generative model, with optional inputs u_t:

  z_t ~ p(z_t | z_{t-1}, u_t) = N(mu(z_{t-1}, u_t), diag sigma(z_{t-1}, u_t)^2)
        ('gated': the gated transition of Krishnan et al., ``nn.GatedTransition``;
         'plain': an MLP with one hidden layer)
  x_t ~ p(x_t | z_t)   Bernoulli or diagonal Gaussian, MLP with two hidden layers

z_0 is a learned vector. Inference ('combiner', Krishnan et al.):

  q(z_t | z_{t-1}, h_t) = N(W_m c, softplus(W_s c)^2),  c = (tanh(W z_{t-1}) + h_t) / 2

where h_t is the state of an LSTM run backward over x_{t:T} ('smoothing', the
structure of the true posterior) or forward over x_{1:t} ('filtering'). Both
depend on x only, so ``context`` runs them before the particle scan; a
particle's state is z_{t-1}.
"""

import dataclasses

import jax
import jax.numpy as jnp

from seqvi import dist
from seqvi.models import parts
from seqvi.core import StepModel
from seqvi.models.parts import EMISSIONS, centre
from seqvi.nn import Combiner, DiagGaussianHead, GatedTransition, LSTMCell, masked_scan
from seqvi.models.objectives import TrainedByBounds
from seqvi.models.registry import register

TRANSITIONS = ("gated", "plain")
POSTERIORS = ("smoothing", "filtering")


@register("dmm", test_size=dict(latent_dim=3, transition_dim=4, emission_dim=4, rnn_dim=6))
@dataclasses.dataclass(frozen=True)
class DMM(TrainedByBounds, StepModel):
    """Attributes:
      data_dim: D. latent_dim: size of z_t. transition_dim: hidden width of the
      transition. emission_dim: width of the emission MLP's two hidden layers.
      rnn_dim: LSTM units of the inference network. input_dim: size of u_t (0: none).
      transition_type: 'gated' or 'plain'. posterior_type: 'smoothing' or 'filtering'.
      emission_type: 'bernoulli', 'gaussian' or 'gmm'.
      emission_components: K of the 'gmm' emission (20 as in Chung et al. 2015).
    """

    data_dim: int
    latent_dim: int = 16
    transition_dim: int = 32
    emission_dim: int = 32
    rnn_dim: int = 32
    input_dim: int = 0
    transition_type: str = "gated"
    posterior_type: str = "smoothing"
    emission_type: str = "bernoulli"
    emission_components: int = 20

    def __post_init__(self):
        sizes = ("data_dim", "latent_dim", "transition_dim", "emission_dim", "rnn_dim", "emission_components")
        parts.check_config(
            "DMM",
            {n: getattr(self, n) for n in sizes},
            {
                "transition_type": (self.transition_type, TRANSITIONS),
                "posterior_type": (self.posterior_type, POSTERIORS),
                "emission_type": (self.emission_type, EMISSIONS),
            },
        )
        if not isinstance(self.input_dim, int) or self.input_dim < 0:
            raise ValueError(f"DMM.input_dim must be a non-negative int, got {self.input_dim!r}")

    @property
    def nets(self) -> dict:
        z = self.latent_dim
        transition = (
            GatedTransition(z, self.transition_dim)
            if self.transition_type == "gated"
            else DiagGaussianHead(z, hidden=(self.transition_dim,))
        )
        return {
            "transition": transition,
            "emission": parts.emission_head(self.emission_type, self.data_dim, (self.emission_dim,) * 2, self.emission_components),
            "rnn": LSTMCell(self.rnn_dim),
            "combiner": Combiner(z),
        }

    def init(self, key: jax.Array, data_mean: jax.Array | None = None) -> dict:
        z, u = jnp.zeros(self.latent_dim), jnp.zeros(self.input_dim)
        example_inputs = {
            "transition": (z, u) if self.transition_type == "gated" else (jnp.concatenate([z, u]),),
            "emission": (z,),
            "rnn": (self.nets["rnn"].zero_carry(), jnp.zeros(self.data_dim)),
            "combiner": (z, jnp.zeros(self.rnn_dim)),
        }
        params = parts.init_nets(self.nets, example_inputs, key)
        params["z_0"] = jnp.zeros(self.latent_dim)
        return parts.with_constants(params, self.data_dim, data_mean, self.emission_type)

    # ---- StepModel --------------------------------------------------------------
    def initial_state(self, params) -> jax.Array:
        return params["z_0"]

    def context(self, params, xs, length, inputs=None):
        """(h [T, R], u [T, U]): the inference LSTM's states and the inputs."""
        return self.chunk_context(params, xs, length, inputs, self.initial_context_carry(params))[0]

    def initial_context_carry(self, params):
        """The filtering LSTM's zero carry (None for the smoothing posterior,
        whose backward LSTM sees only its chunk's future)."""
        del params
        return self.nets["rnn"].zero_carry() if self.posterior_type == "filtering" else None

    def chunk_context(self, params, xs, length, inputs, carry):
        """The context of one chunk with the filtering LSTM continued from ``carry``,
        and its carry after the chunk's last valid step."""
        if self.input_dim:
            if inputs is None or inputs.shape != (xs.shape[0], self.input_dim):
                got = None if inputs is None else inputs.shape
                raise ValueError(f"DMM with input_dim={self.input_dim} needs inputs of shape "
                                 f"({xs.shape[0]}, {self.input_dim}), got {got}")
            u = inputs.astype(xs.dtype)
        else:
            u = jnp.zeros((xs.shape[0], 0), xs.dtype)
        rnn, p = self.nets["rnn"], params["rnn"]
        x = centre(params, xs)
        if self.posterior_type == "smoothing":
            return (masked_scan(rnn, p, x, length, reverse=True)[1], u), None
        carry, h = masked_scan(rnn, p, x, length, initial_carry=carry)
        return (h, u), carry

    def generation_context(self, params, inputs, num_steps):
        """(None, u [num_steps, U]) for generation: no inference states, the inputs."""
        del params
        if not self.input_dim:
            return None
        if inputs is None or jnp.shape(inputs) != (num_steps, self.input_dim):
            got = None if inputs is None else jnp.shape(inputs)
            raise ValueError(f"DMM with input_dim={self.input_dim} generates from inputs of shape "
                             f"({num_steps}, {self.input_dim}), got {got}")
        return None, jnp.asarray(inputs, jnp.result_type(float))

    def transition_params(self, params, z_prev: jax.Array, u_t: jax.Array):
        """(mu, sigma) of p(z_t | z_{t-1}, u_t)."""
        if self.transition_type == "gated":
            return self.nets["transition"].apply(params["transition"], z_prev, u_t)
        return self.nets["transition"].apply(params["transition"], jnp.concatenate([z_prev, u_t], -1))

    def prior(self, params, state, ctx_t):
        """p(z_t | z_{t-1}, u_t); ``ctx_t`` may be None (generation) when input_dim = 0."""
        if ctx_t is None:
            if self.input_dim:
                raise ValueError("DMM with inputs needs ctx_t = (h_t, u_t); generate with inputs=us")
            u_t = jnp.zeros((0,), state.dtype)
        else:
            u_t = ctx_t[1]
        return dist.diag_gaussian(*self.transition_params(params, state, u_t))

    def proposal(self, params, state, ctx_t, x_t):
        del x_t  # summarised in h_t
        return dist.diag_gaussian(*self.nets["combiner"].apply(params["combiner"], state, ctx_t[0]))

    def emission(self, params, state, z_t, ctx_t):
        out = self.nets["emission"].apply(params["emission"], z_t)
        return parts.emission_distribution(self.emission_type, out)

    def update(self, params, state, z_t, x_t, ctx_t):
        return z_t
