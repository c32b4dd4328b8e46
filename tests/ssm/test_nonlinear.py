"""EKF and UKF: exact on linear models, sensible on a nonlinear one (float64)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from seqvi.ssm import lgssm, nonlinear

T = 12


@pytest.fixture(scope="module")
def linear():
    with jax.enable_x64(True):
        params = lgssm.random_params(jax.random.PRNGKey(0), 3, 2, input_dim=1, biases=True, dtype=jnp.float64)
        inputs = jax.random.normal(jax.random.PRNGKey(1), (T, 1), jnp.float64)
        _, ys = lgssm.sample(jax.random.PRNGKey(2), params, T, inputs)
        mask = np.array(jax.random.uniform(jax.random.PRNGKey(3), (T, 2)) > 0.3)
        model = nonlinear.Model(
            params.initial_mean, params.initial_cov, params.transition_cov, params.emission_cov,
            transition_fn=lambda x, u: params.transition_matrix @ x + params.input_matrix @ u + params.transition_bias,
            emission_fn=lambda x: params.emission_matrix @ x + params.emission_bias,
        )
        return params, model, inputs, ys, mask


@pytest.mark.parametrize(
    "run",
    [
        nonlinear.ekf_smoother,
        nonlinear.ukf_smoother,
        lambda *a: nonlinear.ukf_smoother(*a, alpha=0.5, beta=2.0, kappa=1.0),
    ],
    ids=["ekf", "ukf", "ukf_alpha_beta_kappa"],
)
def test_exact_on_a_linear_model(x64, linear, run):
    params, model, inputs, ys, mask = linear
    want = lgssm.smoother(params, ys, inputs, mask)
    got = run(model, ys, inputs, mask)
    for name in want._fields:
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), atol=1e-9, rtol=1e-9, err_msg=name)


def pendulum(dtype=jnp.float64):
    """Angle and angular velocity; observe sin(angle) (Sarkka's pendulum example)."""
    dt, g = 0.05, 9.81
    f = lambda x, u: jnp.array([x[0] + dt * x[1], x[1] - g * dt * jnp.sin(x[0])])
    q = 0.1 * jnp.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]], dtype)
    return nonlinear.Model(jnp.array([1.5, 0.0], dtype), 0.1 * jnp.eye(2, dtype=dtype), q,
                           jnp.array([[0.1]], dtype), f, lambda x: jnp.sin(x[:1]))


def simulate(model, key, num_steps):
    def step(x, k):
        x = model.transition_fn(x, None) + jnp.linalg.cholesky(model.transition_cov) @ jax.random.normal(k, (2,))
        return x, x

    k0, k1, k2 = jax.random.split(key, 3)
    x0 = model.initial_mean + jnp.linalg.cholesky(model.initial_cov) @ jax.random.normal(k0, (2,))
    _, xs = jax.lax.scan(step, x0, jax.random.split(k1, num_steps - 1))
    xs = jnp.concatenate([x0[None], xs])
    ys = jax.vmap(model.emission_fn)(xs) + jnp.sqrt(model.emission_cov[0, 0]) * jax.random.normal(k2, (num_steps, 1))
    return xs, ys


@pytest.mark.parametrize("smoother", [nonlinear.ekf_smoother, nonlinear.ukf_smoother], ids=["ekf", "ukf"])
def test_tracks_a_pendulum(x64, smoother):
    model = pendulum()
    xs, ys = simulate(model, jax.random.PRNGKey(0), 100)
    s = smoother(model, ys)
    rmse = lambda est: float(jnp.sqrt(jnp.mean((est[:, 0] - xs[:, 0]) ** 2)))
    filtered, smoothed = rmse(s.filtered_means), rmse(s.smoothed_means)
    naive = rmse(jnp.arcsin(jnp.clip(ys, -1.0, 1.0)))  # inverting h pointwise (the pendulum swings over)
    assert smoothed < filtered < 0.25 * naive, (smoothed, filtered, naive)
    assert np.all(np.linalg.eigvalsh(s.smoothed_covs) > 0)


def test_unscented_transform_of_a_quadratic(x64):
    """E[x^2] for x ~ N(m, s^2) is m^2 + s^2: the unscented transform gets it exactly."""
    mean, cov, _ = nonlinear.unscented_transform(lambda x: x**2, jnp.array([0.7]), jnp.array([[0.3]]))
    np.testing.assert_allclose(mean, [0.7**2 + 0.3])


def test_bad_models_give_clear_errors(x64):
    model = pendulum()
    with pytest.raises(ValueError, match="emission_fn"):
        nonlinear.ekf_filter(model.replace(emission_fn=lambda x: x), jnp.zeros((5, 1)))
    with pytest.raises(ValueError, match="transition_cov"):
        nonlinear.ukf_filter(model.replace(transition_cov=jnp.eye(3)), jnp.zeros((5, 1)))
    with pytest.raises(ValueError, match="ys has 2 dimensions"):
        nonlinear.ekf_filter(model, jnp.zeros((5, 2)))
    with pytest.raises(ValueError, match="n \\+ lambda"):
        nonlinear.ukf_filter(model, jnp.zeros((5, 1)), alpha=0.1, kappa=-2.0)


# Issue 18: T = 1, length 1 inside padding and every step missing (Kind 1); checks that
# hold under jit and float32 with a small alpha (Kind 3).

MASKS = {
    "all_missing": np.zeros((T, 2), bool),
    "length_1_of_12": np.broadcast_to((np.arange(T) < 1)[:, None], (T, 2)),
    "one_step": None,
}


@pytest.mark.parametrize("mask_name", list(MASKS))
@pytest.mark.parametrize("smoother", [nonlinear.ekf_smoother, nonlinear.ukf_smoother], ids=["ekf", "ukf"])
def test_exact_on_a_linear_model_at_the_length_edges(x64, linear, smoother, mask_name):
    params, model, inputs, ys, _ = linear
    mask = MASKS[mask_name]
    if mask_name == "one_step":
        ys, inputs = ys[:1], inputs[:1]
    ys_nan = ys if mask is None else jnp.where(mask, ys, jnp.nan)
    want = lgssm.smoother(params, ys_nan, inputs, mask)
    got = smoother(model, ys_nan, inputs, mask)
    assert got.smoothed_means.shape == (ys.shape[0], 3)
    for name in want._fields:
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), atol=1e-9, rtol=1e-9, err_msg=name)


@pytest.mark.parametrize("filter_fn", [nonlinear.ekf_filter, nonlinear.ukf_filter], ids=["ekf", "ukf"])
def test_value_checks_hold_under_jit(x64, filter_fn):
    model = pendulum()
    ys = jnp.zeros((5, 1))
    bad = model.replace(transition_cov=-model.transition_cov)
    with pytest.raises(ValueError, match="transition_cov is not positive semi-definite"):
        filter_fn(bad, ys)
    err, _ = checkify.checkify(jax.jit(filter_fn), errors=checkify.user_checks)(bad, ys)
    assert "transition_cov is not positive semi-definite" in err.get()
    with pytest.raises(ValueError, match=r"ys must be finite where observed, but ys\[3\]"):
        filter_fn(model, ys.at[3, 0].set(jnp.nan))
    assert np.isfinite(filter_fn(model, ys.at[3, 0].set(jnp.nan), mask=np.arange(5) != 3).log_likelihood)
    with pytest.raises(ValueError, match="T >= 1"):
        filter_fn(model, ys[:0])


def test_ukf_float32_with_a_small_alpha_warns():
    """The issue's case: float32, alpha = 1e-3, a linear model: the filtered means
    are off by order 0.1-1 (float64 is exact), so the UKF says so."""
    params = lgssm.random_params(jax.random.PRNGKey(0), 3, 2)
    _, ys = lgssm.sample(jax.random.PRNGKey(1), params, 10)
    model = nonlinear.Model(params.initial_mean, params.initial_cov, params.transition_cov, params.emission_cov,
                            lambda x, u: params.transition_matrix @ x, lambda x: params.emission_matrix @ x)
    with pytest.warns(RuntimeWarning, match="amplify rounding"):
        nonlinear.ukf_filter(model, ys, alpha=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        nonlinear.ukf_filter(model, ys, alpha=0.5)  # float32 with a moderate alpha: no warning
        with jax.enable_x64(True):
            nonlinear.sigma_points(jnp.zeros(3, jnp.float64), jnp.eye(3, dtype=jnp.float64), alpha=1e-3)
