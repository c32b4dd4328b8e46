"""GTM-SM, the generative temporal model with spatial memory (thesis, chapter 7:
section 7.3 for the model, 7.4.1 and 7.7.1 for image navigation, 7.4.2 and 7.7.2
for first-person 3-D navigation), for the environments of ``seqvi.data.navigation``
and ``seqvi.data.first_person``.

A sequence of T steps holds frames x_t and the actions a_t that led to them;
the first tau (``memory_length``) steps are memorised, the rest predicted.

  states       'walls' (image navigation):
               s_t = s_{t-1} + M a_t * sigma_d(s_{t-1} + M a_t) + eps_t     (eq. 7.3)
               M [A, S] learned; sigma_d in (0, 1) an MLP that learns the walls
               (``wall_whitening``: it reads (s_{t-1} + M a_t) W, ``move_whitening``);
               'rotation' (3-D agents; S = 3, actions act in the agent's frame):
               s_t = s_{t-1} + R(s^(3)_{t-1}) M a_t + eps_t,                (eq. 7.4)
               R(theta) the rotation by theta of the first two components;
               'walking' (the walking agent, section 7.4.2.2; S = 3): a velocity
               recursion with momentum and saturation,
               d_t = c_s * tanh(sigmoid(c_f) * d_{t-1} + M a_t),  d_0 = 0,
               s_t = s_{t-1} + R(s^(3)_{t-1}) d_t + eps_t,
               c_s, c_f [S] learned; with ``displacement_weight`` lambda > 0 the rows
               carry the true displacements d*_t in the agent's frame (a target
               only, never an input) and training minimises
               -(KL-annealed ELBO) / frames + lambda * mean_{t >= 2} ||d_t - d*_t||^2;
               all with eps_t ~ N(0, r^2 I), s_0 = 0
  frames       p(x_t | z_t) = N(sigmoid(f(z_t)), ``pixel_scale``^2 I) over the view's
               pixels in [0, 1] ('gaussian'), or Bernoulli(sigmoid(f(z_t)))
               ('bernoulli'); q(z_t | x_t) diagonal Gaussian (a per-frame VAE,
               latent ``latent_dim``). With grey pixels the Bernoulli likelihood
               rewards encoding so little that q collapsed to the prior in our runs
               (KL 2 nats per frame, no localisation learned)
  memory       the DND of (key k(s_i), value (mean, scale) of q(z_i | x_i)), i <= tau,
               the s_i one ancestral sample of p*(s_i) (section 7.3.3); k(s) = s,
               or [s1, s2, cos s3, sin s3] for 'rotation' and 'walking' (the heading's
               periodicity, section 7.7.2; without the optional linear layer)
  prior        p(z_t | s_t, m) = sum_k w_k N(z_t; mu^(k), sigma^(k)), the K nearest
               keys to s_t, w_k proportional to 1 / (d_k^2 + delta), delta
               ``mixture_delta`` (1e-4 in the thesis)                     (section 7.4.1)
               ('memory'); for 3-D scenes ('network', section 7.7.2)
               h_t = f({k(s_i) - k(s_t), mean_i, scale_i}_{k=1..K}) an MLP of the K
               entries read (their keys relative to the query's), and
               p(z_t | s_t, m) = N(mu(h_t, k(s_t)), sigma(h_t, k(s_t)));
               the ablation 'state' has no memory:
               p(z_t | s_t) = N(mu(s_t), sigma(s_t)), an MLP of s_t alone
  ELBO         sum_{t > tau} E_q[log p(x_t | z_t)] - E_{p*(s_t)} KL[q(z_t | x_t) || p(z_t | s_t, m)]
               (section 7.3.4), one reparameterised sample of s_{1:T} and of each
               z_t; the KL to the mixture has no closed form and is estimated by
               log q(z_t | x_t) - log p(z_t | s_t, m) at that sample (to the
               'network' and 'state' priors' Gaussians, exactly).

Landmark inference (``state_inference='landmark'``, section 7.10): for t > tau the
states are inferred, not only sampled from the transition,
  q(s_t | s_{t-1}, a_t, z_t, m) = N(mu_q, diag sigma_q^2),
  mu_q = mu_p + sum_k beta_k (mu_k - mu_p),  beta_k = sigmoid(g(delta_k)) in [0, 1]
  log sigma_q^2 = log sigma_p^2 + h(delta_{1:K'}, sigma^2_{1:K'}, sigma_p^2)
with (mu_p, sigma_p^2 = r^2) the transition p(s_t | s_{t-1}, a_t), and (delta_k, mu_k,
sigma_k^2) the K' (``landmark_neighbours``) entries of the reversed DND nearest to
z_t: keys the means of q(z_i | x_i), values the memorised states s_i, i <= tau.
Two choices the thesis leaves open: the reversed DND holds the first tau steps only
(the thesis's q*(s_t) reads m_{1:t-1}, growing with t), and since the memorised s_i
are one ancestral sample, not Gaussians, each entry's sigma_k^2 is set to r^2 (the
one-step transition variance; it is not the variance of s_i), so h learns from the
distances delta alone. The beta_k are independent gates, so with K' > 1 their sum
may exceed 1 and mu_q may pass beyond every mu_k, as the thesis's formula allows.
The ELBO gains the states' KL,
  - sum_{t > tau} E[KL[q(s_t | s_{t-1}, a_t, z_t, m) || p(s_t | s_{t-1}, a_t)]]
(exact between the two Gaussians, at one sample of s_{t-1}). The z-prior is read at
the inferred s_t, which depends on z_t, so its KL is estimated by log q(z_t | x_t) -
log p(z_t | s_t, m) at the sample for every prior kind. Prediction is unchanged: it
has no frames to infer from.

The top-K choice is piecewise constant (no gradient); the distances, the keys
and the values read are differentiable, so M, sigma_d and the encoder learn
through the memory. Prediction (``predict``) runs the transition's mean from the
memorised states and decodes the prior's mean (sum_k w_k mu^(k) for the mixture).

Rows: [x_t (``frame_dim`` pixels), a_t (one-hot), and with ``displacement_weight``
> 0 the true d*_t]; the batch's ``lengths`` must exceed tau.
"""

import dataclasses
from typing import ClassVar, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from seqvi import dist
from seqvi.core import ObjectiveOptions
from seqvi.models import parts
from seqvi.models.objectives import OwnELBOObjective, check_bound
from seqvi.models.registry import register
from seqvi.nn import BernoulliHead, DiagGaussianHead, MLP, dnd

PRIORS = ("memory", "network", "state")
TRANSITIONS = ("walls", "rotation", "walking")
STATE_INFERENCES = ("transition", "landmark")
EMISSIONS = ("gaussian", "bernoulli")


def rotate(angle: Float[Array, ""], displacement: Float[Array, " 3"]) -> Float[Array, " 3"]:
    """R(angle) displacement, R rotating the first two components by ``angle``
    (radians) and keeping the third (eq. 7.4)."""
    c, s = jnp.cos(angle), jnp.sin(angle)
    return jnp.stack([c * displacement[0] - s * displacement[1], s * displacement[0] + c * displacement[1],
                      displacement[2]])


class Prediction(NamedTuple):
    states: Float[Array, "T S"]  # the memorised states' sample, then the transition's mean
    frames: Float[Array, "T P"]  # predicted pixel means for t > tau (the input frames for t <= tau)


@dataclasses.dataclass(frozen=True)
class GTMSMObjective(OwnELBOObjective):
    """The ELBO per predicted frame (section 7.3.4), as ``model.loss``, with the KL
    annealed; evaluation counts the predicted frames only (t > tau)."""

    def eval_terms(self, params, batch, key):
        elbo, frames = jax.vmap(lambda xs, n, k: self.model.sequence_elbo(params, xs, n, k)[:2])(
            batch["xs"], batch["lengths"], jax.random.split(key, batch["xs"].shape[0]))
        return {"elbo": elbo, "num_frames": frames, "num_sequences": (batch["lengths"] > 0).astype(jnp.float32)}

    @property
    def label(self) -> str:
        return "ELBO(1) of the predicted frames"


@register("gtmsm", test_size=dict(num_actions=2, latent_dim=3, hidden=(8,), memory_length=3, num_neighbours=2,
                                   wall_hidden=4))
@dataclasses.dataclass(frozen=True)
class GTMSM(parts.Networks):
    """Attributes: data_dim (pixels + num_actions per row); num_actions; latent_dim
    (z, 16 in the thesis); state_dim (s, 2); hidden (the VAE's MLP widths);
    memory_length (tau); num_neighbours (K, 5); transition_noise (r, 1e-3);
    prior_type ('memory', 'network' or the memory-less ablation 'state'); wall_hidden
    (sigma_d's width); emission_type ('gaussian' with ``pixel_scale``, or 'bernoulli');
    transition_type ('walls', eq. 7.3; 'rotation', eq. 7.4 with state_dim 3;
    'walking', section 7.4.2.2's velocity recursion, state_dim 3);
    displacement_init (M's initial scale); displacement_weight (lambda of the
    walking agent's displacement regression; > 0: rows end with d*_t);
    mixture_delta (delta in the mixture prior's weights, 1e-4 in the thesis);
    wall_whitening (sigma_d reads the projected position in units of the moves,
    ``move_whitening``; 'walls' only; a choice, not the thesis's);
    prior_hidden (the width of the 'network' prior's layers); state_inference
    ('transition': s_t from p(s_t | s_{t-1}, a_t), eq. 7.2; 'landmark': section
    7.10's q(s_t | s_{t-1}, a_t, z_t, m)) with landmark_neighbours (K') and
    landmark_hidden (the width of g and h)."""

    data_dim: int
    num_actions: int = 5
    latent_dim: int = 16
    state_dim: int = 2
    hidden: tuple[int, ...] = (256,)
    memory_length: int = 256
    num_neighbours: int = 5
    transition_noise: float = 1e-3
    prior_type: str = "memory"
    wall_hidden: int = 32
    emission_type: str = "gaussian"
    pixel_scale: float = 0.1
    transition_type: str = "walls"
    prior_hidden: int = 128
    state_inference: str = "transition"
    landmark_neighbours: int = 4
    landmark_hidden: int = 32
    displacement_init: float = 0.1
    displacement_weight: float = 0.0
    mixture_delta: float = 1e-4
    wall_whitening: bool = False

    latent_kind: ClassVar[str] = "per-frame VAE latents and 2-d (or, for the 3-D agents, 3-d) states"

    def __post_init__(self):
        parts.check_config("GTMSM", {n: getattr(self, n) for n in (
            "data_dim", "num_actions", "latent_dim", "state_dim", "memory_length", "num_neighbours", "wall_hidden",
            "prior_hidden", "landmark_neighbours", "landmark_hidden")},
            {"prior_type": (self.prior_type, PRIORS), "emission_type": (self.emission_type, EMISSIONS),
             "transition_type": (self.transition_type, TRANSITIONS),
             "state_inference": (self.state_inference, STATE_INFERENCES)})
        if self.transition_type in ("rotation", "walking") and self.state_dim != 3:
            raise ValueError(f"GTMSM's {self.transition_type!r} transition needs state_dim 3 (position and heading), "
                             f"got {self.state_dim}")
        if self.displacement_weight < 0 or (self.displacement_weight > 0 and self.transition_type != "walking"):
            raise ValueError(f"GTMSM.displacement_weight ({self.displacement_weight}) must be >= 0, and > 0 only "
                             f"with the 'walking' transition (got {self.transition_type!r})")
        if self.transition_type == "walking" and self.state_inference == "landmark":
            raise ValueError("GTMSM's landmark inference (section 7.10) is built for the 'walls' and 'rotation' "
                             "transitions, not 'walking'")
        if not self.pixel_scale > 0:
            raise ValueError(f"GTMSM.pixel_scale must be > 0, got {self.pixel_scale}")
        if self.frame_dim < 1:
            raise ValueError(f"GTMSM.data_dim ({self.data_dim}) must exceed num_actions ({self.num_actions}) "
                             f"+ {self.target_dim} displacement targets: a row is the frame's pixels, the one-hot "
                             "action, then (displacement_weight > 0) the true displacement")
        for name in ("num_neighbours",) + (("landmark_neighbours",) if self.state_inference == "landmark" else ()):
            if getattr(self, name) > self.memory_length:
                raise ValueError(f"GTMSM.{name} ({getattr(self, name)}) exceeds the memory's "
                                 f"{self.memory_length} entries")
        if self.wall_whitening and self.transition_type != "walls":
            raise ValueError(f"GTMSM.wall_whitening is for the 'walls' transition, got {self.transition_type!r}")
        if not self.mixture_delta > 0:
            raise ValueError(f"GTMSM.mixture_delta must be > 0, got {self.mixture_delta}")
        if not self.transition_noise > 0:
            raise ValueError(f"GTMSM.transition_noise must be > 0, got {self.transition_noise}")

    @property
    def target_dim(self) -> int:
        """The true displacements' width at a row's end (S with ``displacement_weight``, else 0)."""
        return self.state_dim if self.displacement_weight > 0 else 0

    @property
    def frame_dim(self) -> int:
        return self.data_dim - self.num_actions - self.target_dim

    def objective(self, options: ObjectiveOptions = ObjectiveOptions(bound="elbo")) -> GTMSMObjective:
        """The ELBO of section 7.3.4 ('elbo'), KL annealed over ``options.kl_anneal_steps``."""
        check_bound("GTMSM", options.bound, ("elbo",))
        return GTMSMObjective(self, options.kl_anneal_steps)

    @property
    def nets(self) -> dict[str, nn.Module]:
        nets = {"encoder": DiagGaussianHead(self.latent_dim, self.hidden),
                "decoder": BernoulliHead(self.frame_dim, self.hidden)}
        if self.transition_type == "walls":
            nets["walls"] = MLP((self.wall_hidden, 1), activate_final=False)
        if self.prior_type == "state":
            nets["state_prior"] = DiagGaussianHead(self.latent_dim, self.hidden, min_scale=0.05)
        if self.prior_type == "network":
            nets["memory_reader"] = MLP((self.prior_hidden,))
            nets["network_prior"] = DiagGaussianHead(self.latent_dim, (self.prior_hidden,), min_scale=0.05)
        if self.state_inference == "landmark":
            nets["landmark_gate"] = MLP((self.landmark_hidden, 1), activate_final=False)  # g(delta_k)
            nets["landmark_scale"] = MLP((self.landmark_hidden, self.state_dim), activate_final=False)  # h(...)
        return nets

    @property
    def key_dim(self) -> int:
        return 4 if self.heading_state else self.state_dim

    def init(self, key: jax.Array, data_mean: jax.Array | None = None) -> dict:
        """Parameters; the decoder's output bias at logit(mean frame) when ``data_mean``
        (a row's mean) is given. sigma_d starts near 1 (every move allowed); the
        landmark posterior starts at the transition (beta_k near 0, sigma_q = sigma_p):
        with r = 1e-3 any other start costs (Delta / r)^2 / 2 nats of KL per unit moved."""
        k_nets, k_m = jax.random.split(key)
        entry = self.key_dim + 2 * self.latent_dim
        example = {"encoder": (jnp.zeros(self.frame_dim),), "decoder": (jnp.zeros(self.latent_dim),),
                   "walls": (jnp.zeros(self.state_dim),), "state_prior": (jnp.zeros(self.state_dim),),
                   "memory_reader": (jnp.zeros(self.num_neighbours * entry),),
                   "network_prior": (jnp.zeros(self.prior_hidden), jnp.zeros(self.key_dim)),
                   "landmark_gate": (jnp.zeros(1),),
                   "landmark_scale": (jnp.zeros(self.landmark_neighbours * (1 + self.state_dim) + self.state_dim),)}
        params = parts.init_nets(self.nets, example, k_nets)
        if "walls" in params:
            params["walls"]["params"]["dense_1"]["bias"] = jnp.full((1,), 3.0)
        if self.state_inference == "landmark":  # q(s_t | .) starts at the transition: g = -10 (beta_k ~ 5e-5), h = 0
            params["landmark_gate"]["params"]["dense_1"] = {"kernel": jnp.zeros((self.landmark_hidden, 1)),
                                                            "bias": jnp.full((1,), -10.0)}
            params["landmark_scale"]["params"]["dense_1"] = jax.tree.map(
                jnp.zeros_like, params["landmark_scale"]["params"]["dense_1"])
        params["transition"] = {
            "M": self.displacement_init * jax.random.normal(k_m, (self.num_actions, self.state_dim))}
        if self.transition_type == "walking":  # c_s = 1; sigmoid(c_f) = 0.5
            params["transition"].update(c_s=jnp.ones(self.state_dim), c_f=jnp.zeros(self.state_dim))
        if data_mean is not None:
            from seqvi.nn.heads import logit

            params["decoder"]["params"]["logits"]["bias"] = logit(jnp.asarray(data_mean)[: self.frame_dim])
        return params

    def check_length(self, num_steps: int) -> None:
        """ValueError unless sequences of ``num_steps`` steps have a prediction phase."""
        if num_steps <= self.memory_length:
            raise ValueError(f"GTM-SM memorises the first {self.memory_length} steps (memory_length) but the "
                             f"sequences have {num_steps}: nothing is left to predict (lengthen the walks)")

    # ---- the pieces --------------------------------------------------------------------
    def split_row(self, xs: Float[Array, "T D"]) -> tuple[Float[Array, "T P"], Float[Array, "T A"]]:
        """(frames, actions) of rows (the true displacements, if any, dropped)."""
        f = self.frame_dim
        return xs[..., :f], xs[..., f:f + self.num_actions]

    def displacements(self, params, actions: Float[Array, "T A"]) -> Float[Array, "T S"]:
        """The walking agent's d_{1:T} in its own frame: d_t = c_s * tanh(sigmoid(c_f)
        * d_{t-1} + M a_t) from d_0 = 0 (section 7.4.2.2); M a_t for the other kinds
        (before 'walls' gates it)."""
        tr = params["transition"]
        pushed = actions @ tr["M"]
        if self.transition_type != "walking":
            return pushed

        def body(d_prev, m_a):
            d = tr["c_s"] * jnp.tanh(jax.nn.sigmoid(tr["c_f"]) * d_prev + m_a)
            return d, d

        return jax.lax.scan(body, jnp.zeros(self.state_dim), pushed)[1]

    def transition_mean(self, params, s_prev: Float[Array, " S"], action: Float[Array, " A"],
                        displacement: Float[Array, " S"] | None = None) -> Float[Array, " S"]:
        """'walls': s_{t-1} + M a_t * sigma_d(s_{t-1} + M a_t) (eq. 7.3 without noise);
        'rotation': s_{t-1} + R(s^(3)_{t-1}) M a_t (eq. 7.4 without noise);
        'walking': s_{t-1} + R(s^(3)_{t-1}) d_t, d_t the step's ``displacement``
        (from ``displacements``; required)."""
        if self.transition_type == "walking":
            if displacement is None:
                raise ValueError("the 'walking' transition needs the step's displacement d_t (model.displacements)")
            return s_prev + rotate(s_prev[2], displacement)
        displacement = action @ params["transition"]["M"]
        if self.transition_type == "rotation":
            return s_prev + rotate(s_prev[2], displacement)
        projected = s_prev + displacement
        if self.wall_whitening:
            projected = projected @ self.move_whitening(params)
        gate = jax.nn.sigmoid(self.apply_net(params, "walls", projected))
        return s_prev + displacement * gate

    @property
    def heading_state(self) -> bool:
        """Whether s^(3) is a heading (the 3-D agents' 'rotation' and 'walking')."""
        return self.transition_type in ("rotation", "walking")

    def memory_key(self, s: Float[Array, "*T S"]) -> Float[Array, "*T K"]:
        """The DND's key of a state: s for image navigation, [s1, s2, cos s3, sin s3]
        for the 3-D agents ('rotation', 'walking'; section 7.7.2)."""
        if self.heading_state:
            return jnp.concatenate([s[..., :2], jnp.cos(s[..., 2:]), jnp.sin(s[..., 2:])], -1)
        return s

    def move_whitening(self, params) -> Float[Array, "S S"]:
        """W = sg[(M^T M / A)^(-1/2)], symmetric (sg: no gradient; M^T M / A plus 1e-6 of
        its mean eigenvalue and 1e-12): s @ W measures a state in move-sized units. When
        the moves come in opposite pairs of equal length, every move is sqrt(A / 2)
        units long whatever M's scale, and a sheared M only turns (or reflects) the
        coordinates. ``wall_whitening`` feeds sigma_d (s_{t-1} + M a_t) W.
        Why: trained without wall bumps, M's moves came out 5 times longer on one axis
        than the other (0.345 against 0.065), and sigma_d, reading the raw position,
        learned only the long axis's walls (docs/results.md, GTM-SM)."""
        m = jax.lax.stop_gradient(params["transition"]["M"])
        gram = m.T @ m / m.shape[0]
        gram = gram + (1e-6 * jnp.trace(gram) / self.state_dim + 1e-12) * jnp.eye(self.state_dim)
        values, vectors = jnp.linalg.eigh(gram)
        return (vectors * values ** -0.5) @ vectors.T

    def sample_states(self, params, actions: Float[Array, "T A"], key: jax.Array | None) -> Float[Array, "T S"]:
        """s_{1:T} from s_0 = 0 by ancestral sampling (the transition's mean when key is None)."""
        noise = (jnp.zeros((actions.shape[0], self.state_dim)) if key is None
                 else self.transition_noise * jax.random.normal(key, (actions.shape[0], self.state_dim)))

        def body(s, inputs):
            a, d, e = inputs
            s = self.transition_mean(params, s, a, d) + e
            return s, s

        return jax.lax.scan(body, jnp.zeros(self.state_dim), (actions, self.displacements(params, actions), noise))[1]

    def memory(self, params, frames: Float[Array, "T P"], states: Float[Array, "T S"]) -> dnd.DND:
        """The DND of the first tau steps: keys k(s_i), values q(z_i | x_i)'s (mean, scale)."""
        tau = self.memory_length
        mean, scale = self.apply_net(params, "encoder", frames[:tau])
        return dnd.from_arrays(self.memory_key(states[:tau]), (mean, scale))

    def landmark_memory(self, memory: dnd.DND, states: Float[Array, "T S"]) -> dnd.DND:
        """The reversed DND of section 7.10, from the spatial memory ``memory`` (whose
        values hold q(z_i | x_i)'s means): keys those means, values (s_i, sigma_i^2 = r^2)
        for the first tau steps."""
        tau = self.memory_length
        mean, _ = memory.values
        variance = jnp.full((tau, self.state_dim), self.transition_noise ** 2)
        return dnd.from_arrays(mean, (states[:tau], variance))

    def landmark_posterior(self, params, memory: dnd.DND, s_prev: Float[Array, " S"], action: Float[Array, " A"],
                           z_t: Float[Array, " Z"]) -> tuple[Float[Array, " S"], ...]:
        """(mu_q, sigma_q^2, mu_p, sigma_p^2) of q(s_t | s_{t-1}, a_t, z_t, m) and of
        the transition p(s_t | s_{t-1}, a_t), from the reversed DND ``memory``
        (``landmark_memory``) read at z_t (section 7.10)."""
        mu_p = self.transition_mean(params, s_prev, action)
        var_p = jnp.full(self.state_dim, self.transition_noise ** 2)
        read = dnd.lookup(memory, z_t, self.landmark_neighbours)
        mu_k, var_k = read.values
        delta = read.squared_distances
        beta = jax.nn.sigmoid(self.apply_net(params, "landmark_gate", delta[:, None])[:, 0])
        mu_q = mu_p + beta @ (mu_k - mu_p)
        features = jnp.concatenate([delta, var_k.reshape(-1), var_p])
        var_q = var_p * jnp.exp(self.apply_net(params, "landmark_scale", features))
        return mu_q, var_q, mu_p, var_p

    def infer_states(self, params, memory: dnd.DND, actions: Float[Array, "T A"], z: Float[Array, "U Z"],
                     states: Float[Array, "T S"], key: jax.Array) -> tuple[Float[Array, "T S"], Float[Array, " U"]]:
        """(s_{1:T}, KL_t [U]) for the U = T - tau predicted steps: the memorised
        states kept, the later ones sampled from the landmark posterior given the
        latents ``z`` [U, Z] (one reparameterised sample each; the spatial ``memory``
        reversed), with each step's KL[q(s_t | .) || p(s_t | s_{t-1}, a_t)]."""
        tau = self.memory_length
        landmarks = self.landmark_memory(memory, states)
        noise = jax.random.normal(key, (z.shape[0], self.state_dim))

        def body(s_prev, inputs):
            a, z_t, e = inputs
            mu_q, var_q, mu_p, var_p = self.landmark_posterior(params, landmarks, s_prev, a, z_t)
            s_t = mu_q + jnp.sqrt(var_q) * e
            return s_t, (s_t, dist.kl_diag_gaussians(mu_q, jnp.sqrt(var_q), mu_p, jnp.sqrt(var_p)))

        _, (future, kl) = jax.lax.scan(body, states[tau - 1], (actions[tau:], z, noise))
        return jnp.concatenate([states[:tau], future]), kl

    def mixture_weights(self, squared_distances: Float[Array, " K"]) -> Float[Array, " K"]:
        """w_k = (1 / (d_k^2 + delta)) / sum_j (1 / (d_j^2 + delta)), delta ``mixture_delta``."""
        inverse = 1.0 / (squared_distances + self.mixture_delta)
        return inverse / inverse.sum()

    def prior(self, params, memory: dnd.DND, s_t: Float[Array, " S"]) -> tuple:
        """('memory': (weights [K], means [K, Z], scales [K, Z]); 'network' and 'state':
        (mean, scale))."""
        if self.prior_type == "state":
            return self.apply_net(params, "state_prior", s_t)
        query = self.memory_key(s_t)
        read = dnd.lookup(memory, query, self.num_neighbours)
        mean, scale = read.values
        if self.prior_type == "network":
            entries = jnp.concatenate([read.keys - query, mean, scale], -1).reshape(-1)
            return self.apply_net(params, "network_prior", self.apply_net(params, "memory_reader", entries), query)
        return self.mixture_weights(read.squared_distances), mean, scale

    def frame_log_prob(self, logits: Float[Array, "*T P"], frames: Float[Array, "*T P"]) -> Float[Array, "*T"]:
        """log p(x_t | z_t) from the decoder's output ``logits`` (pixel means sigmoid(logits))."""
        if self.emission_type == "bernoulli":
            return dist.bernoulli(logits).log_prob(frames)
        return dist.diag_gaussian(jax.nn.sigmoid(logits), jnp.full(logits.shape, self.pixel_scale)).log_prob(frames)

    @property
    def gaussian_prior(self) -> bool:
        return self.prior_type in ("network", "state")

    def prior_log_prob(self, prior, z: Float[Array, " Z"]) -> Float[Array, ""]:
        if self.gaussian_prior:
            return dist.diag_gaussian(*prior).log_prob(z)
        weights, mean, scale = prior
        return dist.diag_gmm(jnp.log(weights), mean, scale).log_prob(z)

    def prior_mean(self, prior) -> Float[Array, " Z"]:
        if self.gaussian_prior:
            return prior[0]
        weights, mean, _ = prior
        return weights @ mean

    # ---- the bound -----------------------------------------------------------------------
    def sequence_elbo(self, params, xs: Float[Array, "T D"], length, key: jax.Array, kl_weight=1.0):
        """(ELBO over the predicted frames tau < t <= length, their number, KL sum,
        the ELBO with the KL weighted by ``kl_weight``); with landmark inference the
        KL holds both the z's and the states' terms."""
        self.check_length(xs.shape[0])
        frames, actions = self.split_row(xs)
        k_states, k_z = jax.random.split(key)
        states = self.sample_states(params, actions, k_states)
        memory = self.memory(params, frames, states)
        tau = self.memory_length
        q_mean, q_scale = self.apply_net(params, "encoder", frames[tau:])
        z = q_mean + q_scale * jax.random.normal(k_z, q_mean.shape)
        kl_states = 0.0
        if self.state_inference == "landmark":
            states, kl_states = self.infer_states(params, memory, actions, z, states, jax.random.fold_in(k_states, 1))
        priors = jax.vmap(lambda s: self.prior(params, memory, s))(states[tau:])
        log_lik = self.frame_log_prob(self.apply_net(params, "decoder", z), frames[tau:])
        if self.gaussian_prior and self.state_inference == "transition":
            kl = dist.kl_diag_gaussians(q_mean, q_scale, *priors)
        else:  # a mixture, or s_t inferred from z_t: the Monte Carlo estimate at the sample
            log_q = dist.diag_gaussian(q_mean, q_scale).log_prob(z)
            kl = log_q - jax.vmap(self.prior_log_prob)(priors, z)
        kl = kl + kl_states
        scored = (jnp.arange(tau, xs.shape[0]) < length).astype(xs.dtype)
        elbo = jnp.sum(scored * (log_lik - kl))
        return elbo, scored.sum(), jnp.sum(scored * kl), jnp.sum(scored * (log_lik - kl_weight * kl))

    def loss(self, params, batch: dict, key: jax.Array, kl_weight=1.0, **unused) -> tuple[jax.Array, dict]:
        """-(annealed ELBO) per predicted frame, over the batch (a ratio of sums), plus
        ``displacement_weight`` times ``displacement_error`` when it is > 0."""
        del unused
        keys = jax.random.split(key, batch["xs"].shape[0])
        elbo, frames, kl, annealed = jax.vmap(lambda xs, n, k: self.sequence_elbo(params, xs, n, k, kl_weight))(
            batch["xs"], batch["lengths"], keys)
        total = frames.sum()
        loss = -annealed.sum() / total
        metrics = {"elbo_per_frame": elbo.sum() / total, "kl_per_frame": kl.sum() / total}
        if self.displacement_weight > 0:
            error = self.displacement_error(params, batch["xs"], batch["lengths"])
            loss = loss + self.displacement_weight * error
            metrics["displacement_mse"] = error
        return loss, metrics

    def displacement_error(self, params, xs: Float[Array, "B T D"], lengths) -> Float[Array, ""]:
        """mean_{b, 2 <= t <= length_b} ||d_t - d*_t||^2: the walking agent's regression
        of its displacements on the true ones d*_t at the rows' end (section 7.4.2.2;
        step 1 has no true displacement)."""
        _, actions = self.split_row(xs)
        d = jax.vmap(lambda a: self.displacements(params, a))(actions)
        target = xs[..., self.frame_dim + self.num_actions:]
        t = jnp.arange(xs.shape[1])
        scored = ((t >= 1)[None] & (t[None] < lengths[:, None])).astype(xs.dtype)
        return jnp.sum(scored * jnp.sum((d - target) ** 2, -1)) / jnp.maximum(scored.sum(), 1.0)

    # ---- prediction ----------------------------------------------------------------------
    def predict(self, params, xs: Float[Array, "T D"], key: jax.Array | None = None) -> Prediction:
        """Frames for t > tau from the memorised first tau frames and all T actions:
        the memorised states are one ancestral sample (``key``; None: the
        transition's mean), the later ones the transition's mean; each frame is
        the decoder's mean at the prior's mean latent."""
        self.check_length(xs.shape[0])
        frames, actions = self.split_row(xs)
        tau = self.memory_length
        states = self.sample_states(params, actions, key)
        memory = self.memory(params, frames, states)

        def body(s, inputs):
            s = self.transition_mean(params, s, *inputs)
            return s, s

        future = jax.lax.scan(body, states[tau - 1], (actions[tau:], self.displacements(params, actions)[tau:]))[1]
        z = jax.vmap(lambda s: self.prior_mean(self.prior(params, memory, s)))(future)
        predicted = jax.nn.sigmoid(self.apply_net(params, "decoder", z))
        return Prediction(jnp.concatenate([states[:tau], future]), jnp.concatenate([frames[:tau], predicted]))
