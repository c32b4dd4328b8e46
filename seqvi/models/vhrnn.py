"""VHRNN: variational hyper RNN (Deng et al. 2020, "Variational Hyper RNN for
sequence modeling"), as a StepModel.

The VRNN's networks, but the recurrence and the decoder take their weights'
modulation from hypernetworks of the latent z_t and the previous state h_{t-1}:

  prior       p(z_t | h_{t-1})       = N(mu_p(h_{t-1}), diag sigma_p(h_{t-1})^2)
  proposal    q(z_t | h_{t-1}, x_t)  = N(mu_q, diag sigma_q^2) from [h_{t-1}, phi_x(x_t)]
  emission    p(x_t | z_t, h_{t-1})  = decoder_{omega_t}([phi_z(z_t), h_{t-1}])
  update      (theta_t, g_t) = theta(g_{t-1}, v_t),
              h_t = HyperCell_{theta_t}(h_{t-1}, [phi_x(x_t - m), phi_z(z_t)])

with v_t = the hypernetwork input: [z_t, h_{t-1}] ('both'), z_t ('latent') or
h_{t-1} ('hidden'); theta a single-layer LSTM (state g_t) whose output scales
the cell's input and recurrent weight rows per gate and shifts its biases
(``seqvi.nn.hyper``); omega_t = omega(v_t) an MLP with one hidden layer giving a
scale and a shift for every decoder layer. The model's state is (h cell carry,
theta's LSTM carry).
"""

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from seqvi import dist
from seqvi.models import parts
from seqvi.core import StepModel, StepOutput
from seqvi.models.parts import centre
from seqvi.nn import MLP, DiagGaussianHead
from seqvi.nn.hyper import GateModulation, HyperEmission, HyperGRUCell, HyperLSTMCell, RecurrentHyperNetwork
from seqvi.models.objectives import TrainedByBounds
from seqvi.models.registry import register

HYPER_INPUTS = ("both", "latent", "hidden")
CELLS = ("lstm", "gru")


@register("vhrnn", test_size=dict(latent_dim=3, rnn_dim=6, hidden_dim=4, hyper_dim=4, omega_hidden=5, cell_type="gru"))
@dataclasses.dataclass(frozen=True)
class VHRNN(TrainedByBounds, parts.Networks, StepModel):
    """A VHRNN for data of dimension ``data_dim``.

    Attributes:
      data_dim: D, the size of x_t.
      latent_dim: size of z_t.
      rnn_dim: units of the hyper-modulated cell (h_t).
      hidden_dim: width of phi_x, phi_z and of the heads' hidden layer.
      hyper_dim: units of theta's LSTM.
      omega_hidden: width of omega's hidden layer (the paper: 64).
      hyper_input: 'both' [z_t, h_{t-1}], 'latent' z_t or 'hidden' h_{t-1}.
      cell_type: 'lstm' or 'gru' (the modulated recurrent cell).
      emission_type: 'bernoulli' (binary data) or 'gaussian' (real data).
    """

    data_dim: int
    latent_dim: int = 4
    rnn_dim: int = 4
    hidden_dim: int = 32
    hyper_dim: int = 32
    omega_hidden: int = 64
    hyper_input: str = "both"
    cell_type: str = "lstm"
    emission_type: str = "gaussian"

    def __post_init__(self):
        sizes = ("data_dim", "latent_dim", "rnn_dim", "hidden_dim", "hyper_dim", "omega_hidden")
        parts.check_config(
            type(self).__name__,
            {n: getattr(self, n) for n in sizes},
            {
                "hyper_input": (self.hyper_input, HYPER_INPUTS),
                "cell_type": (self.cell_type, CELLS),
                "emission_type": (self.emission_type, ("bernoulli", "gaussian")),  # the hyper head has no GMM
            },
        )

    # ---- networks -------------------------------------------------------------
    @property
    def nets(self) -> dict[str, Any]:
        h = self.hidden_dim
        cell = (HyperLSTMCell if self.cell_type == "lstm" else HyperGRUCell)(self.rnn_dim)
        return {
            "phi_x": MLP((h,)),
            "phi_z": MLP((h,)),
            "rnn": cell,
            "theta": RecurrentHyperNetwork(self.hyper_dim, cell.num_gates * self.rnn_dim),
            "prior": DiagGaussianHead(self.latent_dim, hidden=(h,)),
            "proposal": DiagGaussianHead(self.latent_dim, hidden=(h,)),
            "emission": HyperEmission(self.data_dim, (h,), self.emission_type, self.omega_hidden),
        }

    def init(self, key: jax.Array, data_mean: jax.Array | None = None) -> dict:
        """Parameters. ``data_mean`` [D] (training mean of x) centres the cell's
        inputs and, for Bernoulli emissions, sets the output bias to logit(mean)."""
        nets, d, h, r = self.nets, self.data_dim, self.hidden_dim, self.rnn_dim
        v = self.hyper_input_of(jnp.zeros(self.latent_dim), jnp.zeros(r))
        example_inputs = {
            "phi_x": (jnp.zeros(d),),
            "phi_z": (jnp.zeros(self.latent_dim),),
            "rnn": (nets["rnn"].zero_carry(), jnp.zeros(2 * h), GateModulation.identity(nets["theta"].size)),
            "theta": (nets["theta"].zero_carry(), v),
            "prior": (jnp.zeros(r),),
            "proposal": (jnp.zeros(r + h),),
            "emission": (jnp.zeros(h + r), v),
        }
        params = parts.init_nets(nets, example_inputs, key)
        return parts.with_constants(params, d, data_mean, self.emission_type)


    def _hidden(self, state) -> jax.Array:
        return self.nets["rnn"].output(state[0])

    def hyper_input_of(self, z_t: jax.Array, h_prev: jax.Array) -> jax.Array:
        """v_t, the hypernetworks' input, per ``hyper_input``."""
        if self.hyper_input == "latent":
            return z_t
        if self.hyper_input == "hidden":
            return h_prev
        return jnp.concatenate([z_t, h_prev], -1)

    # ---- StepModel --------------------------------------------------------------
    def initial_state(self, params):
        del params
        return (self.nets["rnn"].zero_carry(), self.nets["theta"].zero_carry())

    def _prior_params(self, params, state):
        return self.apply_net(params, "prior", self._hidden(state))

    def prior(self, params, state, ctx_t):
        del ctx_t
        return dist.diag_gaussian(*self._prior_params(params, state))

    def _proposal_params(self, params, state, x_t):
        feats = jnp.concatenate([self._hidden(state), self.apply_net(params, "phi_x", centre(params, x_t))], -1)
        return self.apply_net(params, "proposal", feats)

    def proposal(self, params, state, ctx_t, x_t):
        del ctx_t
        return dist.diag_gaussian(*self._proposal_params(params, state, x_t))

    def _emission(self, params, state, z_t, phi_z):
        h_prev = self._hidden(state)
        y = jnp.concatenate([phi_z, h_prev], -1)
        out = self.apply_net(params, "emission", y, self.hyper_input_of(z_t, h_prev))
        return parts.emission_distribution(self.emission_type, out)

    def emission(self, params, state, z_t, ctx_t):
        del ctx_t
        return self._emission(params, state, z_t, self.apply_net(params, "phi_z", z_t))

    def _update(self, params, state, z_t, phi_z, x_t):
        cell_carry, theta_carry = state
        v = self.hyper_input_of(z_t, self._hidden(state))
        theta_carry, modulation = self.apply_net(params, "theta", theta_carry, v)
        rnn_in = jnp.concatenate([self.apply_net(params, "phi_x", centre(params, x_t)), phi_z], -1)
        cell_carry, _ = self.apply_net(params, "rnn", cell_carry, rnn_in, modulation)
        return (cell_carry, theta_carry)

    def update(self, params, state, z_t, x_t, ctx_t):
        del ctx_t
        return self._update(params, state, z_t, self.apply_net(params, "phi_z", z_t), x_t)

    def step(self, params, state, key, x_t, ctx_t) -> StepOutput:
        """The generic step, computing phi_z(z_t) once."""
        del ctx_t
        prior_mean, prior_scale = self._prior_params(params, state)
        z, log_qz = dist.diag_gaussian(*self._proposal_params(params, state, x_t)).sample_and_log_prob(seed=key)
        log_pz = dist.diag_gaussian(prior_mean, prior_scale).log_prob(z)
        phi_z = self.apply_net(params, "phi_z", z)
        log_px = self._emission(params, state, z, phi_z).log_prob(x_t)
        return StepOutput(self._update(params, state, z, phi_z, x_t), log_px, log_pz, log_qz)
