"""Prediction far into the future from memory (thesis, sections 7.4.1-7.4.2):
per-horizon errors and log-likelihoods of the predicted views, split into places
visited during the memorisation phase ("revisited") and the others, and the R^2 of
affine maps from inferred states to true poses. For GTM-SM and its baselines: an
action-conditioned StepModel (filtered over the first tau views, then its emission
means under the later actions) and the KVAE (Kalman smoothing with the later views
missing). ``experiments/gtmsm_report.py`` prints and draws them for trained runs.

Every per-horizon array is [H] with H = T - tau predicted steps; errors are mean
absolute per-pixel errors, log-likelihoods are of the true view under
N(prediction, PIXEL_SCALE^2 I) in nats.
"""

import jax
import jax.numpy as jnp
import numpy as np

from seqvi import dist, smc
from seqvi.data import first_person, navigation
from seqvi.models.gtmsm import GTMSM
from seqvi.models.kvae import KVAE

PIXEL_SCALE = 0.1  # the log-likelihood of a true view: under N(prediction, 0.1^2 I) for every model


def first_person_revisited(poses: np.ndarray, tau: int) -> np.ndarray:
    """[N, T - tau] bool: the pose after tau lies within one walking step (0.25) of a
    memorised pose and its heading within half a rotating agent's turn (pi / 41)."""
    out = np.zeros((poses.shape[0], poses.shape[1] - tau), bool)
    for n in range(poses.shape[0]):
        near = np.linalg.norm(poses[n, tau:, None, :2] - poses[n, None, :tau, :2], axis=-1) < first_person.WALK_STEP
        turn = np.abs(np.angle(np.exp(1j * (poses[n, tau:, None, 2] - poses[n, None, :tau, 2]))))
        out[n] = np.any(near & (turn < np.pi / first_person.TURNS_PER_CIRCLE + 1e-4), axis=1)
    return out


def predict_frames(model, params, rows: jax.Array, tau: int, seed: int = 0):
    """(predicted views [N, T - tau, P], states [N, T, S] or None) for rows [N, T, P + A]
    of views and actions: GTM-SM's ``predict``; for an action-conditioned StepModel
    (the VRNN and SRNN baselines), a particle filter (16 particles) over the first tau views
    and actions, then its emission means under the later actions
    (``seqvi.smc.continue_sequence``); for the KVAE, Kalman smoothing with the views
    after tau missing (``KVAE.posterior_states``: its states are E[z_t | x_{1:tau}, a_{1:T}])."""
    keys = jax.random.split(jax.random.key(seed), rows.shape[0])
    if isinstance(model, GTMSM):
        out = jax.jit(jax.vmap(lambda xs, k: model.predict(params, xs, k)))(rows, keys)
        return np.asarray(out.frames[:, tau:]), np.asarray(out.states)
    if isinstance(model, KVAE):
        frames, actions = model.split_rows(rows)
        observed = jnp.arange(rows.shape[1]) < tau

        def smooth(x, u):
            z, a = model.posterior_states(params, x, observed, u)
            return jax.nn.sigmoid(model.decode(params, a))[tau:], z

        predicted, states = jax.jit(jax.vmap(smooth))(frames, actions)
        return np.asarray(predicted), np.asarray(states)
    frames, actions = rows[..., :model.data_dim], rows[..., model.data_dim:]
    steps = rows.shape[1] - tau

    def one(x, u, k):
        return smc.continue_sequence(model, params, k, x[:tau], tau, steps, num_particles=16, emission_mode="mean",
                                     inputs=u[:tau], future_inputs=u[tau:])

    return np.asarray(jax.jit(jax.vmap(one))(frames, actions, keys)), None


def first_person_metrics(model, params, videos: first_person.FirstPerson, tau: int, seed: int = 0) -> dict:
    """Per-horizon error and log-likelihood (revisited / unvisited; ``first_person_revisited``),
    and the R^2 of affine maps, per video, from the states' [cos s3, sin s3] to the true
    heading's [cos, sin] ('r2': fitted on the memorised steps, scored on the predicted
    ones, so a wrong turning rate shows) and (walking agent) from the memorised [s1, s2]
    to the true position ('r2_position')."""
    rows = jnp.asarray(first_person.rows(videos, getattr(model, "displacement_weight", 0) > 0))
    predicted, states = predict_frames(model, params, rows, tau, seed)
    true = np.asarray(rows[:, tau:, :predicted.shape[-1]])
    out = _horizon_summary(predicted, true, first_person_revisited(videos.poses, tau))
    if not isinstance(model, GTMSM):  # a baseline's states (the KVAE's z) hold no heading component
        return dict(out, r2=[np.nan], r2_position=[np.nan], predicted=predicted, states=None)
    circle = lambda angle: np.stack([np.cos(angle), np.sin(angle)], -1)  # noqa: E731
    r2_heading = [affine_r2(circle(s[:tau, 2]), circle(p[:tau, 2]), circle(s[tau:, 2]), circle(p[tau:, 2]))
                  for s, p in zip(states, videos.poses)]
    r2_position = [affine_r2(s[:tau, :2], p[:tau, :2].astype(float)) for s, p in zip(states, videos.poses)]
    return dict(out, r2=r2_heading, r2_position=r2_position, predicted=predicted, states=states)


def _horizon_summary(predicted, true, revisited) -> dict:
    error = np.abs(predicted - true).mean(-1)  # [N, H]
    log_lik = np.asarray(dist.diag_gaussian(jnp.asarray(predicted), jnp.full(predicted.shape, PIXEL_SCALE))
                         .log_prob(jnp.asarray(true)))

    def by_horizon(values, mask):
        total, count = (values * mask).sum(0), mask.sum(0)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    return {"error_revisited": by_horizon(error, revisited), "error_unvisited": by_horizon(error, ~revisited),
            "error_all": error.mean(0), "loglik_revisited": by_horizon(log_lik, revisited),
            "loglik_unvisited": by_horizon(log_lik, ~revisited), "fraction_revisited": float(revisited.mean())}


def affine_r2(states: np.ndarray, positions: np.ndarray, test_states=None, test_positions=None) -> float:
    """R^2 of the least-squares affine map states [T, S] -> positions [T, P], scored
    on (test_states, test_positions) when given (out of sample), else on the fit's own."""
    design = np.concatenate([states, np.ones((states.shape[0], 1))], 1)
    coef, *_ = np.linalg.lstsq(design, positions, rcond=None)
    if test_states is not None:
        design, positions = np.concatenate([test_states, np.ones((test_states.shape[0], 1))], 1), test_positions
    residual = np.sum((positions - design @ coef) ** 2)
    total = np.sum((positions - positions.mean(0)) ** 2)
    return float(1.0 - residual / total) if total > 1e-9 else float("nan")


def horizon_metrics(model, params, walks: navigation.Navigation, tau: int | None = None, seed: int = 0) -> dict:
    """Per-horizon error and log-likelihood (revisited / unvisited) and, per walk, the
    R^2 of the affine map from the memorised states to the positions ('r2', in sample)
    and of the same map applied to the predicted steps' states ('r2_predicted': they
    come from the actions alone, so it asks whether the states keep tracking the
    agent); tau: where prediction starts (default: GTM-SM's memory_length)."""
    tau = model.memory_length if tau is None else tau
    rows = jnp.asarray(navigation.rows(walks))
    predicted, states = predict_frames(model, params, rows, tau, seed)
    revisited = np.zeros(predicted.shape[:2], bool)
    for n in range(walks.positions.shape[0]):
        seen = {tuple(q) for q in walks.positions[n, :tau]}
        revisited[n] = [tuple(q) in seen for q in walks.positions[n, tau:]]
    out = _horizon_summary(predicted, walks.frames[:, tau:], revisited)
    if states is None:
        return dict(out, r2=[np.nan], r2_predicted=[np.nan], predicted=predicted, states=None)
    positions = walks.positions.astype(float)
    r2 = [affine_r2(s[:tau], p[:tau]) for s, p in zip(states, positions)]
    r2_predicted = [affine_r2(s[:tau], p[:tau], s[tau:], p[tau:]) for s, p in zip(states, positions)]
    return dict(out, r2=r2, r2_predicted=r2_predicted, predicted=predicted, states=states)
