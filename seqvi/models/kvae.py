"""KVAE: the Kalman variational auto-encoder (Fraccaro's thesis, chapter 6).

Two layers of latents: a VAE maps each frame x_t to a low-dimensional a_t, and
a linear-Gaussian state-space model (LGSSM) with states z_t is the prior over
a_{1:T}:

  q(a_t | x_t)      = N(mu(x_t), diag sigma(x_t)^2)                 (encoder)
  p(x_t | a_t)      = prod_pixels Bernoulli(logits(a_t))             (decoder)
                      or N(sigmoid(logits(a_t)), pixel_scale^2 I) for grey pixels
  p(z_1)            = N(0, s_0 I)
  p(z_t | z_{t-1})  = N(A_t z_{t-1} + B_t u_t, Q),   p(a_t | z_t) = N(C_t z_t, R)

with the dynamics parameter network: an LSTM over a_{1:t-1} whose softmax
output alpha_t mixes K learned matrices,
A_t = sum_k alpha_t^k A^(k) (likewise B_t, C_t). Given a, the prior is a
time-varying LGSSM, so p(z | a, u) is exact (Kalman smoothing) and the ELBO is
(eq. 6.8)

  L = E_{q(a|x)} E_{p(z|a,u)} [ w sum_t log p(x_t|a_t) - sum_t log q(a_t|x_t)
                                + log p(a|z) + log p(z|u) - log p(z|a,u) ]

with w = 1 (the bound) or 0.3 while training (section 6.8). The z-terms equal
log p(a | u) for every z; ``lgssm_estimator='exact'`` uses that value (from the
Kalman filter) instead of a sample of z.

Missing frames (mask False; section 6.10) have no a_t: they drop out of the
reconstruction and entropy terms and of the Kalman updates, and the dynamics
network is fed the recursive estimate a_t = C_t E[z_t | a_{<t}] instead
(section 6.4), so alpha_t stays defined.
"""

import dataclasses
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from seqvi import dist
from seqvi.core import check_emission_mode
from seqvi.models import parts
from seqvi.nn import MLP, BernoulliHead, DiagGaussianHead, LSTMCell
from seqvi.nn.conv import ConvEncoder, SubPixelDecoder
from seqvi.nn.heads import logit
from seqvi.ssm import gaussian, lgssm
from seqvi.models.registry import register
from seqvi.core import ObjectiveOptions
from seqvi.models.objectives import OwnELBOObjective, check_bound

NETWORKS = ("mlp", "conv")
ESTIMATORS = ("sampled", "exact")
EMISSIONS = ("bernoulli", "gaussian")


class DynamicsParameterNetwork(nn.Module):
    """alpha_t = softmax(W h_t + b) from the LSTM state h_t that has read a_{<t};
    one step: (carry, a_{t}) -> next carry. ``alpha(carry)`` reads the weights."""

    num_matrices: int
    features: int

    def setup(self):
        self.lstm = LSTMCell(self.features)
        self.out = nn.Dense(self.num_matrices)

    def __call__(self, carry, a_t):
        return self.lstm(carry, a_t)[0], self.alpha(carry)

    def alpha(self, carry) -> jax.Array:
        return jax.nn.softmax(self.out(carry[1]))


class Dynamics(NamedTuple):
    """The time-varying LGSSM that alpha_{1:T} selects, and the inputs the
    dynamics network read (a_t where observed, its estimate elsewhere)."""

    alpha: jax.Array  # [T, K]
    transition_matrix: jax.Array  # [T, n, n]
    input_matrix: jax.Array | None  # [T, n, k]
    emission_matrix: jax.Array  # [T, m, n]
    network_inputs: jax.Array  # [T, m]


@register("kvae", test_size=dict(image_size=4, a_dim=2, latent_dim=2, num_matrices=2, hidden_dim=6, alpha_rnn_dim=4),
          dim_arg=None)
@dataclasses.dataclass(frozen=True)
class KVAE(parts.Networks):
    """A KVAE for square binary (or, with emission_type 'gaussian', grey) frames of ``image_size``
    pixels a side, flattened.

    Attributes:
      image_size: H = W; observations are [H * W].
      a_dim: m, size of a_t.  latent_dim: n, size of z_t.  input_dim: k, size of u_t (0: none).
      num_matrices: K.  network: 'mlp' or 'conv' (3 stride-2 convolutions of 32
        filters; sub-pixel decoder).  hidden_dim: MLP widths (two layers).
      alpha_rnn_dim: units of the dynamics parameter network's LSTM.
      transition_noise, emission_noise, initial_scale: Q = q I, R = r I, p(z_1) = N(0, s_0 I).
      recon_weight: w in the training loss (the bound itself uses w = 1).
      lgssm_estimator: 'sampled' (z ~ p(z | a, u), as in the thesis) or 'exact' (log p(a | u)).
      emission_type: 'bernoulli' (binary frames, the thesis's) or 'gaussian', N(sigmoid(logits),
        pixel_scale^2 I), for grey pixels in [0, 1] (GTM-SM's image navigation).
    """

    image_size: int = 32
    a_dim: int = 2
    latent_dim: int = 4
    input_dim: int = 0
    num_matrices: int = 3
    network: str = "mlp"
    hidden_dim: int = 128
    alpha_rnn_dim: int = 50
    transition_noise: float = 0.08
    emission_noise: float = 0.03
    initial_scale: float = 20.0
    recon_weight: float = 0.3
    lgssm_estimator: str = "sampled"
    emission_type: str = "bernoulli"
    pixel_scale: float = 0.1

    def __post_init__(self):
        sizes = ("image_size", "a_dim", "latent_dim", "num_matrices", "hidden_dim", "alpha_rnn_dim")
        parts.check_config(
            "KVAE",
            {n: getattr(self, n) for n in sizes},
            {"network": (self.network, NETWORKS), "lgssm_estimator": (self.lgssm_estimator, ESTIMATORS),
             "emission_type": (self.emission_type, EMISSIONS)},
        )
        if not isinstance(self.input_dim, int) or self.input_dim < 0:
            raise ValueError(f"KVAE.input_dim must be a non-negative int, got {self.input_dim!r}")
        for name in ("transition_noise", "emission_noise", "initial_scale", "recon_weight", "pixel_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"KVAE.{name} must be positive, got {getattr(self, name)!r}")
        if self.network == "conv" and self.image_size % 8:
            raise ValueError(f"KVAE.image_size must be a multiple of 8 for the conv network, got {self.image_size}")

    @property
    def data_dim(self) -> int:
        """H * W, the pixels of a frame."""
        return self.image_size * self.image_size

    def objective(self, options: ObjectiveOptions = ObjectiveOptions(bound="elbo")) -> OwnELBOObjective:
        """The KVAE's own ELBO (eq. 6.8; reconstruction weighted by ``recon_weight``
        while training), the prior terms annealed over ``options.kl_anneal_steps``."""
        check_bound("KVAE", options.bound, ("elbo",))
        return OwnELBOObjective(self, options.kl_anneal_steps)

    @property
    def row_dim(self) -> int:
        """H * W + k: a data row holds a frame's pixels, then its inputs u_t."""
        return self.data_dim + self.input_dim

    def split_rows(self, rows: jax.Array) -> tuple[jax.Array, jax.Array | None]:
        """rows [..., H * W + k] -> (frames [..., H * W], inputs [..., k] or None)."""
        if rows.shape[-1] != self.row_dim:
            raise ValueError(f"rows must have H * W + k = {self.row_dim} entries, got {rows.shape[-1]}")
        return rows[..., : self.data_dim], (rows[..., self.data_dim:] if self.input_dim else None)

    @property
    def nets(self) -> dict[str, nn.Module]:
        if self.network == "conv":
            encoder = ConvEncoder(self.image_size, self.a_dim)
            decoder = SubPixelDecoder(self.image_size)
        else:
            encoder = nn.Sequential([MLP((self.hidden_dim, self.hidden_dim)), DiagGaussianHead(self.a_dim)])
            decoder = BernoulliHead(self.data_dim, hidden=(self.hidden_dim, self.hidden_dim))
        return {"encoder": encoder, "decoder": decoder,
                "alpha": DynamicsParameterNetwork(self.num_matrices, self.alpha_rnn_dim)}

    def init(self, key: jax.Array, data_mean: jax.Array | None = None) -> dict:
        """Parameters: the networks', and 'lgssm' = {A [K, n, n] = I, C [K, m, n] ~
        N(0, 0.05^2), and with inputs B [K, n, k] = 0}. ``data_mean`` [H * W] (the training mean
        of the pixels, or of whole rows) starts the MLP decoder's output bias at logit(mean)."""
        k_nets, k_c = jax.random.split(key)
        nets = self.nets
        carry = LSTMCell(self.alpha_rnn_dim).zero_carry()
        example = {"encoder": (jnp.zeros(self.data_dim),), "decoder": (jnp.zeros(self.a_dim),),
                   "alpha": (carry, jnp.zeros(self.a_dim))}
        params = parts.init_nets(nets, example, k_nets)
        kk, n, m = self.num_matrices, self.latent_dim, self.a_dim
        params["lgssm"] = {"A": jnp.tile(jnp.eye(n), (kk, 1, 1)), "C": 0.05 * jax.random.normal(k_c, (kk, m, n))}
        if self.input_dim:
            params["lgssm"]["B"] = jnp.zeros((kk, n, self.input_dim))
        if data_mean is not None and self.network == "mlp":
            pixels = jnp.asarray(data_mean, jnp.float32)[: self.data_dim]
            params["decoder"]["params"]["logits"]["bias"] = logit(pixels)
        return params

    # ---- the VAE ------------------------------------------------------------------
    def encode(self, params, frames: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(mean, scale) of q(a_t | x_t) for frames [T, H * W]: each [T, m]."""
        return jax.vmap(lambda x: self.apply_net(params, "encoder", x))(frames)

    def decode(self, params, a: jax.Array) -> jax.Array:
        """Logits of p(x_t | a_t) for a [T, m]: [T, H * W] (the pixel means are their sigmoid)."""
        return jax.vmap(lambda v: self.apply_net(params, "decoder", v))(a)

    def frame_log_prob(self, params, a: jax.Array, frames: jax.Array) -> jax.Array:
        """log p(x_t | a_t) [T] of frames [T, H * W] under ``emission_type``."""
        logits = self.decode(params, a)
        if self.emission_type == "bernoulli":
            return dist.bernoulli(logits).log_prob(frames)
        return dist.diag_gaussian(jax.nn.sigmoid(logits), jnp.full(logits.shape, self.pixel_scale)).log_prob(frames)

    # ---- the LGSSM prior ------------------------------------------------------------
    def mix(self, params, alpha: jax.Array):
        """(A, B, C) = sum_k alpha^k (A^(k), B^(k), C^(k)) for alpha [K] (B is
        [n, 0] without inputs)."""
        g = params["lgssm"]
        b = g.get("B", jnp.zeros((self.num_matrices, self.latent_dim, 0), alpha.dtype))
        return tuple(jnp.tensordot(alpha, x, axes=1) for x in (g["A"], b, g["C"]))

    def _noise(self, dtype=jnp.float32):
        q = self.transition_noise * jnp.eye(self.latent_dim, dtype=dtype)
        r = self.emission_noise * jnp.eye(self.a_dim, dtype=dtype)
        return q, r

    def dynamics(self, params, a: jax.Array, mask: jax.Array, inputs: jax.Array | None = None) -> Dynamics:
        """Run the dynamics network along a [T, m] (missing steps, mask False, are fed
        a_t = C_t E[z_t | a_{<t}] from a Kalman filter run alongside)."""
        num_steps = a.shape[0]
        q, r = self._noise(a.dtype)
        u = jnp.zeros((num_steps, self.input_dim), a.dtype) if inputs is None else inputs
        net = self.nets["alpha"]
        carry0 = (LSTMCell(self.alpha_rnn_dim).zero_carry(a.dtype), jnp.zeros(self.latent_dim, a.dtype),
                  self.initial_scale * jnp.eye(self.latent_dim, dtype=a.dtype))

        def body(carry, inp):
            lstm_carry, m_prev, p_prev = carry
            t, a_t, u_t, mask_t = inp
            alpha = net.apply(params["alpha"], lstm_carry, method="alpha")
            a_mat, b_mat, c_mat = self.mix(params, alpha)
            first = t == 0
            m_pred = jnp.where(first, m_prev, a_mat @ m_prev + b_mat @ u_t)
            p_pred = jnp.where(first, p_prev, gaussian.symmetrise(a_mat @ p_prev @ a_mat.T + q))
            m_filt, p_filt, _ = gaussian.condition_linear(
                m_pred, p_pred, c_mat, r, a_t - c_mat @ m_pred, jnp.broadcast_to(mask_t, (self.a_dim,))
            )
            net_in = jnp.where(mask_t, a_t, c_mat @ m_filt)
            lstm_carry, _ = net.apply(params["alpha"], lstm_carry, net_in)
            return (lstm_carry, m_filt, p_filt), (alpha, a_mat, b_mat, c_mat, net_in)

        steps = (jnp.arange(num_steps), jnp.where(mask[:, None], a, 0.0), u, mask)
        _, (alpha, a_mats, b_mats, c_mats, net_in) = jax.lax.scan(body, carry0, steps)
        return Dynamics(alpha, a_mats, b_mats if self.input_dim else None, c_mats, net_in)

    def prior_lgssm(self, dyn: Dynamics, dtype=jnp.float32) -> lgssm.Params:
        """The time-varying LGSSM over a_{1:T} that ``dyn`` selects."""
        q, r = self._noise(dtype)
        return lgssm.Params(
            initial_mean=jnp.zeros(self.latent_dim, dtype),
            initial_cov=self.initial_scale * jnp.eye(self.latent_dim, dtype=dtype),
            transition_matrix=dyn.transition_matrix,
            transition_cov=q,
            emission_matrix=dyn.emission_matrix,
            emission_cov=r,
            input_matrix=dyn.input_matrix,
        )

    def lgssm_terms(self, params, a, mask, key, inputs=None) -> dict[str, jax.Array]:
        """The z-terms of the ELBO for one sampled a [T, m]: log p(a|z), log p(z|u)
        and log p(z|a,u) at one z ~ p(z|a,u), and log p(a|u) (Kalman filter)."""
        dyn = self.dynamics(params, a, mask, inputs)
        prior = self.prior_lgssm(dyn, a.dtype)
        a_obs = jnp.where(mask[:, None], a, 0.0)
        draw = lgssm.posterior_draw(key, prior, a_obs, inputs, mask)
        z = draw.path
        q, r = self._noise(a.dtype)
        chol_q, chol_r = jnp.linalg.cholesky(q), jnp.linalg.cholesky(r)
        emit = jax.vmap(lambda res: gaussian.log_density_chol(res, chol_r))(
            a_obs - jnp.einsum("tmn,tn->tm", dyn.emission_matrix, z)
        )
        predicted = jnp.einsum("tij,tj->ti", dyn.transition_matrix[1:], z[:-1])
        if dyn.input_matrix is not None:
            predicted = predicted + jnp.einsum("tij,tj->ti", dyn.input_matrix[1:], inputs[1:])
        move = jax.vmap(lambda res: gaussian.log_density_chol(res, chol_q))(z[1:] - predicted)
        first = gaussian.log_density_chol(z[0] - prior.initial_mean, jnp.linalg.cholesky(prior.initial_cov))
        return {
            "log_p_a_given_z": jnp.sum(jnp.where(mask, emit, 0.0)),
            "log_p_z": first + jnp.sum(move),
            "log_p_z_given_a": draw.log_prob,
            "log_p_a": draw.log_likelihood,
        }

    # ---- the bound ------------------------------------------------------------------
    def elbo(self, params, frames, mask, key, inputs=None, recon_weight: float = 1.0,
             kl_weight: float = 1.0) -> tuple[jax.Array, dict]:
        """One-sample estimate of the ELBO (eq. 6.8) of frames [T, H * W] with mask [T]
        (True: observed), and its terms. ``recon_weight`` w scales the
        reconstruction term and ``kl_weight`` beta the rest, -log q(a|x) + log p(a|u)
        (both 1 for the bound)."""
        k_a, k_z = jax.random.split(key)
        mean, scale = self.encode(params, frames)
        q_a = dist.diag_gaussian(mean, scale)
        a = q_a.sample(seed=k_a)
        recon = jnp.sum(jnp.where(mask, self.frame_log_prob(params, a, frames), 0.0))
        log_q = jnp.sum(jnp.where(mask, q_a.log_prob(a), 0.0))
        z_terms = self.lgssm_terms(params, a, mask, k_z, inputs)
        if self.lgssm_estimator == "exact":
            prior_term = z_terms["log_p_a"]
        else:
            prior_term = z_terms["log_p_a_given_z"] + z_terms["log_p_z"] - z_terms["log_p_z_given_a"]
        value = recon_weight * recon + kl_weight * (prior_term - log_q)
        return value, dict(z_terms, recon=recon, log_q_a=log_q, lgssm=prior_term)

    def loss(self, params, batch: dict, key: jax.Array, recon_weight: float | None = None,
             kl_weight: float = 1.0):
        """The trainer's loss: -(sum_b ELBO_b) / (number of observed frames), with
        the training reconstruction weight and the annealing weight ``kl_weight``
        (see ``elbo``). ``batch``: 'xs' [B, T, H * W + k] rows (frames, then
        inputs), 'lengths' [B] and an optional 'mask' [B, T]."""
        xs, inputs = self.split_rows(batch["xs"])
        lengths = batch["lengths"]
        mask = jnp.arange(xs.shape[1])[None, :] < lengths[:, None]
        if "mask" in batch:
            mask = mask & batch["mask"].astype(bool)
        weight = self.recon_weight if recon_weight is None else recon_weight
        keys = jax.random.split(key, xs.shape[0])
        fn = lambda x, mk, k, u: self.elbo(params, x, mk, k, u, weight, kl_weight)  # noqa: E731
        values, terms = jax.vmap(fn, in_axes=(0, 0, 0, None if inputs is None else 0))(xs, mask, keys, inputs)
        frames = jnp.maximum(jnp.sum(mask), 1)
        metrics = {f"{k}_per_frame": jnp.sum(v) / frames for k, v in terms.items()}
        bound = terms["recon"] - terms["log_q_a"] + terms["lgssm"]  # the ELBO itself (w = 1)
        metrics["elbo_per_frame"] = jnp.sum(bound) / frames
        return -jnp.sum(values) / frames, metrics

    # ---- imputation and generation (section 6.4) --------------------------------------
    def posterior_states(self, params, frames, mask, inputs=None, method: str = "smoothing"
                         ) -> tuple[jax.Array, jax.Array]:
        """(E[z_t | .] of shape [T, n], a of shape [T, m]) given the observed frames [T, H * W] (mask [T],
        True: observed): encode them (mean of q), infer z by Kalman filtering or
        smoothing under the dynamics that the observed a and the recursive estimates
        select; a_t is the code where observed and C_t E[z_t | .] elsewhere.

        Raises:
          ValueError: ``method`` is neither 'filtering' nor 'smoothing'.
        """
        if method not in ("filtering", "smoothing"):
            raise ValueError(f"method must be 'filtering' or 'smoothing', got {method!r}")
        a, _ = self.encode(params, frames)
        a = jnp.where(mask[:, None], a, 0.0)
        dyn = self.dynamics(params, a, mask, inputs)
        prior = self.prior_lgssm(dyn, a.dtype)
        if method == "filtering":
            z = lgssm.filter(prior, a, inputs, mask).filtered_means
        else:
            z = lgssm.smoother(prior, a, inputs, mask).smoothed_means
        a_hat = jnp.einsum("tmn,tn->tm", dyn.emission_matrix, z)
        return z, jnp.where(mask[:, None], a, a_hat)

    def impute(self, params, frames, mask, inputs=None, method: str = "smoothing") -> jax.Array:
        """Pixel means [T, H * W] of every frame given the observed ones: the
        decoded a_t of ``posterior_states`` (section 6.4)."""
        return jax.nn.sigmoid(self.decode(params, self.posterior_states(params, frames, mask, inputs, method)[1]))

    def generate(self, params, key, num_steps: int, *, inputs=None, emission_mode: str = "sample"
                 ) -> tuple[jax.Array, jax.Array]:
        """(frames [num_steps, H * W], a [num_steps, m]) from the prior: z_1 ~ p(z_1),
        a_t ~ N(C_t z_t, R), alpha_{t+1} from the a drawn so far, z_{t+1} ~ p(z_{t+1} | z_t),
        then pixels x_t ~ p(x_t | a_t) ('sample') or their means ('mean').
        ``inputs``: u [num_steps, k] (zeros if None)."""
        check_emission_mode(emission_mode)
        net = self.nets["alpha"]
        u = jnp.zeros((num_steps, self.input_dim)) if inputs is None else inputs
        k0, key = jax.random.split(key)
        z0 = jnp.sqrt(self.initial_scale) * jax.random.normal(k0, (self.latent_dim,))
        sd_a, sd_z = jnp.sqrt(self.emission_noise), jnp.sqrt(self.transition_noise)  # R = r I, Q = q I

        def body(carry, inp):
            lstm_carry, alpha, z_t = carry  # alpha_t has read a_{<t}
            k, u_next = inp
            k_a, k_z = jax.random.split(k)
            a_t = self.mix(params, alpha)[2] @ z_t + sd_a * jax.random.normal(k_a, (self.a_dim,))
            lstm_carry, _ = net.apply(params["alpha"], lstm_carry, a_t)
            alpha = net.apply(params["alpha"], lstm_carry, method="alpha")
            a_mat, b_mat, _ = self.mix(params, alpha)
            z_next = a_mat @ z_t + b_mat @ u_next + sd_z * jax.random.normal(k_z, (self.latent_dim,))
            return (lstm_carry, alpha, z_next), a_t

        u_next = jnp.concatenate([u[1:], u[-1:]])
        lstm0 = LSTMCell(self.alpha_rnn_dim).zero_carry()
        carry0 = (lstm0, net.apply(params["alpha"], lstm0, method="alpha"), z0)
        k_scan, k_x = jax.random.split(key)
        _, a = jax.lax.scan(body, carry0, (jax.random.split(k_scan, num_steps), u_next))
        probs = jax.nn.sigmoid(self.decode(params, a))
        if emission_mode == "mean":
            return probs, a
        if self.emission_type == "gaussian":
            return probs + self.pixel_scale * jax.random.normal(k_x, probs.shape, probs.dtype), a
        return jax.random.bernoulli(k_x, probs).astype(probs.dtype), a
