"""EM and gradient fitting of LGSSMs on synthetic data (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from seqvi.ssm import lgssm, lgssm_fit


def batch_log_likelihood(params, ys, inputs=None, mask=None):
    in_axes = (None, 0, None if inputs is None else 0, None if mask is None else 0)
    return jax.vmap(lgssm._filter, in_axes=in_axes)(params, ys, inputs, mask).log_likelihood.sum()


def stationary_autocovariances(p: lgssm.Params, lags: int) -> np.ndarray:
    """Cov[y_{t+k}, y_t] = C A^k S C^T (+ R at k = 0) with S = A S A^T + Q: invariant
    to the state-space similarity transforms that make A, C unidentifiable."""
    a, q, c = map(np.asarray, (p.transition_matrix, p.transition_cov, p.emission_matrix))
    n = a.shape[0]
    s = np.linalg.solve(np.eye(n * n) - np.kron(a, a), q.reshape(-1)).reshape(n, n)
    return np.stack([c @ np.linalg.matrix_power(a, k) @ s @ c.T + (np.asarray(p.emission_cov) if k == 0 else 0)
                     for k in range(lags)])


@pytest.fixture(scope="module")
def synthetic():
    with jax.enable_x64(True):
        n, m, num_steps, batch = 2, 3, 100, 64
        true = lgssm.Params(
            jnp.zeros(n), jnp.eye(n), jnp.array([[0.9, 0.2], [-0.2, 0.8]]), 0.1 * jnp.eye(n),
            jax.random.normal(jax.random.PRNGKey(0), (m, n), jnp.float64), 0.2 * jnp.eye(m) + 0.05,
            emission_bias=jnp.array([1.0, -1.0, 0.5]),
        )
        keys = jax.random.split(jax.random.PRNGKey(1), 2 * batch)
        _, ys = jax.vmap(lambda k: lgssm.sample(k, true, num_steps))(keys)
        mask = np.asarray(jax.random.uniform(jax.random.PRNGKey(2), ys.shape) > 0.2)
        ys_train = jnp.where(mask[:batch], ys[:batch], jnp.nan)
        init = lgssm.Params(
            jnp.zeros(n), jnp.eye(n), 0.5 * jnp.eye(n), jnp.eye(n),
            jax.random.normal(jax.random.PRNGKey(3), (m, n), jnp.float64), jnp.eye(m), emission_bias=jnp.zeros(m),
        )
        fitted, history = lgssm_fit.em(init, ys_train, mask=mask[:batch], num_iters=150)
        return true, fitted, history, ys, mask, batch


def test_em_never_decreases_the_log_likelihood(x64, synthetic):
    _, _, history, _, _, _ = synthetic
    assert np.all(np.diff(history) > -1e-8 * np.abs(history[1:]))
    assert history[-1] > history[0] + 100


def test_em_recovers_the_model_through_predictive_distributions(x64, synthetic):
    true, fitted, history, ys, mask, batch = synthetic
    train_true = batch_log_likelihood(true, ys[:batch], mask=mask[:batch])
    train_fit = batch_log_likelihood(fitted, ys[:batch], mask=mask[:batch])
    assert train_fit > train_true  # the maximum-likelihood fit beats the truth on its own data
    num_obs = mask[batch:].sum()
    held_true = batch_log_likelihood(true, ys[batch:], mask=mask[batch:]) / num_obs
    held_fit = batch_log_likelihood(fitted, ys[batch:], mask=mask[batch:]) / num_obs
    assert abs(held_fit - held_true) < 0.02  # nats per observed entry
    np.testing.assert_allclose(fitted.emission_bias, true.emission_bias, atol=0.15)
    want, got = stationary_autocovariances(true, 4), stationary_autocovariances(fitted, 4)
    assert np.max(np.abs(got - want)) < 0.15 * np.max(np.abs(want))
    np.testing.assert_allclose(np.sort(np.abs(np.linalg.eigvals(fitted.transition_matrix))),
                               np.sort(np.abs(np.linalg.eigvals(true.transition_matrix))), atol=0.05)


def test_em_exact_with_inputs_full_covariances_and_missing_entries(x64):
    """Monotonicity with a full R and partially observed steps checks that the
    expected statistics of the missing entries are exact."""
    params = lgssm.random_params(jax.random.PRNGKey(4), 3, 3, input_dim=2, biases=True, dtype=jnp.float64)
    inputs = jax.random.normal(jax.random.PRNGKey(5), (6, 30, 2), jnp.float64)
    _, ys = jax.vmap(lambda k, u: lgssm.sample(k, params, 30, u))(jax.random.split(jax.random.PRNGKey(6), 6), inputs)
    mask = jax.random.uniform(jax.random.PRNGKey(7), ys.shape) > 0.4
    init = lgssm.random_params(jax.random.PRNGKey(8), 3, 3, input_dim=2, biases=True, dtype=jnp.float64)
    fitted, history = lgssm_fit.em(init, ys, inputs, mask, num_iters=40)
    assert np.all(np.diff(history) > -1e-8 * np.abs(history[1:]))
    assert np.all(np.linalg.eigvalsh(fitted.emission_cov) > 0)


def test_em_learns_only_the_named_groups(x64, synthetic):
    true, _, _, ys, mask, batch = synthetic
    start = true._replace(emission_cov=jnp.eye(3))
    fitted, _ = lgssm_fit.em(start, ys[:batch], mask=mask[:batch], num_iters=3, learn=("emission",))
    np.testing.assert_array_equal(fitted.transition_matrix, true.transition_matrix)
    np.testing.assert_array_equal(fitted.initial_cov, true.initial_cov)
    assert not np.allclose(fitted.emission_cov, start.emission_cov)


def test_gradient_fit_reaches_the_em_optimum(x64):
    params = lgssm.random_params(jax.random.PRNGKey(0), 2, 2, biases=True, dtype=jnp.float64)
    _, ys = jax.vmap(lambda k: lgssm.sample(k, params, 40))(jax.random.split(jax.random.PRNGKey(1), 10))
    init = lgssm.random_params(jax.random.PRNGKey(7), 2, 2, biases=True, dtype=jnp.float64)
    _, em_history = lgssm_fit.em(init, ys, num_iters=200)
    fitted, history = lgssm_fit.fit_gradient(init, ys, num_steps=1000, optimizer=optax.adam(5e-2))
    final = batch_log_likelihood(fitted, ys)
    assert final > batch_log_likelihood(params, ys)
    assert abs(final - em_history[-1]) < 0.5
    assert history[-1] > history[0]


def test_fit_errors(x64):
    params = lgssm.random_params(jax.random.PRNGKey(0), 2, 2, num_timesteps=5, dtype=jnp.float64)
    ys = jnp.zeros((5, 2))
    with pytest.raises(ValueError, match="time-varying"):
        lgssm_fit.em(params, ys, num_iters=1)
    fixed = lgssm.random_params(jax.random.PRNGKey(0), 2, 2, dtype=jnp.float64)
    with pytest.raises(ValueError, match="unknown parameter groups"):
        lgssm_fit.em(fixed, ys, learn=("dynamics",))
    with pytest.raises(ValueError, match="mask must have shape"):
        lgssm_fit.em(fixed, ys[None], mask=jnp.ones((1, 4), bool))
    # The fitters are Python loops: under jit or vmap, a TypeError that says so (not a bare
    # TracerBoolConversionError) and names what does trace.
    with pytest.raises(TypeError, match=r"lgssm_fit.em runs its iterations as a Python loop.*trace em_step"):
        jax.jit(lambda y: lgssm_fit.em(fixed, y, num_iters=2)[1])(ys)
    with pytest.raises(TypeError, match=r"lgssm_fit.fit_gradient .* cannot be traced by jax.jit, vmap or grad"):
        jax.vmap(lambda y: lgssm_fit.fit_gradient(fixed, y, num_steps=2)[1])(ys[None])


# Issue 18, Kind 1: fitting never returns NaN when the data carry no information
# about some parameters; those are left unchanged, with a warning that says so.

def _all_finite(params):
    return all(np.all(np.isfinite(x)) for x in jax.tree.leaves(params))


@pytest.mark.parametrize("fit", ["em", "gradient"])
def test_one_step_sequences_leave_the_transition_unchanged(x64, fit):
    params = lgssm.random_params(jax.random.PRNGKey(0), 2, 2, input_dim=1, biases=True, dtype=jnp.float64)
    inputs = jax.random.normal(jax.random.PRNGKey(1), (6, 1, 1), jnp.float64)
    _, ys = jax.vmap(lambda k, u: lgssm.sample(k, params, 1, u))(jax.random.split(jax.random.PRNGKey(2), 6), inputs)
    with pytest.warns(RuntimeWarning, match="no information about the 'transition' parameters .*T = 1"):
        if fit == "em":
            fitted, history = lgssm_fit.em(params, ys, inputs, num_iters=3)
        else:
            fitted, history = lgssm_fit.fit_gradient(params, ys, inputs, num_steps=3)
    assert _all_finite(fitted) and np.all(np.isfinite(history))
    for name in lgssm_fit.GROUPS["transition"]:
        np.testing.assert_array_equal(getattr(fitted, name), getattr(params, name), err_msg=name)
    assert not np.allclose(fitted.emission_cov, params.emission_cov)  # the rest is still learnt


@pytest.mark.parametrize("fit", ["em", "gradient"])
def test_all_missing_leaves_everything_unchanged(x64, fit):
    params = lgssm.random_params(jax.random.PRNGKey(0), 2, 2, dtype=jnp.float64)
    ys = jnp.full((3, 4, 2), jnp.nan)
    mask = np.zeros((3, 4), bool)
    with pytest.warns(RuntimeWarning, match="no information about the 'initial', 'transition', 'emission' param"):
        if fit == "em":
            fitted, history = lgssm_fit.em(params, ys, mask=mask, num_iters=2)
        else:
            fitted, history = lgssm_fit.fit_gradient(params, ys, mask=mask, num_steps=2)
    np.testing.assert_array_equal(history, 0.0)
    for a, b in zip(jax.tree.leaves(fitted), jax.tree.leaves(params)):
        np.testing.assert_array_equal(a, b)


def test_unidentified_regression_is_left_unchanged(x64):
    """Inputs that are all zero carry no information about B: the M-step's
    regression is singular; the transition group stays as it was."""
    params = lgssm.random_params(jax.random.PRNGKey(0), 2, 2, input_dim=1, dtype=jnp.float64)
    inputs = jnp.zeros((4, 5, 1))
    _, ys = jax.vmap(lambda k, u: lgssm.sample(k, params, 5, u))(jax.random.split(jax.random.PRNGKey(1), 4), inputs)
    with pytest.warns(RuntimeWarning, match="M-step for the 'transition' parameters is not finite"):
        fitted, history = lgssm_fit.em(params, ys, inputs, num_iters=3)
    assert _all_finite(fitted)
    np.testing.assert_array_equal(fitted.input_matrix, params.input_matrix)
    assert np.all(np.diff(history) > -1e-8 * np.abs(history[1:]))


@pytest.mark.parametrize("kind", ["length_1_padded", "entries", "one_step_observed"])
def test_em_at_the_length_edges_stays_finite_and_monotone(x64, kind):
    params = lgssm.random_params(jax.random.PRNGKey(3), 2, 2, biases=True, dtype=jnp.float64)
    _, ys = jax.vmap(lambda k: lgssm.sample(k, params, 4, None))(jax.random.split(jax.random.PRNGKey(4), 5))
    lengths = np.array([1, 4, 2, 1, 3])
    if kind == "length_1_padded":
        mask = np.arange(4)[None, :] < lengths[:, None]
    elif kind == "entries":
        mask = np.asarray(jax.random.uniform(jax.random.PRNGKey(5), ys.shape) > 0.6)
    else:
        mask = np.zeros((5, 4), bool)
        mask[0, 0] = True
    ys = jnp.where(mask if mask.ndim == 3 else mask[..., None], ys, jnp.nan)
    init = lgssm.random_params(jax.random.PRNGKey(6), 2, 2, biases=True, dtype=jnp.float64)
    fitted, history = lgssm_fit.em(init, ys, mask=mask, num_iters=8)
    assert _all_finite(fitted) and np.all(np.isfinite(history))
    assert np.all(np.diff(history) > -1e-8 * np.abs(history[1:]))
    assert np.all(np.linalg.eigvalsh(fitted.emission_cov) > -1e-10)


def test_nan_in_any_sequence_is_refused(x64):
    params = lgssm.random_params(jax.random.PRNGKey(0), 2, 2, dtype=jnp.float64)
    ys = jnp.zeros((3, 4, 2)).at[2, 1, 0].set(jnp.nan)
    with pytest.raises(ValueError, match=r"ys must be finite where observed, but ys\[2, 1\]"):
        lgssm_fit.em(params, ys, num_iters=1)
    with pytest.raises(ValueError, match=r"inputs must be \[B, T, k\] with B = 3"):
        lgssm_fit.em(lgssm.random_params(jax.random.PRNGKey(0), 2, 2, input_dim=1, dtype=jnp.float64),
                     jnp.zeros((3, 4, 2)), jnp.zeros((2, 4, 1)), num_iters=1)
