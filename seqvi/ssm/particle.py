"""Particle filters for state-space models given by distributions, on the
shared SMC engine (``seqvi.smc.run``).

A ``Model`` is three functions returning distrax distributions (any object with
``sample_and_log_prob`` and ``log_prob``):

  initial()           p(x_1)
  transition(x, u)    p(x_t | x_{t-1} = x, u_t = u)   (u is None without inputs)
  emission(x)         p(y_t | x_t = x)

The bootstrap filter proposes from the transition, so each incremental weight
is p(y_t | x_t). The guided filter proposes from a user ``Proposal``
(initial(y_1) and step(x, y_t, u_t)) and weights by
p(y_t | x_t) p(x_t | x_{t-1}) / q(x_t | x_{t-1}, y_t). Either resamples with any
scheme of ``seqvi.smc.resampling`` when ESS / N < ``ess_threshold``. The first
step is a real branch (``lax.cond`` on the unbatched time index), so only one of
initial() and transition() is evaluated per step.
"""

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import distrax
import jax
import jax.numpy as jnp
from jaxtyping import Array, Int, Shaped

from seqvi.core import StepModel, StepOutput
from seqvi.smc import resampling as resampling_lib
from seqvi.smc import smc
from seqvi.ssm import gaussian, lgssm


class Model(NamedTuple):
    initial: Callable[[], Any]
    transition: Callable[[jax.Array, Any], Any]
    emission: Callable[[jax.Array], Any]


class Proposal(NamedTuple):
    initial: Callable[[jax.Array], Any]  # y_1 -> q(x_1 | y_1)
    step: Callable[[jax.Array, jax.Array, Any], Any]  # (x_{t-1}, y_t, u_t) -> q(x_t | .)


class FilterResult(NamedTuple):
    log_likelihood: jax.Array  # [] log Z-hat, an unbiased estimate of p(y_{1:T}) in exp
    step_log_likelihoods: jax.Array  # [T] log Z_t - log Z_{t-1}
    filtered_means: jax.Array  # [T, n] weighted particle mean of x_t given y_{1:t} (NaN where ess is 0)
    filtered_covs: jax.Array  # [T, n, n] weighted particle covariance (NaN where ess is 0)
    ess: jax.Array  # [T] effective sample size before resampling; 0 when every weight is zero
    resampled: jax.Array  # [T] bool
    particles: jax.Array  # [N, n] particles after the last step
    log_weights: jax.Array  # [N] their log-weights


@dataclasses.dataclass(frozen=True)
class _FilterStepModel(StepModel):
    """The state-space model as a StepModel whose state is the particle x_{t-1}."""

    model: Model
    proposal: Proposal | None

    def initial_state(self, params):
        d = self.model.initial()
        return jnp.zeros(d.event_shape, d.dtype)

    def context(self, params, xs, length, inputs=None):
        return jnp.arange(xs.shape[0]), inputs

    def step(self, params, state, key, y_t, ctx_t):
        t, u_t = ctx_t
        model, proposal = self.model, self.proposal

        def first():
            if proposal is None:
                x, log_q = model.initial().sample_and_log_prob(seed=key)
                return x, log_q, log_q
            x, log_q = proposal.initial(y_t).sample_and_log_prob(seed=key)
            return x, model.initial().log_prob(x), log_q

        def later():
            if proposal is None:
                x, log_q = model.transition(state, u_t).sample_and_log_prob(seed=key)
                return x, log_q, log_q
            x, log_q = proposal.step(state, y_t, u_t).sample_and_log_prob(seed=key)
            return x, model.transition(state, u_t).log_prob(x), log_q

        x, log_p, log_q = jax.lax.cond(t == 0, first, later)
        x = x.astype(state.dtype)
        return StepOutput(x, model.emission(x).log_prob(y_t), log_p, log_q)


def _moments(particles: jax.Array, log_weights: jax.Array):
    w = jax.nn.softmax(log_weights)
    mean = w @ particles
    centred = particles - mean
    return mean, (w[:, None] * centred).T @ centred


def _event_shape(fn, *args) -> tuple[int, ...]:
    """The event shape of the distribution ``fn(*args)``, found by tracing only."""
    return jax.eval_shape(lambda *a: jnp.zeros(fn(*a).event_shape), *args).shape


def _check(model: Model, proposal: Proposal | None, ys, inputs, length) -> None:
    """Shapes eagerly (the state, transition, emission and proposal against ys and
    each other); ys finite on the valid steps eagerly when concrete, else a
    ``checkify`` debug check. The range of ``length`` is the engine's check."""
    if jnp.ndim(ys) != 2 or jnp.shape(ys)[0] < 1:
        raise ValueError(f"ys must be one sequence of shape [T, m] with T >= 1, got {jnp.shape(ys)}")
    num_steps = ys.shape[0]
    for leaf in jax.tree.leaves(inputs):
        if jnp.ndim(leaf) < 1 or jnp.shape(leaf)[0] != num_steps:
            raise ValueError(f"inputs must have a leading time axis T = {num_steps}, got shape {jnp.shape(leaf)}")
    event = model.initial().event_shape
    if len(event) != 1:
        raise ValueError(f"the state must be a vector (event shape [n]), got event shape {event}")
    x = jax.ShapeDtypeStruct(event, model.initial().dtype)
    y = jax.ShapeDtypeStruct(ys.shape[1:], ys.dtype)
    u = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), inputs)
    shapes = {"model.transition(x, u)": _event_shape(model.transition, x, u)}
    if proposal is not None:
        shapes["proposal.initial(y)"] = _event_shape(proposal.initial, y)
        shapes["proposal.step(x, y, u)"] = _event_shape(proposal.step, x, y, u)
    for name, shape in shapes.items():
        if shape != event:
            raise ValueError(f"{name} has event shape {shape} but the state (model.initial()) has {event}")
    emitted = _event_shape(model.emission, x)
    if emitted != ys.shape[1:]:
        raise ValueError(
            f"ys has shape {ys.shape}, so each y_t is {ys.shape[1:]}, but model.emission(x) has event shape "
            f"{emitted}: ys must be [T, {', '.join(map(str, emitted))}]"
        )
    length = num_steps if length is None else length
    bad = ~jnp.all(jnp.isfinite(ys), axis=1) & (jnp.arange(num_steps) < length)
    lgssm._require(~jnp.any(bad), "ys must be finite on its valid steps t < length, but ys[{t}] holds NaN or inf",
                   t=jnp.argmax(bad))


def _run(key, model, proposal, ys, num_particles, resampling, ess_threshold, inputs, length) -> FilterResult:
    if resampling not in resampling_lib.RESAMPLERS:
        raise ValueError(f"unknown resampling {resampling!r}; choose from {sorted(resampling_lib.RESAMPLERS)}")
    _check(model, proposal, ys, inputs, length)
    length = ys.shape[0] if length is None else length
    r = smc.run(
        _FilterStepModel(model, proposal), None, ys, jnp.asarray(length), key,
        num_particles=num_particles, resampler=resampling_lib.get_resampler(resampling),
        ess_threshold=ess_threshold, inputs=inputs, trace_fn=_moments,
    )
    means, covs = r.trace
    return FilterResult(r.log_z, r.log_z_increments, means, covs, r.ess, r.resampled,
                        r.final_states, r.final_log_weights)


def bootstrap_filter(
    key: jax.Array,
    model: Model,
    ys: Shaped[Array, "T m"],
    *,
    num_particles: int,
    resampling: str = "systematic",
    ess_threshold: float = 0.5,
    inputs: Shaped[Array, "T ..."] | None = None,
    length: Int[Array, ""] | None = None,
) -> FilterResult:
    """The bootstrap particle filter (proposal = transition) over ys [T, m].

    ``ess_threshold`` = 1 resamples at every step, 0 never; ``length`` (a scalar int) marks a
    padded sequence (steps from ``length`` on are ignored); ``inputs`` have a leading time axis T.
    """
    return _run(key, model, None, ys, num_particles, resampling, ess_threshold, inputs, length)


def guided_filter(
    key: jax.Array,
    model: Model,
    proposal: Proposal,
    ys: Shaped[Array, "T m"],
    *,
    num_particles: int,
    resampling: str = "systematic",
    ess_threshold: float = 0.5,
    inputs: Shaped[Array, "T ..."] | None = None,
    length: Int[Array, ""] | None = None,
) -> FilterResult:
    """A particle filter with the user ``proposal`` q(x_t | x_{t-1}, y_t, u_t), over ys [T, m];
    the other arguments as in ``bootstrap_filter``."""
    return _run(key, model, proposal, ys, num_particles, resampling, ess_threshold, inputs, length)


def _mvn(mean, cov):
    return distrax.MultivariateNormalTri(mean, jnp.linalg.cholesky(cov))


def _check_fixed(params: lgssm.Params) -> None:
    """``lgssm.check_params``, and refuse time-varying fields (only index 0 would be used)."""
    lgssm.check_params(params)
    for name, x in params._asdict().items():
        if x is not None and name not in ("initial_mean", "initial_cov") and x.ndim > lgssm._FIXED_NDIM[name]:
            raise ValueError(f"the particle-filter view needs fixed-in-time parameters; params.{name} is "
                             f"time-varying with shape {x.shape}")


def from_lgssm(params: lgssm.Params) -> Model:
    """The particle-filter view of a fixed-in-time LGSSM (for checks against the Kalman filter)."""
    _check_fixed(params)

    def transition(x, u):
        a, offset, q = lgssm.transition_at(params, 0, None if u is None else u[None])
        return _mvn(a @ x + offset, q)

    def emission(x):
        c, d, r = lgssm.emission_at(params, 0)
        return _mvn(c @ x + d, r)

    return Model(lambda: _mvn(params.initial_mean, params.initial_cov), transition, emission)


def optimal_lgssm_proposal(params: lgssm.Params) -> Proposal:
    """The locally optimal proposal p(x_t | x_{t-1}, y_t) of a fixed LGSSM: each weight is
    p(y_t | x_{t-1}), which no longer depends on the sampled x_t."""
    _check_fixed(params)

    def initial(y):
        c, d, r = lgssm.emission_at(params, 0)
        m, p, _ = gaussian.condition_linear(params.initial_mean, params.initial_cov, c, r, y - c @ params.initial_mean - d)
        return _mvn(m, p)

    def step(x, y, u):
        a, offset, q = lgssm.transition_at(params, 0, None if u is None else u[None])
        c, d, r = lgssm.emission_at(params, 0)
        mean = a @ x + offset
        m, p, _ = gaussian.condition_linear(mean, q, c, r, y - c @ mean - d)
        return _mvn(m, p)

    return Proposal(initial, step)
