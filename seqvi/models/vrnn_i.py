"""VRNN-I: the VRNN with its learned prior p(z_t | h_t) replaced by N(0, I) (the
name the SRNN paper, Fraccaro et al. 2016, gives this baseline):

  p(z_t) = N(0, I)
  p(x_t | z_t, h_t),  q(z_t | h_t, x_t)   as in the VRNN
  h_{t+1} = RNN(h_t, [phi_x(x_t), phi_z(z_t)])   (an LSTM, or a GRU: cell_type)

The temporal structure of the latents lives only in the deterministic RNN, which
(unlike the thesis's VAE-RNN, ``seqvi.models.vae_rnn.VAERNN``) reads z_t and
feeds x_t's likelihood. Everything but the prior is inherited from
``seqvi.models.vrnn.VRNN`` (so filtering and smoothing proposals are available;
Res_q is not, since the prior mean is fixed at zero).
"""

import dataclasses

import jax.numpy as jnp

from seqvi.models.registry import register
from seqvi.models.vrnn import VRNN


@register("vrnn_i", test_size=dict(latent_dim=3, rnn_dim=6, hidden_dim=4))
@dataclasses.dataclass(frozen=True)
class VRNNI(VRNN):
    def __post_init__(self):
        super().__post_init__()
        if self.residual_q:
            raise ValueError("VRNNI.residual_q must be False: the prior mean is fixed at 0, so Res_q "
                             "would be the plain proposal")

    @property
    def nets(self) -> dict:
        nets = dict(super().nets)
        del nets["prior"]
        return nets

    def _prior_params(self, params, state, ctx_t=None):
        del params, ctx_t
        zeros = jnp.zeros((self.latent_dim,), self.hidden(state).dtype)
        return zeros, jnp.ones_like(zeros)
