"""EKF and UKF: exact on linear models, sensible on a nonlinear one (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

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
        yield params, model, inputs, ys, mask


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
