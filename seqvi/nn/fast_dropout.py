"""Fast dropout (Wang & Manning 2013; for recurrent networks Bayer et al. 2013,
"On fast dropout and its applicability to recurrent networks"), the
deterministic approximation of dropout that STORN's networks use (Bayer &
Osendorfer, section 2 and appendix): every unit is described by its mean and
variance under the dropout masks instead of by one masked sample.

For a = (m * x) W + b with i.i.d. masks m_i ~ Bernoulli(d) (d the keep rate, the
paper's "complementary dropout rate") and x with independent components of mean
E[x] and variance V[x] (STORN appendix):

  E[a] = d E[x] W + b
  V[a] = ((1 - d) d E[x]^2 + d V[x]) W^2          (squares elementwise)

a sum of many independent terms, so a is taken as Gaussian; a transfer function f
then maps the moments through f^E(a) = int f N(. | E[a], V[a]) and f^V(a) = int
(f - f^E)^2 N(. | E[a], V[a]), computed here by Gauss-Hermite quadrature.
"""

from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float


def dropout_linear_moments(
    mean: Float[Array, "*B D"], var: Float[Array, "*B D"], kernel: Float[Array, "D F"], keep: float,
    bias: Float[Array, " F"] | None = None,
) -> tuple[Float[Array, "*B F"], Float[Array, "*B F"]]:
    """(E[a], V[a]) of a = (m * x) W + b under input dropout with keep rate ``keep``
    in (0, 1], for x of elementwise mean [.., D] and variance [.., D] (see the
    module docstring). Raises ValueError for a keep rate outside (0, 1]."""
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep must lie in (0, 1], got {keep}")
    e = keep * mean @ kernel
    v = ((1.0 - keep) * keep * jnp.square(mean) + keep * var) @ jnp.square(kernel)
    return (e if bias is None else e + bias), v


def transfer_moments(
    f: Callable[[jax.Array], jax.Array], mean: jax.Array, var: jax.Array, num_nodes: int = 32
) -> tuple[jax.Array, jax.Array]:
    """(f^E, f^V): the mean and variance of f(a) for a ~ N(mean, var), elementwise,
    by Gauss-Hermite quadrature with ``num_nodes`` nodes (exact for polynomials of
    degree < 2 num_nodes; smooth bounded f such as tanh and the sigmoid converge
    fast)."""
    nodes, weights = np.polynomial.hermite.hermgauss(num_nodes)
    nodes = jnp.asarray(nodes * np.sqrt(2.0), mean.dtype)
    weights = jnp.asarray(weights / np.sqrt(np.pi), mean.dtype)
    values = f(mean[..., None] + jnp.sqrt(var)[..., None] * nodes)
    f_mean = values @ weights
    f_var = jnp.square(values - f_mean[..., None]) @ weights
    return f_mean, jnp.maximum(f_var, 0.0)


class FastDropoutRNNCell(nn.Module):
    """One step of the FD-RNN of STORN's appendix, propagating moments:

      E[a_t], V[a_t] = dropout moments of x_t W_in (keep ``keep_input``) plus
                       those of h_{t-1} W_rec (keep ``keep_hidden``), plus b
      E[h_t], V[h_t] = f^E, f^V of ``activation`` at (E[a_t], V[a_t])

    carry = (E[h], V[h]), both [H]; the output is E[h_t]. The inputs x_t are data
    (variance 0). With both keep rates 1 it is the plain RNN h_t = f(x_t W_in +
    h_{t-1} W_rec + b) (up to quadrature error, which is nil for f = identity).
    """

    features: int
    keep_input: float = 0.8
    keep_hidden: float = 0.8
    activation: Callable[[jax.Array], jax.Array] = jnp.tanh

    @nn.compact
    def __call__(self, carry, x: jax.Array):
        h_mean, h_var = carry
        w_in = self.param("kernel_in", nn.initializers.lecun_normal(), (x.shape[-1], self.features), jnp.float32)
        w_rec = self.param("kernel_rec", nn.initializers.orthogonal(), (self.features, self.features), jnp.float32)
        b = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32)
        e_x, v_x = dropout_linear_moments(x, jnp.zeros_like(x), w_in, self.keep_input, b)
        e_h, v_h = dropout_linear_moments(h_mean, h_var, w_rec, self.keep_hidden)
        new = transfer_moments(self.activation, e_x + e_h, v_x + v_h)
        return new, new[0]

    @nn.nowrap
    def zero_carry(self, dtype=jnp.float32):
        z = jnp.zeros((self.features,), dtype)
        return (z, z)

    @staticmethod
    def output(carry) -> jax.Array:
        """E[h], the mean of the hidden state."""
        return carry[0]
