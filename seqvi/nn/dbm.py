"""A two-layer deep Boltzmann machine with Gaussian visible units, as pure
functions: the energy model of LocalGAN's local loss (Salakhutdinov & Hinton 2009;
LocalGAN document, section 3, eqs. 7-9 and Figure 1).

Units: visible v in R^V (LocalGAN: v = [q, r], the standardised averaged word
embeddings of a query and a response), hidden h1 in {0, 1}^H1 (the paper's h_q)
and h2 in {0, 1}^H2 (its h). Energy (eq. 8, with the Gaussian visible term and
the biases that real-valued inputs need; unit visible variance):

  E(v, h1, h2) = 1/2 ||v - b||^2 - v^T W1 h1 - c1^T h1 - h1^T W2 h2 - c2^T h2

W1 = [W_qq; W_qr] stacks the paper's query and response weights and W2 is its
W_qh. The free energy F(v) = -log sum_{h1, h2} exp(-E(v, h1, h2)) (eq. 7 with
the usual sign, so p(v) = exp(-F(v)) / Z): summing h1 out exactly,

  F(v) = 1/2 ||v - b||^2 - log sum_{h2} exp(c2^T h2 + sum_j softplus(W1^T v + c1 + W2 h2)_j),

which ``free_energy_exact`` enumerates over the 2^H2 states of h2 (tiny H2 only).
The mean-field free energy, for factorised Bernoulli(mu1) x Bernoulli(mu2),

  F_MF(v; mu) = E_Q[E] - H(Q) >= F(v)        (Jensen: an upper bound on F),

is minimised over mu by the fixed point mu1 = s(W1^T v + c1 + W2 mu2),
mu2 = s(W2^T mu1 + c2) (``mean_field``); ``free_energy_mean_field`` is F_MF there.
Training is persistent contrastive divergence (Tieleman 2008; for DBMs
Salakhutdinov & Hinton 2009): data-dependent statistics from the mean field,
model statistics from persistent Gibbs chains (``pcd_step``).
"""

import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float


class DBMParams(NamedTuple):
    w1: Float[Array, "V H1"]  # visible-hidden weights [W_qq; W_qr]
    w2: Float[Array, "H1 H2"]  # hidden-hidden weights W_qh
    b: Float[Array, " V"]  # visible bias (the Gaussian's mean when h1 = 0)
    c1: Float[Array, " H1"]
    c2: Float[Array, " H2"]


class Chains(NamedTuple):
    """The persistent Gibbs chains of PCD ("fantasy particles"), leading axis C."""

    v: Float[Array, "C V"]
    h1: Float[Array, "C H1"]
    h2: Float[Array, "C H2"]


def init_params(key: jax.Array, visible: int, hidden1: int, hidden2: int, scale: float = 0.01) -> DBMParams:
    """Small random weights N(0, scale^2), zero biases."""
    k1, k2 = jax.random.split(key)
    return DBMParams(scale * jax.random.normal(k1, (visible, hidden1)), scale * jax.random.normal(k2, (hidden1, hidden2)),
                     jnp.zeros(visible), jnp.zeros(hidden1), jnp.zeros(hidden2))


def energy(p: DBMParams, v: Float[Array, " V"], h1: Float[Array, " H1"], h2: Float[Array, " H2"]) -> Float[Array, ""]:
    """E(v, h1, h2) of the module docstring."""
    return 0.5 * jnp.sum(jnp.square(v - p.b)) - v @ p.w1 @ h1 - p.c1 @ h1 - h1 @ p.w2 @ h2 - p.c2 @ h2


def _binary_states(n: int) -> np.ndarray:
    return np.asarray(list(itertools.product((0.0, 1.0), repeat=n)), np.float32).reshape(-1, n)


def free_energy_exact(p: DBMParams, v: Float[Array, " V"]) -> Float[Array, ""]:
    """F(v), h1 summed out analytically and h2 enumerated (2^H2 terms: tiny H2)."""
    h2 = jnp.asarray(_binary_states(p.c2.shape[0]))  # [S, H2]
    activation = v @ p.w1 + p.c1 + h2 @ p.w2.T  # [S, H1]
    log_terms = h2 @ p.c2 + jax.nn.softplus(activation).sum(-1)
    return 0.5 * jnp.sum(jnp.square(v - p.b)) - jax.nn.logsumexp(log_terms)


def mean_field(p: DBMParams, v: Float[Array, " V"], num_iterations: int = 30
               ) -> tuple[Float[Array, " H1"], Float[Array, " H2"]]:
    """The mean-field fixed point (mu1, mu2) for visible v, from mu2 = 1/2, by
    ``num_iterations`` alternating updates (each lowers F_MF)."""

    def body(_, mu):
        mu1 = jax.nn.sigmoid(v @ p.w1 + p.c1 + p.w2 @ mu[1])
        return mu1, jax.nn.sigmoid(mu1 @ p.w2 + p.c2)

    mu2 = jnp.full(p.c2.shape, 0.5, v.dtype)
    return jax.lax.fori_loop(0, num_iterations, body, (jax.nn.sigmoid(v @ p.w1 + p.c1 + p.w2 @ mu2), mu2))


def conditional_mean_field(p: DBMParams, v: Float[Array, " V"], observed: Bool[Array, " V"],
                           num_iterations: int = 30) -> tuple[Float[Array, " V"], Float[Array, " H1"], Float[Array, " H2"]]:
    """Mean-field inference of the unobserved visible units given the observed
    ones (LocalGAN: the response r given the query q). Q(v_u) = N(m, I) (the
    Gaussian visible's conditional given h1 has unit variance) and factorised
    Bernoulli hidden units, updated in turn from m = b_u + W1_u mu1 at h1 = 0:
    mu1 = s(W1^T [v_o, m] + c1 + W2 mu2), mu2 = s(W2^T mu1 + c2), m = b_u + (W1 mu1)_u.
    Returns (v with its unobserved entries replaced by m, mu1, mu2)."""
    observed = jnp.asarray(observed, bool)

    def body(_, state):
        full, _, mu2 = state
        mu1 = jax.nn.sigmoid(full @ p.w1 + p.c1 + p.w2 @ mu2)
        mu2 = jax.nn.sigmoid(mu1 @ p.w2 + p.c2)
        return jnp.where(observed, v, p.b + p.w1 @ mu1), mu1, mu2

    start = jnp.where(observed, v, p.b)
    mu1 = jnp.full(p.c1.shape, 0.5, v.dtype)
    mu2 = jnp.full(p.c2.shape, 0.5, v.dtype)
    return jax.lax.fori_loop(0, num_iterations, body, (start, mu1, mu2))


def _entropy(mu: jax.Array) -> jax.Array:
    return -jnp.sum(jax.scipy.special.xlogy(mu, mu) + jax.scipy.special.xlogy(1.0 - mu, 1.0 - mu))


def free_energy_mean_field(p: DBMParams, v: Float[Array, " V"], mu1: Float[Array, " H1"] | None = None,
                           mu2: Float[Array, " H2"] | None = None, num_iterations: int = 30) -> Float[Array, ""]:
    """F_MF(v; mu) = E_Q[E] - H(Q) >= F(v), at the mean-field fixed point unless
    (mu1, mu2) are given. E is linear in each unit, so E_Q[E] = E(v, mu1, mu2).

    At the fixed point dF_MF/dmu = 0, so dF_MF/dv = dE/dv at mu (the envelope
    theorem): the fixed point enters through stop_gradient, which gives that
    gradient without differentiating the iterations (whose entropy terms have
    infinite slopes where a unit saturates at 0 or 1)."""
    if mu1 is None or mu2 is None:
        mu1, mu2 = jax.lax.stop_gradient(mean_field(p, v, num_iterations))
    return energy(p, v, mu1, mu2) - _entropy(mu1) - _entropy(mu2)


def log_partition_exact(p: DBMParams) -> Float[Array, ""]:
    """log Z = log sum_{h1, h2} int exp(-E) dv, enumerating both hidden layers
    (tiny sizes): the Gaussian integral gives (2 pi)^(V/2) exp(b^T W1 h1 + ||W1 h1||^2 / 2)."""
    h1 = jnp.asarray(_binary_states(p.c1.shape[0]))
    h2 = jnp.asarray(_binary_states(p.c2.shape[0]))
    shift = h1 @ p.w1.T  # [S1, V]
    per_h1 = h1 @ p.c1 + shift @ p.b + 0.5 * jnp.sum(jnp.square(shift), -1)  # [S1]
    log_terms = per_h1[:, None] + h1 @ p.w2 @ h2.T + (h2 @ p.c2)[None, :]
    return 0.5 * p.b.shape[0] * jnp.log(2.0 * jnp.pi) + jax.nn.logsumexp(log_terms)


def gibbs_step(p: DBMParams, key: jax.Array, chains: Chains) -> Chains:
    """One sweep of block Gibbs sampling: h1 | v, h2; then v | h1 and h2 | h1
    (conditionally independent given h1), for every chain."""
    k1, k2, k3 = jax.random.split(key, 3)
    h1 = jax.random.bernoulli(k1, jax.nn.sigmoid(chains.v @ p.w1 + p.c1 + chains.h2 @ p.w2.T)).astype(chains.v.dtype)
    v = p.b + h1 @ p.w1.T + jax.random.normal(k2, chains.v.shape, chains.v.dtype)
    h2 = jax.random.bernoulli(k3, jax.nn.sigmoid(h1 @ p.w2 + p.c2)).astype(chains.v.dtype)
    return Chains(v, h1, h2)


def init_chains(key: jax.Array, p: DBMParams, num_chains: int) -> Chains:
    """Chains started at v ~ N(b, I) and hidden units at 1/2-probability draws."""
    k1, k2, k3 = jax.random.split(key, 3)
    v = p.b + jax.random.normal(k1, (num_chains, p.b.shape[0]))
    h1 = jax.random.bernoulli(k2, 0.5, (num_chains, p.c1.shape[0])).astype(v.dtype)
    h2 = jax.random.bernoulli(k3, 0.5, (num_chains, p.c2.shape[0])).astype(v.dtype)
    return Chains(v, h1, h2)


def pcd_gradient(p: DBMParams, data: Float[Array, "B V"], chains: Chains, num_iterations: int = 30) -> DBMParams:
    """The PCD estimate of the gradient of the average log-likelihood over ``data``:
    data-dependent statistics at the mean-field fixed points minus the model's
    statistics over the chains (<v h1^T>, <h1 h2^T>, <v - b>, <h1>, <h2>)."""
    mu1, mu2 = jax.vmap(lambda v: mean_field(p, v, num_iterations))(data)
    b, c = data.shape[0], chains.v.shape[0]
    return DBMParams(
        w1=data.T @ mu1 / b - chains.v.T @ chains.h1 / c,
        w2=mu1.T @ mu2 / b - chains.h1.T @ chains.h2 / c,
        b=(data - p.b).mean(0) - (chains.v - p.b).mean(0),
        c1=mu1.mean(0) - chains.h1.mean(0),
        c2=mu2.mean(0) - chains.h2.mean(0),
    )


def pcd_step(p: DBMParams, key: jax.Array, data: Float[Array, "B V"], chains: Chains, learning_rate: float,
             num_gibbs: int = 1, num_iterations: int = 30) -> tuple[DBMParams, Chains]:
    """One step of persistent contrastive divergence: advance the chains by
    ``num_gibbs`` Gibbs sweeps, then ascend the log-likelihood by ``learning_rate``
    times ``pcd_gradient``. Returns (new parameters, new chains)."""
    for k in jax.random.split(key, num_gibbs):
        chains = gibbs_step(p, k, chains)
    grad = pcd_gradient(p, data, chains, num_iterations)
    return jax.tree.map(lambda a, g: a + learning_rate * g, p, grad), chains


def fit_pcd(p: DBMParams, key: jax.Array, data: Float[Array, "N V"], num_steps: int, batch_size: int = 128,
            learning_rate: float = 1e-3, num_chains: int | None = None, num_gibbs: int = 1,
            num_iterations: int = 30) -> DBMParams:
    """``num_steps`` of ``pcd_step`` on minibatches of ``data`` drawn uniformly
    with replacement, with ``num_chains`` persistent chains (default: the batch
    size), as one compiled scan. ValueError for empty data or a width other than
    the visible layer's."""
    if data.ndim != 2 or data.shape[0] < 1 or data.shape[1] != p.b.shape[0]:
        raise ValueError(f"data must be [N >= 1, {p.b.shape[0]}] (the visible layer), got {tuple(data.shape)}")
    batch_size = min(batch_size, data.shape[0])
    k_chains, k_steps = jax.random.split(key)

    @jax.jit
    def run(p, chains, keys):
        def body(state, k):
            p, chains = state
            k_rows, k_step = jax.random.split(k)
            rows = jax.random.randint(k_rows, (batch_size,), 0, data.shape[0])
            return pcd_step(p, k_step, data[rows], chains, learning_rate, num_gibbs, num_iterations), None

        return jax.lax.scan(body, (p, chains), keys)[0][0]

    chains = init_chains(k_chains, p, num_chains or batch_size)
    return run(p, chains, jax.random.split(k_steps, num_steps))
