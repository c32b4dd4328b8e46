"""Distribution helpers on distrax: raw head outputs -> distributions, and KLs.

All distributions here have event shape [D] (one vector per time step), so
``log_prob`` returns a scalar per sample.
"""

import distrax
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


def diag_gaussian(mean: Float[Array, "*#batch D"], scale: Float[Array, "*#batch D"]) -> distrax.Distribution:
    """N(mean, diag(scale^2)) with event shape [D]; mean and scale [..., D] (broadcast)."""
    return distrax.MultivariateNormalDiag(loc=mean, scale_diag=scale)


def diag_gmm(logits: Float[Array, "*batch K"], means: Float[Array, "*batch K D"],
             scales: Float[Array, "*batch K D"]) -> distrax.Distribution:
    """sum_k pi_k N(means_k, diag(scales_k^2)), pi = softmax(logits), with event
    shape [D]: the Gaussian-mixture emission of the RNN-GMM and VRNN-GMM (thesis,
    section 5.4; Chung et al. 2015). logits [..., K], means and scales [..., K, D]."""
    return distrax.MixtureSameFamily(
        mixture_distribution=distrax.Categorical(logits=logits),
        components_distribution=distrax.MultivariateNormalDiag(loc=means, scale_diag=scales),
    )


def bernoulli(logits: Float[Array, "*batch D"]) -> distrax.Distribution:
    """prod_d Bernoulli(sigmoid(logits_d)) with event shape [D]; logits [..., D].

    ``log_prob`` accepts float values in {0, 1}.
    """
    return distrax.Independent(distrax.Bernoulli(logits=logits), reinterpreted_batch_ndims=1)


def kl_diag_gaussians(
    mean_q: Float[Array, "*#batch D"],
    scale_q: Float[Array, "*#batch D"],
    mean_p: Float[Array, "*#batch D"],
    scale_p: Float[Array, "*#batch D"],
) -> Float[Array, "*batch"]:
    """KL(N(m_q, s_q^2) || N(m_p, s_p^2)) summed over the last axis (arguments [..., D],
    broadcast against each other; result [...]):

    sum_d log(s_p/s_q) + (s_q^2 + (m_q - m_p)^2) / (2 s_p^2) - 1/2.
    """
    var_ratio = jnp.square(scale_q / scale_p)
    mahal = jnp.square((mean_q - mean_p) / scale_p)
    return 0.5 * jnp.sum(var_ratio + mahal - 1.0 - jnp.log(var_ratio), axis=-1)


def kl_gaussian_mog_dvar(
    mean: Float[Array, " D"],
    scale: Float[Array, " D"],
    log_weights: Float[Array, " K"],
    means: Float[Array, "K D"],
    scales: Float[Array, "K D"],
) -> Float[Array, ""]:
    """The variational approximation D_var of KL(f || g) for a diagonal Gaussian
    f = N(mean, scale^2) [D] and a mixture g = sum_i pi_i N(means_i, scales_i^2)
    ([K, D] components, log pi_i = ``log_weights`` [K], normalised here)
    (Hershey & Olsen 2007; VMED):

      D_var(f || g) = -log sum_i pi_i exp(-KL(f || g_i)).

    It is an upper bound on KL(f || g) (the log-sum-exp over i is concave in the
    mixture), and exact for one component.
    """
    if means.shape != scales.shape or means.shape[-1] != mean.shape[-1] or log_weights.shape != means.shape[:-1]:
        raise ValueError(f"expected means and scales [K, {mean.shape[-1]}] and log_weights [K], got "
                         f"{means.shape}, {scales.shape} and {log_weights.shape}")
    kls = kl_diag_gaussians(mean[..., None, :], scale[..., None, :], means, scales)  # [K]
    log_pi = jax.nn.log_softmax(log_weights, axis=-1)
    return -jax.nn.logsumexp(log_pi - kls, axis=-1)
