"""SRNN: stochastic recurrent neural network (Fraccaro et al. 2016; thesis,
chapter 5), as a StepModel.

A deterministic layer of GRU states driven by u_t = x_{t-1} (centred; or its
features phi_x(x_{t-1}) with ``feature_dim``), and a stochastic layer on top of it:

  d_t = GRU(d_{t-1}, u_t)                                  (d_0 = 0, u_1 = 0 or phi_x(0))

  p(z_t | z_{t-1}, d_t) = N(mu_p, diag sigma_p^2)   from MLP([z_{t-1}, d_t])   (z_0 = 0)
  p(x_t | z_t, d_t)     = Bernoulli, diagonal Gaussian or GMM from MLP([z_t, d_t])

With ``input_dim`` k > 0 the model is conditioned on external inputs v_t (an
agent's actions, for example): u_t = [x_{t-1}, v_t], rows are [x_t, v_t], and
generation reads v_{1:T} (the thesis's models take any inputs u_{1:T}, section
3.1; for unconditional sequences SRNN's are u_t = x_{t-1}).

Inference follows the factorisation of the true posterior,
q(z_t | z_{t-1}, a_t) = N(mu_q, diag sigma_q^2) from MLP([z_{t-1}, a_t]):

  smoothing:  a_t = GRU_backward(a_{t+1}, [d_t, x_t])      (a summary of d_{t:T}, x_{t:T})
  filtering:  a_t = MLP([d_t, x_t])                          (feed-forward)
  Res_q:      mu_q = mu_p + residual(z_{t-1}, a_t)

With Res_q the KL term KL(q || p) at step t depends on the residual and the two
scales only, not on the predicted prior mean mu_p (thesis, section 5.3).

d_{1:T} and a_{1:T} depend on x only, so ``context`` computes both before the
particle scan; a particle's state is z_{t-1}. Because d_t is a function of the
observed x_{t-1}, SMC imputation of missing steps does not apply (``imputable``
is False): a sampled x_{t-1} would have to change d_t for each particle.
"""

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from seqvi import dist
from seqvi.models import parts
from seqvi.core import StepModel, StepOutput, check_emission_mode
from seqvi.models.parts import EMISSIONS, centre
from seqvi.nn import MLP, DiagGaussianHead, GRUCell, masked_scan
from seqvi.models.objectives import TrainedByBounds
from seqvi.models.registry import register

POSTERIORS = ("smoothing", "filtering")


@register("srnn", test_size=dict(latent_dim=3, rnn_dim=6, hidden_dim=4))
@dataclasses.dataclass(frozen=True)
class SRNN(parts.TakesInputs, TrainedByBounds, parts.Networks, StepModel):
    """Attributes:
      data_dim: D. latent_dim: size of z_t. rnn_dim: units of both GRUs (d_t, a_t).
      hidden_dim: hidden width of the prior, posterior and emission MLPs.
      emission_type: 'bernoulli', 'gaussian' or 'gmm'.
      emission_components: K of the 'gmm' emission (20 as in Chung et al. 2015).
      posterior_type: 'smoothing' (backward GRU) or 'filtering' (feed-forward).
      residual_q: Res_q parameterisation of the posterior mean.
      feature_dim: width of a feature network phi_x (one ReLU layer) shared by the
        generative and inference models, so that u_t = phi_x(x_{t-1}) and the
        posterior reads [d_t, phi_x(x_t)] (thesis, section 5.4's speech models);
        0: the raw (centred) x.
      input_dim: k, the size of external inputs v_t fed to the GRU beside x_{t-1}
        (0: none); rows are then [x_t, v_t].
    """

    data_dim: int
    latent_dim: int = 16
    rnn_dim: int = 32
    hidden_dim: int = 32
    emission_type: str = "bernoulli"
    emission_components: int = 20
    posterior_type: str = "smoothing"
    residual_q: bool = True
    feature_dim: int = 0
    input_dim: int = 0

    imputable: ClassVar[bool] = False

    def __post_init__(self):
        parts.check_config(
            "SRNN",
            {n: getattr(self, n) for n in ("data_dim", "latent_dim", "rnn_dim", "hidden_dim", "emission_components")},
            {"emission_type": (self.emission_type, EMISSIONS), "posterior_type": (self.posterior_type, POSTERIORS)},
        )
        if not isinstance(self.feature_dim, int) or isinstance(self.feature_dim, bool) or self.feature_dim < 0:
            raise ValueError(f"SRNN.feature_dim must be a non-negative int (0: raw x), got {self.feature_dim!r}")
        self.check_input_dim()

    @property
    def nets(self) -> dict:
        h, r = self.hidden_dim, self.rnn_dim
        nets = {
            "forward_rnn": GRUCell(r),
            "prior": DiagGaussianHead(self.latent_dim, hidden=(h,)),
            "posterior": DiagGaussianHead(self.latent_dim, hidden=(h,)),
            "emission": parts.emission_head(self.emission_type, self.data_dim, (h, h), self.emission_components),
        }
        if self.posterior_type == "smoothing":
            nets["backward_rnn"] = GRUCell(r)
        else:
            nets["filter_net"] = MLP((r,), activation=jnp.tanh)
        if self.feature_dim:
            nets["features"] = MLP((self.feature_dim,))
        return nets

    def init(self, key: jax.Array, data_mean: jax.Array | None = None) -> dict:
        d, r, z = self.data_dim, self.rnn_dim, self.latent_dim
        f = self.feature_dim or d
        zeros_r = jnp.zeros(r)
        example_inputs = {
            "features": (jnp.zeros(d),),
            "forward_rnn": (zeros_r, jnp.zeros(f + self.input_dim)),
            "backward_rnn": (zeros_r, jnp.zeros(r + f)),
            "filter_net": (jnp.zeros(r + f),),
            "prior": (jnp.zeros(z + r),),
            "posterior": (jnp.zeros(z + r),),
            "emission": (jnp.zeros(z + r),),
        }
        params = parts.init_nets(self.nets, example_inputs, key)
        return parts.with_constants(params, d, self.data_mean_of_x(data_mean), self.emission_type)


    # ---- StepModel --------------------------------------------------------------
    def initial_state(self, params) -> jax.Array:
        del params
        return jnp.zeros(self.latent_dim)

    def initial_context_carry(self, params) -> tuple[jax.Array, jax.Array]:
        """(d_0 = 0, x_0 = the training mean, which centres to 0: u_1 = 0, or phi_x(0))."""
        return jnp.zeros(self.rnn_dim), jax.lax.stop_gradient(params["constants"]["input_mean"])

    def context(self, params, xs, length, inputs=None) -> tuple[jax.Array, jax.Array]:
        """(d [T, R], a [T, R]): the deterministic states and the posterior's summaries."""
        return self.chunk_context(params, xs, length, inputs, self.initial_context_carry(params))[0]

    def chunk_context(self, params, xs, length, inputs, carry):
        """((d, a) of a chunk whose d_t continues from the carried (d_prev, x_prev),
        (d, x) at its last valid step). Smoothing's a_t summarises the chunk's
        future only (truncated at its end). With ``input_dim``, u_t = [x_{t-1}, v_t]
        from ``inputs`` v [T, k]."""
        d_prev, x_prev = carry
        x = self._features(params, centre(params, xs))
        u = jnp.concatenate([self._features(params, centre(params, x_prev)[None]), x[:-1]], 0)
        if self.input_dim:
            u = jnp.concatenate([u, self.checked_inputs(inputs, xs.shape[0]).astype(u.dtype)], -1)
        _, d = masked_scan(self.nets["forward_rnn"], params["forward_rnn"], u, initial_carry=d_prev)
        dx = jnp.concatenate([d, x], -1)
        if self.posterior_type == "smoothing":
            _, a = masked_scan(self.nets["backward_rnn"], params["backward_rnn"], dx, length, reverse=True)
        else:
            a = jax.vmap(lambda v: self.apply_net(params, "filter_net", v))(dx)
        last = jnp.maximum(length - 1, 0)  # the GRU's carry is its output
        carry = (jnp.where(length > 0, d[last], d_prev), jnp.where(length > 0, xs[last], x_prev))
        return (d, a), carry

    def _features(self, params, x: jax.Array) -> jax.Array:
        """phi_x of centred frames x [T, D] (x itself when ``feature_dim`` is 0)."""
        if not self.feature_dim:
            return x
        return jax.vmap(lambda v: self.apply_net(params, "features", v))(x)

    def _prior_params(self, params, z_prev, ctx_t):
        return self.apply_net(params, "prior", jnp.concatenate([z_prev, ctx_t[0]], -1))

    def _posterior_params(self, params, z_prev, ctx_t, prior_mean):
        mean, scale = self.apply_net(params, "posterior", jnp.concatenate([z_prev, ctx_t[1]], -1))
        return (prior_mean + mean if self.residual_q else mean), scale

    def prior(self, params, state, ctx_t):
        return dist.diag_gaussian(*self._prior_params(params, state, ctx_t))

    def proposal(self, params, state, ctx_t, x_t):
        del x_t  # in a_t already
        prior_mean = self._prior_params(params, state, ctx_t)[0] if self.residual_q else None
        return dist.diag_gaussian(*self._posterior_params(params, state, ctx_t, prior_mean))

    def emission(self, params, state, z_t, ctx_t):
        out = self.apply_net(params, "emission", jnp.concatenate([z_t, ctx_t[0]], -1))
        return parts.emission_distribution(self.emission_type, out)

    def update(self, params, state, z_t, x_t, ctx_t):
        return z_t

    def step_kl(self, params, state, ctx_t) -> jax.Array:
        """KL(q(z_t | z_{t-1}, a_t) || p(z_t | z_{t-1}, d_t)), analytically."""
        p_mean, p_scale = self._prior_params(params, state, ctx_t)
        q_mean, q_scale = self._posterior_params(params, state, ctx_t, p_mean)
        return dist.kl_diag_gaussians(q_mean, q_scale, p_mean, p_scale)

    def step(self, params, state, key, x_t, ctx_t) -> StepOutput:
        """The generic step with the prior head evaluated once (Res_q reuses it)."""
        p_mean, p_scale = self._prior_params(params, state, ctx_t)
        q_mean, q_scale = self._posterior_params(params, state, ctx_t, p_mean)
        z, log_qz = dist.diag_gaussian(q_mean, q_scale).sample_and_log_prob(seed=key)
        log_pz = dist.diag_gaussian(p_mean, p_scale).log_prob(z)
        log_px = self.emission(params, state, z, ctx_t).log_prob(x_t)
        return StepOutput(z, log_px, log_pz, log_qz)

    # ---- generation ------------------------------------------------------------------
    def _generate_from(self, params, key, num_steps, z_prev, d_prev, x_prev, emission_mode, inputs):
        """Ancestral sampling where d_t = GRU(d_{t-1}, [x_{t-1}, v_t]) follows the
        sampled x (v_t from ``inputs`` [num_steps, k], empty without inputs)."""
        check_emission_mode(emission_mode)

        def body(carry, scanned):
            key, v_t = scanned
            z_prev, d_prev, x_prev = carry
            u_t = jnp.concatenate([self._features(params, centre(params, x_prev)[None])[0], v_t.astype(d_prev.dtype)])
            d, _ = self.apply_net(params, "forward_rnn", d_prev, u_t)
            kz, kx = jax.random.split(key)
            z = self.prior(params, z_prev, (d, None)).sample(seed=kz)
            px = self.emission(params, z_prev, z, (d, None))
            x = (px.sample(seed=kx) if emission_mode == "sample" else px.mean()).astype(d.dtype)
            return (z, d, x), (x, z)

        scanned = (jax.random.split(key, num_steps), inputs)
        _, (xs, zs) = jax.lax.scan(body, (z_prev, d_prev, x_prev), scanned)
        return xs, zs

    def generate(self, params, key, num_steps, *, inputs=None, emission_mode="sample", state=None):
        """x_{1:num_steps}, z_{1:num_steps} from the generative model (from z_0 = 0,
        d_0 = 0, u_1 = 0 or phi_x(0) unless ``state`` = (z_prev, d_prev, x_prev) is given).
        The GRU reads the model's own x_{t-1}; ``inputs`` are the external v_{1:num_steps}
        [num_steps, k] with ``input_dim`` k > 0, and must be None without."""
        if not self.input_dim and inputs is not None:
            raise ValueError("SRNN without input_dim reads only its own previous outputs; generate takes inputs=None")
        inputs = (jnp.zeros((num_steps, 0)) if not self.input_dim
                  else jnp.asarray(self.checked_inputs(inputs, num_steps, "generates from")))
        if state is None:
            x0 = jax.lax.stop_gradient(params["constants"]["input_mean"])  # centres to 0 (u_1 = 0, or phi_x(0))
            state = (jnp.zeros(self.latent_dim), jnp.zeros(self.rnn_dim), x0)
        return self._generate_from(params, key, num_steps, *state, emission_mode, inputs)

    def continuation_state(self, params, state, xs, length, inputs=None):
        """(z_length, d_length, x_length): the particle's z with the deterministic
        state and the last observation, which the generation continues from
        (``inputs``: the prefix's v [T, k] with ``input_dim``)."""
        d, _ = self.context(params, xs, length, inputs)
        last = length - 1
        return state, d[last], xs[last]
