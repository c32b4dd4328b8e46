"""Per-step diagnostics of a trained StepModel along one sequence (the traces of
the VHRNN paper's Figures 2-4).

One particle follows the posterior: z_t ~ q(z_t | state, x_t, ctx_t) and the
state advances with (z_t, x_t). At every step, before x_t is used:

  kl_t          = KL(q(z_t | .) || p(z_t | .))         (analytic, diagonal Gaussians)
  prediction_t  = E[x_t | z_t = mean of p(z_t | .)]    (one-step-ahead prediction)
  error_t       = || prediction_t - x_t ||_2
  log_var_t     = log Var[x_t | z_t = mean of p(z_t | .)]    [D]
  reconstruction_t          = E[x_t | z_t ~ q]            (the thesis's Figure 5.3)
  reconstruction_log_var_t  = log Var[x_t | z_t ~ q]      [D]

Padded steps (t >= length) hold zeros.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from seqvi.core import StepModel


class StepDiagnostics(NamedTuple):
    kl: jax.Array  # [T]
    prediction: jax.Array  # [T, D]
    error: jax.Array  # [T]
    log_var: jax.Array  # [T, D]
    reconstruction: jax.Array  # [T, D]
    reconstruction_log_var: jax.Array  # [T, D]


def step_diagnostics(
    model: StepModel, params, xs: jax.Array, length: jax.Array, key: jax.Array, inputs=None
) -> StepDiagnostics:
    """The traces above for one sequence xs [T, D] with ``length`` valid steps."""
    if not isinstance(model, StepModel):
        raise TypeError(f"step_diagnostics needs a StepModel, got {type(model).__name__}")
    if xs.ndim != 2:
        raise ValueError(f"xs must have shape [T, D], got {xs.shape}")
    ctx = model.context(params, xs, length, inputs)
    num_steps = xs.shape[0]

    def body(state, inp):
        t, x_t, ctx_t, k = inp
        prior = model.prior(params, state, ctx_t)
        posterior = model.proposal(params, state, ctx_t, x_t)
        predictive = model.emission(params, state, prior.mean(), ctx_t)
        prediction = predictive.mean()
        z_t = posterior.sample(seed=k)
        reconstruction = model.emission(params, state, z_t, ctx_t)
        new_state = model.update(params, state, z_t, x_t, ctx_t)
        valid = t < length
        out = StepDiagnostics(
            posterior.kl_divergence(prior),
            prediction,
            jnp.linalg.norm(prediction - x_t),
            jnp.log(predictive.variance()),
            reconstruction.mean(),
            jnp.log(reconstruction.variance()),
        )
        out = jax.tree.map(lambda v: jnp.where(valid, v, jnp.zeros_like(v)), out)
        new_state = jax.tree.map(lambda n, o: jnp.where(valid, n, o), new_state, state)
        return new_state, out

    steps = (jnp.arange(num_steps), xs, ctx, jax.random.split(key, num_steps))
    _, out = jax.lax.scan(body, model.initial_state(params), steps)
    return out
