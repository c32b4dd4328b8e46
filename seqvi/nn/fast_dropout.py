"""Fast dropout (Wang & Manning 2013; for recurrent networks Bayer et al. 2013,
"On fast dropout and its applicability to recurrent networks"), the
deterministic approximation of dropout that STORN's networks use (Bayer &
Osendorfer, section 2 and appendix): every unit is described by its mean and
variance under the dropout masks instead of by one masked sample.

For a = (m * x) W + b with independent masks m_i ~ Bernoulli(d_i) (d_i the keep rate,
the paper's "complementary dropout rate", one for all units or one per unit) and x
with independent components of mean
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
    mean: Float[Array, "*B D"], var: Float[Array, "*B D"], kernel: Float[Array, "D F"],
    keep: float | Float[Array, " D"], bias: Float[Array, " F"] | None = None,
) -> tuple[Float[Array, "*B F"], Float[Array, "*B F"]]:
    """(E[a], V[a]) of a = (m * x) W + b under input dropout with keep rate ``keep``
    in (0, 1] (one rate, or one per input unit [D]: m_i ~ Bernoulli(d_i)), for x of
    elementwise mean [.., D] and variance [.., D] (see the module docstring).
    Raises ValueError for a Python float keep rate outside (0, 1]; an array of
    rates is not checked (it may be traced), so keep it in (0, 1) by construction."""
    if isinstance(keep, (int, float)) and not 0.0 < keep <= 1.0:
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

    ``learn_keep=True`` makes the keep rates parameters, as STORN does for its
    recognition models ("we can release the fixed dropout rates ... and instead
    integrate them into the set of adaptable parameters", appendix, Details on
    Learning): one rate per input unit and one per hidden unit, d = sigmoid(l),
    with l initialised at logit(``keep_input``) and logit(``keep_hidden``), so
    the rates stay in (0, 1). The paper does not say whether a rate is shared by
    a layer; one per unit is this module's choice. Raises ValueError (on first
    use) for fixed keep rates outside (0, 1], or for learned ones outside (0, 1).
    """

    features: int
    keep_input: float = 0.8
    keep_hidden: float = 0.8
    activation: Callable[[jax.Array], jax.Array] = jnp.tanh
    learn_keep: bool = False

    def _keep(self, name: str, init: float, size: int):
        """The fixed rate ``init``, or [size] learned rates sigmoid(l), l from logit(init)."""
        if not self.learn_keep:
            return init
        if not 0.0 < init < 1.0:
            raise ValueError(f"a learned keep rate starts in (0, 1), got {name}={init}")
        logit = float(np.log(init) - np.log1p(-init))
        return jax.nn.sigmoid(self.param(f"{name}_logit", nn.initializers.constant(logit), (size,), jnp.float32))

    @nn.compact
    def __call__(self, carry, x: jax.Array):
        h_mean, h_var = carry
        w_in = self.param("kernel_in", nn.initializers.lecun_normal(), (x.shape[-1], self.features), jnp.float32)
        w_rec = self.param("kernel_rec", nn.initializers.orthogonal(), (self.features, self.features), jnp.float32)
        b = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32)
        keep_x = self._keep("keep_input", self.keep_input, x.shape[-1])
        keep_h = self._keep("keep_hidden", self.keep_hidden, self.features)
        e_x, v_x = dropout_linear_moments(x, jnp.zeros_like(x), w_in, keep_x, b)
        e_h, v_h = dropout_linear_moments(h_mean, h_var, w_rec, keep_h)
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
