"""LocalGAN's local loss (LocalGAN document, section 4: eqs. 15-18), on the
deep Boltzmann machine of ``seqvi.nn.dbm`` over v = [q, r], the standardised
averaged word embeddings of a query and a response.

  r_c-hat(q)      the response the DBM expects for q: the mean-field estimate of
                  r with q clamped (``seqvi.nn.dbm.conditional_mean_field``),
                  the paper's "well-trained DBM mapping q to r_c" (Theorem 1)
  alpha(q, r)     = (F(q, r) - F(q, r_c-hat)) / |F(q, r_c-hat)|   (eq. 16)
  delta_alpha     = alpha(q, r) - alpha(q, r~)   gold r, generated r~ (eq. 17)
  J_G             = -log D(q, r~) + lambda ReLU(delta_alpha)     (eq. 18)
  J_D             = -log D(q, r) - log(1 - D(q, r~))             (eq. 1)

F is the mean-field free energy (an upper bound on the free energy, exact at
tiny sizes by ``free_energy_exact``). Eq. 16 divides by F(q, r_c-hat); seqvi
divides by its magnitude, which is the paper's formula when F > 0 and keeps its
meaning when F < 0 (as for the Gaussian DBM, whose free energy is negative near
the data): alpha = 0 at the centre and grows as r moves away from it, so
delta_alpha > 0 exactly when the generated response lies nearer the centre than
the gold one (phase 2 of section 4.3, when the hinge acts) and the hinge is 0
when it lies farther (phase 1).

This module holds the local loss only; the generator, the discriminator, their
training and the baselines are not built yet.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from seqvi.nn import dbm


def response_centre(p: dbm.DBMParams, q: Float[Array, " Q"], num_iterations: int = 30) -> Float[Array, " R"]:
    """r_c-hat [R] for the query q [Q] (v = [q, r], V = Q + R)."""
    num_visible = p.b.shape[0]
    if q.shape[-1] >= num_visible:
        raise ValueError(f"the query has {q.shape[-1]} entries but the DBM's visible layer [q, r] has "
                         f"{num_visible}: the response would be empty")
    v = jnp.concatenate([q, jnp.zeros(num_visible - q.shape[-1], q.dtype)])
    observed = jnp.arange(num_visible) < q.shape[-1]
    return dbm.conditional_mean_field(p, v, observed, num_iterations)[0][q.shape[-1]:]


def radial_distribution(p: dbm.DBMParams, q: Float[Array, " Q"], r: Float[Array, " R"],
                        centre: Float[Array, " R"] | None = None, num_iterations: int = 30) -> Float[Array, ""]:
    """alpha(q, r) of eq. 16 (see the module docstring), with the centre
    r_c-hat(q) computed unless given."""
    if centre is None:
        centre = response_centre(p, q, num_iterations)
    free_energy = lambda response: dbm.free_energy_mean_field(  # noqa: E731
        p, jnp.concatenate([q, response]), num_iterations=num_iterations)
    at_centre = free_energy(centre)
    return (free_energy(r) - at_centre) / jnp.abs(at_centre)


def local_hinge(p: dbm.DBMParams, q: Float[Array, " Q"], gold: Float[Array, " R"], generated: Float[Array, " R"],
                num_iterations: int = 30) -> Float[Array, ""]:
    """ReLU(delta_alpha), delta_alpha = alpha(q, gold) - alpha(q, generated) (eqs. 17-18);
    the DBM's parameters are held fixed (the generator's loss does not train it)."""
    p = jax.lax.stop_gradient(p)
    centre = response_centre(p, q, num_iterations)
    delta = (radial_distribution(p, q, gold, centre, num_iterations)
             - radial_distribution(p, q, generated, centre, num_iterations))
    return jax.nn.relu(delta)


def generator_loss(log_d_generated: Float[Array, " B"], hinge: Float[Array, " B"], weight: float = 1.0
                   ) -> Float[Array, ""]:
    """J_G of eq. 18 averaged over a batch: -log D(q, r~) + lambda ReLU(delta_alpha)
    (lambda = ``weight`` >= 0: 1 in the paper's text, 10 in its authors' code)."""
    if weight < 0:
        raise ValueError(f"the local loss weight lambda must be >= 0, got {weight}")
    return jnp.mean(-log_d_generated + weight * hinge)


def discriminator_loss(logit_gold: Float[Array, " B"], logit_generated: Float[Array, " B"]) -> Float[Array, ""]:
    """J_D of eq. 1 from the discriminator's logits: -log D(q, r) - log(1 - D(q, r~)), averaged."""
    return jnp.mean(jax.nn.softplus(-logit_gold) + jax.nn.softplus(logit_generated))
