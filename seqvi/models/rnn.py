"""RNN: the deterministic baseline of the thesis's speech table (Table 5.1's
RNN-Gauss and RNN-GMM, from Chung et al. 2015), a StepModel without latent
variables:

  d_t = LSTM(d_{t-1}, phi_x(u_t)),   u_t = x_{t-1} (centred; u_1 = 0)
  p(x_t | x_{<t}) = p(x_t | d_t)     Gaussian, Gaussian mixture or Bernoulli from MLP(d_t)

so log p(x_{1:T}) = sum_t log p(x_t | d_t) exactly. The latent z_t is empty
(Z = 0): prior and proposal are the 0-dimensional Gaussian, whose log-density is
0, so every bound (ELBO, IWAE, FIVO, with any number of particles) equals this
exact log-likelihood.

d_{1:T} is a function of x only, so ``context`` computes it once per sequence
with the input projection outside the loop (``masked_scan``), and
``chunk_context`` carries the LSTM's (c, h) and the last x from chunk to chunk
(truncated BPTT). As for the SRNN, SMC imputation does not apply (``imputable``
is False): a sampled x_{t-1} would have to change d_t.
"""

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from seqvi import dist
from seqvi.core import StepModel, StepOutput, check_emission_mode
from seqvi.models import parts
from seqvi.models.objectives import TrainedByBounds
from seqvi.models.parts import EMISSIONS, centre
from seqvi.models.registry import register
from seqvi.nn import MLP, LSTMCell, masked_scan


@register("rnn", test_size=dict(rnn_dim=6, hidden_dim=4))
@dataclasses.dataclass(frozen=True)
class RNN(TrainedByBounds, parts.Networks, StepModel):
    """Attributes:
      data_dim: D. rnn_dim: LSTM units. hidden_dim: width of phi_x and of the
      emission's hidden layer. emission_type: 'bernoulli', 'gaussian' or 'gmm'.
      emission_components: K of the 'gmm' emission (20 as in Chung et al. 2015).
    """

    data_dim: int
    rnn_dim: int = 64
    hidden_dim: int = 64
    emission_type: str = "bernoulli"
    emission_components: int = 20

    latent_dim: ClassVar[int] = 0
    imputable: ClassVar[bool] = False

    def __post_init__(self):
        parts.check_config(
            "RNN", {n: getattr(self, n) for n in ("data_dim", "rnn_dim", "hidden_dim", "emission_components")},
            {"emission_type": (self.emission_type, EMISSIONS)})

    @property
    def nets(self) -> dict:
        h = self.hidden_dim
        return {
            "phi_x": MLP((h,)),
            "rnn": LSTMCell(self.rnn_dim),
            "emission": parts.emission_head(self.emission_type, self.data_dim, (h,), self.emission_components),
        }

    def init(self, key: jax.Array, data_mean: jax.Array | None = None) -> dict:
        """Parameters; ``data_mean`` [D] centres the inputs (and sets Bernoulli output biases)."""
        d, h = self.data_dim, self.hidden_dim
        example_inputs = {
            "phi_x": (jnp.zeros(d),),
            "rnn": (self.nets["rnn"].zero_carry(), jnp.zeros(h)),
            "emission": (jnp.zeros(self.rnn_dim),),
        }
        params = parts.init_nets(self.nets, example_inputs, key)
        return parts.with_constants(params, d, data_mean, self.emission_type)

    # ---- StepModel --------------------------------------------------------------
    def initial_state(self, params) -> jax.Array:
        del params
        return jnp.zeros((0,))

    def initial_context_carry(self, params):
        """(LSTM carry 0, x_0 = the training mean, which centres to u_1 = 0)."""
        return self.nets["rnn"].zero_carry(), jax.lax.stop_gradient(params["constants"]["input_mean"])

    def context(self, params, xs, length, inputs=None) -> jax.Array:
        """d [T, R]: the LSTM's outputs over u_t = x_{t-1}."""
        return self.chunk_context(params, xs, length, inputs, self.initial_context_carry(params))[0]

    def chunk_context(self, params, xs, length, inputs, carry):
        """(d [T, R] of a chunk started from the carried (LSTM carry, x_prev), the
        carry after its last valid step)."""
        del inputs
        rnn_carry, x_prev = carry
        u = jnp.concatenate([x_prev[None], xs[:-1]], 0)
        features = jax.vmap(lambda v: self.apply_net(params, "phi_x", v))(centre(params, u))
        rnn_carry, d = masked_scan(self.nets["rnn"], params["rnn"], features, length, initial_carry=rnn_carry)
        x_last = jnp.where(length > 0, xs[jnp.maximum(length - 1, 0)], x_prev)
        return d, (rnn_carry, x_last)

    def prior(self, params, state, ctx_t):
        del params, ctx_t
        return dist.diag_gaussian(state, jnp.ones_like(state))

    def proposal(self, params, state, ctx_t, x_t):
        del x_t
        return self.prior(params, state, ctx_t)

    def emission(self, params, state, z_t, ctx_t):
        del state, z_t
        return parts.emission_distribution(self.emission_type, self.apply_net(params, "emission", ctx_t))

    def update(self, params, state, z_t, x_t, ctx_t):
        return state

    def step(self, params, state, key, x_t, ctx_t) -> StepOutput:
        """log p(x_t | d_t); the empty latent adds nothing."""
        del key
        zero = jnp.zeros((), x_t.dtype)
        return StepOutput(state, self.emission(params, state, state, ctx_t).log_prob(x_t), zero, zero)

    # ---- generation ------------------------------------------------------------------
    def generate(self, params, key, num_steps, *, inputs=None, emission_mode="sample", state=None):
        """x_{1:num_steps} with d_t driven by the model's own x_{t-1}; zs [num_steps, 0].
        ``state`` = (LSTM carry, x_prev) continues a sequence (default: its start)."""
        check_emission_mode(emission_mode)
        if inputs is not None:
            raise ValueError("the RNN's inputs are its own previous outputs; generate takes inputs=None")
        if state is None:
            state = self.initial_context_carry(params)

        def body(carry, key):
            rnn_carry, x_prev = carry
            rnn_carry, d = self.apply_net(params, "rnn", rnn_carry,
                                          self.apply_net(params, "phi_x", centre(params, x_prev)))
            px = self.emission(params, None, None, d)
            x = (px.sample(seed=key) if emission_mode == "sample" else px.mean()).astype(x_prev.dtype)
            return (rnn_carry, x), x

        _, xs = jax.lax.scan(body, state, jax.random.split(key, num_steps))
        return xs, jnp.zeros((num_steps, 0), xs.dtype)

    def continuation_state(self, params, state, xs, length, inputs=None):
        """(LSTM carry, x_length) after the observed prefix xs[:length]."""
        del state, inputs
        return self.chunk_context(params, xs, length, None, self.initial_context_carry(params))[1]
