"""VRNN: variational recurrent neural network (Chung et al. 2015; Fraccaro's
thesis, section 4.4.2), as a StepModel.

With an RNN state h_t that has consumed (x_{<t}, z_{<t}) (an LSTM; a GRU with
``cell_type='gru'``):

  prior       p(z_t | h_t)        = N(mu_p(h_t), diag sigma_p(h_t)^2)
  proposal    q(z_t | h_t, x_t)   = N(mu_q, diag sigma_q^2) from [h_t, phi_x(x_t)]
              (smoothing: also the backward state b_t of an RNN over x_{t:T};
               Res_q: mu_q = mu_p(h_t) + residual, as in SRNN)
  emission    p(x_t | z_t, h_t)   = Bernoulli(logits) or N(mu, diag sigma^2)
              from [h_t, phi_z(z_t)]
  update      h_{t+1} = RNN(h_t, [phi_x(x_t - m), phi_z(z_t)])

where m is the (optional) training-data mean that centres the RNN's inputs.
With ``input_dim`` k > 0 the model is conditioned on inputs u_t (an agent's
actions, GTM-SM's baselines in the thesis's section 7.4): the prior and the
proposal also read u_t, p(z_t | h_t, u_t) and q(z_t | h_t, x_t, u_t) (with the
smoothing proposal, its backward states still read x_{t:T} alone), the RNN does
not; a data row holds [x_t, u_t] (``bound_batch`` splits it).
``params`` is a dict of the sub-networks' Flax params plus ``constants``
({'input_mean': [D]}), which is read through ``stop_gradient`` (so Adam leaves
it unchanged).
"""

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from seqvi import dist
from seqvi.models import parts
from seqvi.core import StepModel, StepOutput
from seqvi.models.parts import EMISSIONS, centre
from seqvi.nn import MLP, DiagGaussianHead, GRUCell, LSTMCell, masked_scan
from seqvi.models.objectives import TrainedByBounds
from seqvi.models.registry import register

PROPOSALS = ("filtering", "smoothing")
CELLS = {"lstm": LSTMCell, "gru": GRUCell}


@register("vrnn", test_size=dict(latent_dim=3, rnn_dim=6, hidden_dim=4))
@dataclasses.dataclass(frozen=True)
class VRNN(parts.TakesInputs, TrainedByBounds, parts.Networks, StepModel):
    """A VRNN for data of dimension ``data_dim``.

    Attributes:
      data_dim: D, the size of x_t.
      latent_dim: size of z_t.
      rnn_dim: RNN units (also the backward RNN's, for smoothing).
      cell_type: 'lstm' (Chung et al. 2015) or 'gru' (the VHRNN paper's appendix D,
        Figure 9), for the forward and the backward RNN.
      hidden_dim: width of phi_x, phi_z and of the heads' hidden layer.
      emission_type: 'bernoulli' (binary data), 'gaussian' or 'gmm' (real data).
      emission_components: K of the 'gmm' emission (20 as in Chung et al. 2015).
      posterior_type: 'filtering' q(z_t|h_t,x_t) or 'smoothing' q(z_t|h_t,x_{t:T}).
      residual_q: Res_q, the proposal mean as a residual on the prior mean.
      input_dim: k, the size of the inputs u_t (0: none); rows are then [x_t, u_t].
    """

    data_dim: int
    latent_dim: int = 32
    rnn_dim: int = 64
    hidden_dim: int = 64
    cell_type: str = "lstm"
    emission_type: str = "bernoulli"
    emission_components: int = 20
    posterior_type: str = "filtering"
    residual_q: bool = False
    input_dim: int = 0

    def __post_init__(self):
        parts.check_config(
            type(self).__name__,
            {n: getattr(self, n) for n in ("data_dim", "latent_dim", "rnn_dim", "hidden_dim", "emission_components")},
            {"emission_type": (self.emission_type, EMISSIONS), "posterior_type": (self.posterior_type, PROPOSALS),
             "cell_type": (self.cell_type, tuple(CELLS))},
        )
        self.check_input_dim()

    # ---- inputs u_t -------------------------------------------------------------
    def _inputs(self, ctx_t):
        """u_t from a step's context, as a tuple of extra head inputs (empty without inputs)."""
        return (ctx_t[1],) if self.input_dim else ()

    def _backward(self, ctx_t):
        return ctx_t[0] if self.input_dim else ctx_t

    # ---- networks -------------------------------------------------------------
    @property
    def nets(self) -> dict[str, Any]:
        h = self.hidden_dim
        nets = {
            "phi_x": MLP((h,)),
            "phi_z": MLP((h,)),
            "rnn": CELLS[self.cell_type](self.rnn_dim),
            "prior": DiagGaussianHead(self.latent_dim, hidden=(h,)),
            "proposal": DiagGaussianHead(self.latent_dim, hidden=(h,)),
            "emission": parts.emission_head(self.emission_type, self.data_dim, (h,), self.emission_components),
        }
        if self.posterior_type == "smoothing":
            nets["backward_rnn"] = CELLS[self.cell_type](self.rnn_dim)
        return nets

    def init(self, key: jax.Array, data_mean: jax.Array | None = None) -> dict:
        """Parameters. ``data_mean`` [D] (training mean of x; or of the rows [D + k]
        with inputs) centres the RNN's inputs and, for Bernoulli emissions, sets the
        output bias to logit(mean)."""
        d, h, r = self.data_dim, self.hidden_dim, self.rnn_dim
        data_mean = self.data_mean_of_x(data_mean)
        carry = self.nets["rnn"].zero_carry()
        u = (jnp.zeros(self.input_dim),) if self.input_dim else ()
        example_inputs = {
            "phi_x": (jnp.zeros(d),),
            "phi_z": (jnp.zeros(self.latent_dim),),
            "rnn": (carry, jnp.zeros(h), jnp.zeros(h)),
            "prior": (jnp.zeros(r),) + u,
            "proposal": (jnp.zeros(r), jnp.zeros(h)) + ((jnp.zeros(r),) if self.posterior_type == "smoothing" else ())
            + u,
            "emission": (jnp.zeros(r), jnp.zeros(h)),
            "backward_rnn": (carry, jnp.zeros(d)),
        }
        params = parts.init_nets(self.nets, example_inputs, key)
        return parts.with_constants(params, d, data_mean, self.emission_type)

    def hidden(self, state) -> jax.Array:
        """h_t [rnn_dim], the RNN output in a state (an LSTM's (c, h) or a GRU's h)."""
        return CELLS[self.cell_type].output(state)  # a static method: no networks built

    # ---- StepModel --------------------------------------------------------------
    def initial_state(self, params):
        """The RNN's zero carry: (c, h) for an LSTM, h for a GRU."""
        del params
        return self.nets["rnn"].zero_carry()

    def context(self, params, xs, length, inputs=None):
        """Smoothing: backward RNN states b_t over the centred x_{t:length}. With
        inputs: (those states or None, u_{1:T} [T, k])."""
        backward = None
        if self.posterior_type == "smoothing":
            backward = masked_scan(self.nets["backward_rnn"], params["backward_rnn"], centre(params, xs), length,
                                   reverse=True)[1]
        if not self.input_dim:
            return backward
        return backward, self.checked_inputs(inputs, xs.shape[0])

    def generation_context(self, params, inputs, num_steps):
        """(None, u_{1:num_steps}) with inputs; None without."""
        del params
        if not self.input_dim:
            return None
        return None, self.checked_inputs(inputs, num_steps, "generates from")

    def _prior_params(self, params, state, ctx_t=None):
        return self.apply_net(params, "prior", self.hidden(state), *self._inputs(ctx_t))

    def prior(self, params, state, ctx_t):
        return dist.diag_gaussian(*self._prior_params(params, state, ctx_t))

    def _phi_x(self, params, x_t):
        return self.apply_net(params, "phi_x", centre(params, x_t))

    def _proposal_params(self, params, state, ctx_t, phi_x, prior_mean=None):
        feats = [self.hidden(state), phi_x]
        if self.posterior_type == "smoothing":
            feats.append(self._backward(ctx_t))
        mean, scale = self.apply_net(params, "proposal", *feats, *self._inputs(ctx_t))
        if self.residual_q:
            if prior_mean is None:
                prior_mean = self._prior_params(params, state, ctx_t)[0]
            mean = prior_mean + mean
        return mean, scale

    def proposal(self, params, state, ctx_t, x_t):
        return dist.diag_gaussian(*self._proposal_params(params, state, ctx_t, self._phi_x(params, x_t)))

    def _emission(self, params, state, phi_z):
        out = self.apply_net(params, "emission", self.hidden(state), phi_z)
        return parts.emission_distribution(self.emission_type, out)

    def emission(self, params, state, z_t, ctx_t):
        del ctx_t
        return self._emission(params, state, self.apply_net(params, "phi_z", z_t))

    def _update(self, params, state, phi_z, phi_x):
        carry, _ = self.apply_net(params, "rnn", state, phi_x, phi_z)
        return carry

    def update(self, params, state, z_t, x_t, ctx_t):
        del ctx_t
        return self._update(params, state, self.apply_net(params, "phi_z", z_t), self._phi_x(params, x_t))

    def step(self, params, state, key, x_t, ctx_t) -> StepOutput:
        """The generic step, computing the prior, phi_z(z_t) and phi_x(x_t) once.

        The layers that take phi_x(x_t) with a particle's state (the proposal's
        first layer and the RNN's input) receive them as separate parts, so
        under the particle ``vmap`` phi_x(x_t) W is computed once per sequence."""
        prior_mean, prior_scale = self._prior_params(params, state, ctx_t)
        phi_x = self._phi_x(params, x_t)
        q_mean, q_scale = self._proposal_params(params, state, ctx_t, phi_x, prior_mean)
        z, log_qz = dist.diag_gaussian(q_mean, q_scale).sample_and_log_prob(seed=key)
        log_pz = dist.diag_gaussian(prior_mean, prior_scale).log_prob(z)
        phi_z = self.apply_net(params, "phi_z", z)
        log_px = self._emission(params, state, phi_z).log_prob(x_t)
        return StepOutput(self._update(params, state, phi_z, phi_x), log_px, log_pz, log_qz)

