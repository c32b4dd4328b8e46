"""Kalman filter, RTS smoother and sampling (sequential and parallel) against
the brute-force joint Gaussian of (x_{1:T}, y_{1:T}), in float64."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.experimental import checkify
from scipy.stats import multivariate_normal

from seqvi.ssm import lgssm
from seqvi.ssm import lgssm_parallel as parallel

T, N, M, K = 7, 3, 2, 2


def joint_gaussian(params: lgssm.Params, num_steps: int, inputs=None):
    """Mean and covariance of the stacked x_{1:T} and y_{1:T}, built step by step
    from the model's definition (no filtering)."""
    p = jax.tree.map(np.asarray, params)
    n, m = lgssm.dims(params)
    u = None if inputs is None else np.asarray(inputs)
    get = lambda name, t: lgssm.at(p, name, t)
    mx, cx = np.zeros(n * num_steps), np.zeros((n * num_steps, n * num_steps))
    mx[:n], cx[:n, :n] = p.initial_mean, p.initial_cov
    for t in range(1, num_steps):
        a = get("transition_matrix", t)
        cur, prev = slice(t * n, (t + 1) * n), slice((t - 1) * n, t * n)
        mx[cur] = a @ mx[prev] + (0 if u is None else get("input_matrix", t) @ u[t])
        mx[cur] += 0 if p.transition_bias is None else get("transition_bias", t)
        cx[cur, :] = a @ cx[prev, :]
        cx[:, cur] = cx[:, prev] @ a.T
        cx[cur, cur] = a @ cx[prev, prev] @ a.T + get("transition_cov", t)
    h = np.zeros((m * num_steps, n * num_steps))
    my_bias = np.zeros(m * num_steps)
    r = np.zeros((m * num_steps, m * num_steps))
    for t in range(num_steps):
        rows = slice(t * m, (t + 1) * m)
        h[rows, t * n:(t + 1) * n] = get("emission_matrix", t)
        r[rows, rows] = get("emission_cov", t)
        my_bias[rows] = 0 if p.emission_bias is None else get("emission_bias", t)
    return mx, cx, h @ mx + my_bias, h @ cx @ h.T + r, cx @ h.T


# Fixed-in-time parameters without inputs or biases are the case of the EM, EKF/UKF
# and particle-filter tests; here the two general cases.
CASES = {
    "biases_inputs": dict(input_dim=K, biases=True),
    "time_varying": dict(num_timesteps=T, input_dim=K, biases=True),
}


@pytest.fixture(params=list(CASES), scope="module")
def case(request):
    # Built under x64 and returned: a yield inside the ``with`` would leave x64 on for
    # every test that runs while this module-scoped fixture is alive.
    with jax.enable_x64(True):
        key = jax.random.PRNGKey(sum(map(ord, request.param)))
        k_p, k_s, k_u, k_m = jax.random.split(key, 4)
        params = lgssm.random_params(k_p, N, M, dtype=jnp.float64, **CASES[request.param])
        inputs = None if params.input_matrix is None else jax.random.normal(k_u, (T, K), jnp.float64)
        _, ys = lgssm.sample(k_s, params, T, inputs)
        mask = np.array(jax.random.uniform(k_m, (T, M)) > 0.3)
        mask[3] = False  # one fully missing step
        ys_nan = jnp.where(mask, ys, jnp.nan)  # missing entries may hold anything
        return params, inputs, ys, mask, ys_nan


def brute_log_likelihood(params, ys, inputs, mask=None):
    _, _, my, cy, _ = joint_gaussian(params, T, inputs)
    obs = np.ones(T * M, bool) if mask is None else np.asarray(mask).reshape(-1)
    return multivariate_normal(my[obs], cy[np.ix_(obs, obs)]).logpdf(np.asarray(ys).reshape(-1)[obs])


def brute_posterior(params, ys, inputs, mask=None):
    mx, cx, my, cy, cxy = joint_gaussian(params, T, inputs)
    obs = np.ones(T * M, bool) if mask is None else np.asarray(mask).reshape(-1)
    y = np.asarray(ys).reshape(-1)[obs]
    gain = cxy[:, obs] @ np.linalg.inv(cy[np.ix_(obs, obs)])
    return mx + gain @ (y - my[obs]), cx - gain @ cxy[:, obs].T


@pytest.mark.parametrize("implementation", [lgssm, parallel], ids=["sequential", "parallel"])
@pytest.mark.parametrize("missing", [False, True], ids=["complete", "missing"])
def test_log_likelihood_matches_joint_gaussian(x64, case, implementation, missing):
    params, inputs, ys, mask, ys_nan = case
    if missing:
        got = implementation.filter(params, ys_nan, inputs, mask).log_likelihood
        want = brute_log_likelihood(params, ys, inputs, mask)
    else:
        got = implementation.filter(params, ys, inputs).log_likelihood
        want = brute_log_likelihood(params, ys, inputs)
    assert np.isfinite(got)
    np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.parametrize("implementation", [lgssm, parallel], ids=["sequential", "parallel"])
def test_smoothed_marginals_match_gaussian_conditionals(x64, case, implementation):
    params, inputs, ys, mask, ys_nan = case
    s = implementation.smoother(params, ys_nan, inputs, mask)
    mean, cov = brute_posterior(params, ys, inputs, mask)
    np.testing.assert_allclose(s.smoothed_means, mean.reshape(T, N), atol=1e-9)
    blocks = cov.reshape(T, N, T, N)
    np.testing.assert_allclose(s.smoothed_covs, np.stack([blocks[t, :, t] for t in range(T)]), atol=1e-9)
    cross = np.stack([np.zeros((N, N))] + [blocks[t, :, t - 1] for t in range(1, T)])
    np.testing.assert_allclose(s.smoothed_cross_covs, cross, atol=1e-9)


def test_posterior_path_log_prob_matches_joint_gaussian(x64, case):
    """log p(x_{1:T} | y) of a sampled path: the FFBS factorisation equals the density
    of the brute-force joint posterior of the stacked states."""
    params, inputs, ys, mask, ys_nan = case
    path = lgssm.posterior_sample(jax.random.PRNGKey(5), params, ys_nan, inputs, mask)
    draw = lgssm.posterior_draw(jax.random.PRNGKey(5), params, ys_nan, inputs, mask)
    np.testing.assert_array_equal(draw.path, path)
    np.testing.assert_allclose(draw.log_likelihood, brute_log_likelihood(params, ys, inputs, mask), rtol=1e-9)
    mean, cov = brute_posterior(params, ys, inputs, mask)
    want = multivariate_normal(mean, cov).logpdf(np.asarray(path).reshape(-1))
    np.testing.assert_allclose(draw.log_prob, want, rtol=1e-9)


def test_filtered_marginals_match_gaussian_conditionals(x64, case):
    """E[x_t | y_{1:t}]: condition the joint on the first t observations only."""
    params, inputs, ys, _, _ = case
    f = lgssm.filter(params, ys, inputs)
    mx, cx, my, cy, cxy = joint_gaussian(params, T, inputs)
    y = np.asarray(ys).reshape(-1)
    for t in (0, 3, T - 1):
        obs = slice(0, (t + 1) * M)
        gain = cxy[:, obs] @ np.linalg.inv(cy[obs, obs])
        mean = mx + gain @ (y[obs] - my[obs])
        np.testing.assert_allclose(f.filtered_means[t], mean[t * N:(t + 1) * N], atol=1e-9)


def test_parallel_equals_sequential(x64, case):
    params, inputs, _, mask, ys_nan = case
    seq = lgssm.smoother(params, ys_nan, inputs, mask)
    par = parallel.smoother(params, ys_nan, inputs, mask)
    for a, b in zip(seq, par):
        np.testing.assert_allclose(a, b, atol=1e-8, rtol=1e-8)
    f_seq = lgssm.filter(params, ys_nan, inputs, mask)
    f_par = parallel.filter(params, ys_nan, inputs, mask)
    for a, b in zip(f_seq, f_par):
        np.testing.assert_allclose(a, b, atol=1e-8, rtol=1e-8)
    key = jax.random.PRNGKey(5)
    np.testing.assert_allclose(
        lgssm.posterior_sample(key, params, ys_nan, inputs, mask),
        parallel.posterior_sample(key, params, ys_nan, inputs, mask),
        atol=1e-8,
    )


def test_fully_missing_step_is_a_prediction(x64, case):
    params, inputs, _, mask, ys_nan = case
    f = lgssm.filter(params, ys_nan, inputs, mask)
    assert not mask[3].any()
    np.testing.assert_allclose(f.filtered_means[3], f.predicted_means[3])
    np.testing.assert_allclose(f.filtered_covs[3], f.predicted_covs[3])
    assert f.step_log_likelihoods[3] == 0.0


def test_posterior_samples_have_smoothed_moments(x64, case):
    params, inputs, _, mask, ys_nan = case
    s = lgssm.smoother(params, ys_nan, inputs, mask)
    num = 4000
    keys = jax.random.split(jax.random.PRNGKey(0), num)
    paths = jax.jit(jax.vmap(lambda k: lgssm.posterior_sample(k, params, ys_nan, inputs, mask)))(keys)
    sd = np.sqrt(np.diagonal(s.smoothed_covs, axis1=1, axis2=2))
    # Mean: within 5 standard errors; covariance: within 10% of the marginal scale.
    assert np.all(np.abs(paths.mean(0) - s.smoothed_means) < 5 * sd / np.sqrt(num))
    emp_cov = jnp.einsum("sti,stj->tij", paths - paths.mean(0), paths - paths.mean(0)) / (num - 1)
    scale = sd[:, :, None] * sd[:, None, :]
    assert np.max(np.abs(emp_cov - s.smoothed_covs) / scale) < 0.1
    emp_cross = jnp.einsum("sti,stj->tij", (paths - paths.mean(0))[:, 1:], (paths - paths.mean(0))[:, :-1]) / (num - 1)
    assert np.max(np.abs(emp_cross - s.smoothed_cross_covs[1:]) / np.sqrt(scale[1:] * scale[:-1])) < 0.1


def test_sample_has_model_marginals(x64):
    params = lgssm.random_params(jax.random.PRNGKey(1), 2, 2, biases=True, dtype=jnp.float64)
    num_steps = 4
    xs, ys = jax.vmap(lambda k: lgssm.sample(k, params, num_steps))(jax.random.split(jax.random.PRNGKey(2), 20000))
    mx, cx, my, cy, _ = joint_gaussian(params, num_steps)
    flat_y = ys.reshape(len(ys), -1)
    assert np.max(np.abs(flat_y.mean(0) - my) / np.sqrt(np.diag(cy))) < 0.05
    np.testing.assert_allclose(np.cov(flat_y.T), cy, atol=0.05 * np.max(np.diag(cy)))
    assert xs.shape == (20000, num_steps, 2)


def test_jit_and_grad(x64, case):
    params, inputs, ys, mask, ys_nan = case
    grads = jax.jit(jax.grad(lambda p: lgssm.log_likelihood(p, ys_nan, inputs, mask)))(params)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))


def test_covariance_gradients_are_symmetric_and_the_same_for_every_filter(x64, case):
    """d log p / dS for every covariance S in the symmetric form: the sequential and
    parallel filters agree (their raw gradients differed by up to 70%), and one
    gradient step keeps each covariance symmetric."""
    params, inputs, _, mask, ys_nan = case
    grad = lambda filter_: jax.grad(lambda p: filter_(p, ys_nan, inputs, mask).log_likelihood)(params)  # noqa: E731
    sequential, parallel_ = grad(lgssm.filter), grad(parallel.filter)
    for name in ("initial_cov", "transition_cov", "emission_cov"):
        g = getattr(sequential, name)
        np.testing.assert_allclose(g, np.swapaxes(g, -1, -2), rtol=1e-12, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(getattr(parallel_, name), g, rtol=1e-6, atol=1e-9, err_msg=name)
        stepped = getattr(params, name) + 0.01 * g
        np.testing.assert_array_equal(stepped, np.swapaxes(stepped, -1, -2), err_msg=name)


def test_float32_is_finite():
    params = lgssm.random_params(jax.random.PRNGKey(0), 4, 3, num_timesteps=20)
    _, ys = lgssm.sample(jax.random.PRNGKey(1), params, 20)
    s = lgssm.smoother(params, ys)
    assert s.smoothed_covs.dtype == jnp.float32
    assert np.all(np.isfinite(s.smoothed_covs)) and np.isfinite(s.log_likelihood)
    np.testing.assert_allclose(parallel.filter(params, ys).log_likelihood, s.log_likelihood, rtol=1e-4)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p: dict(transition_cov=-jnp.eye(3)), "transition_cov is not positive semi-definite"),
        (lambda p: dict(emission_cov=jnp.array([[1.0, 0.5], [0.0, 1.0]])), "emission_cov is not symmetric"),
        (lambda p: dict(transition_matrix=jnp.eye(4)), "transition_matrix has shape"),
        (lambda p: dict(emission_matrix=jnp.ones((2, 4))), "shape"),
        (lambda p: dict(transition_matrix=jnp.ones((T + 1, 3, 3))), "T = 7"),
        (lambda p: dict(initial_cov=jnp.full((3, 3), jnp.nan)), "non-finite"),
    ],
)
def test_bad_params_give_clear_errors(change, message):
    params = lgssm.random_params(jax.random.PRNGKey(0), 3, 2)
    ys = jnp.zeros((T, 2))
    with pytest.raises(ValueError, match=message):
        lgssm.filter(params._replace(**change(params)), ys)


def test_bad_data_give_clear_errors():
    params = lgssm.random_params(jax.random.PRNGKey(0), 3, 2, input_dim=1)
    with pytest.raises(ValueError, match="ys has 3 dimensions"):
        lgssm.filter(params, jnp.zeros((T, 3)), jnp.zeros((T, 1)))
    with pytest.raises(ValueError, match="needs inputs"):
        lgssm.filter(params, jnp.zeros((T, 2)))
    with pytest.raises(ValueError, match="mask must have shape"):
        lgssm.filter(params, jnp.zeros((T, 2)), jnp.zeros((T, 1)), mask=jnp.ones((T, 3), bool))
    with pytest.raises(ValueError, match="one sequence"):
        lgssm.filter(params, jnp.zeros((2, T, 2)), jnp.zeros((T, 1)))


# Issue 18, Kind 1: every function at T = 1, at length 1 inside padding (a mask whose
# tail is missing), with every step missing, over dimensions; against the joint Gaussian.

def brute(params, ys, inputs, mask):
    """(log p(y_obs), E[x | y_obs] [T, n], Cov[x | y_obs] [Tn, Tn]) of the stacked joint
    Gaussian for any T and m; mask [T, m] bool."""
    num_steps, m = ys.shape
    n = params.initial_mean.shape[0]
    mx, cx, my, cy, cxy = joint_gaussian(params, num_steps, inputs)
    obs = np.asarray(mask).reshape(-1)
    y = np.asarray(ys).reshape(-1)[obs]
    if not obs.any():
        return 0.0, mx.reshape(num_steps, n), cx
    log_lik = multivariate_normal(my[obs], cy[np.ix_(obs, obs)]).logpdf(y)
    gain = cxy[:, obs] @ np.linalg.inv(cy[np.ix_(obs, obs)])
    return log_lik, (mx + gain @ (y - my[obs])).reshape(num_steps, n), cx - gain @ cxy[:, obs].T


# (T, n, m, time-varying, inputs and biases): few shapes, so few compilations.
EDGE_SHAPES = [(1, 1, 1, False, False), (1, 3, 2, True, True), (2, 2, 1, False, True),
               (3, 1, 2, True, False), (4, 3, 2, False, False)]


@st.composite
def edge_cases(draw):
    num_steps, n, m, time_varying, extras = draw(st.sampled_from(EDGE_SHAPES))
    kind = draw(st.sampled_from(["all_observed", "all_missing", "prefix", "entries"]))
    if kind == "all_observed":
        mask = np.ones((num_steps, m), bool)
    elif kind == "all_missing":
        mask = np.zeros((num_steps, m), bool)
    elif kind == "prefix":  # a sequence of length L padded to T: the tail is missing
        length = draw(st.integers(1, num_steps))
        mask = np.broadcast_to((np.arange(num_steps) < length)[:, None], (num_steps, m)).copy()
    else:
        mask = np.array(draw(st.lists(st.booleans(), min_size=num_steps * m, max_size=num_steps * m)))
        mask = mask.reshape(num_steps, m)
    return num_steps, n, m, time_varying, extras, mask, draw(st.integers(0, 2**16))


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(case=edge_cases())
def test_length_and_mask_edges_match_the_joint_gaussian(case):
    num_steps, n, m, time_varying, extras, mask, seed = case
    with jax.enable_x64(True):
        k_p, k_s, k_u, k_d = jax.random.split(jax.random.key(seed), 4)
        params = lgssm.random_params(k_p, n, m, num_timesteps=num_steps if time_varying else None,
                                     input_dim=1 if extras else None, biases=extras, dtype=jnp.float64)
        inputs = jax.random.normal(k_u, (num_steps, 1), jnp.float64) if extras else None
        _, ys = lgssm.sample(k_s, params, num_steps, inputs)
        ys = jnp.where(mask, ys, jnp.nan)  # missing entries may hold anything
        log_lik, mean, cov = brute(params, ys, inputs, mask)
        blocks = cov.reshape(num_steps, n, num_steps, n)
        marginal_covs = np.stack([blocks[t, :, t] for t in range(num_steps)])
        for implementation in (lgssm, parallel):
            s = implementation.smoother(params, ys, inputs, mask)
            assert s.smoothed_means.shape == (num_steps, n) and s.smoothed_covs.shape == (num_steps, n, n)
            np.testing.assert_allclose(s.log_likelihood, log_lik, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(s.smoothed_means, mean, rtol=1e-8, atol=1e-8)
            np.testing.assert_allclose(s.smoothed_covs, marginal_covs, rtol=1e-8, atol=1e-8)
        draw = lgssm.posterior_draw(k_d, params, ys, inputs, mask)
        path = parallel.posterior_sample(k_d, params, ys, inputs, mask)
        assert draw.path.shape == path.shape == (num_steps, n)
        np.testing.assert_allclose(path, draw.path, rtol=1e-8, atol=1e-8)
        want = multivariate_normal(mean.reshape(-1), cov).logpdf(np.asarray(draw.path).reshape(-1))
        np.testing.assert_allclose(draw.log_prob, want, rtol=1e-8)


def test_one_step_sequence_issue_case(x64):
    """The issue's input: T = 1; the parallel code returned (0, 3) and log_prob 0."""
    p = lgssm.random_params(jax.random.key(0), 3, 2, dtype=jnp.float64)
    y = jnp.array([[0.3, -1.2]])
    assert parallel.smoother(p, y).smoothed_means.shape == (1, 3)
    assert parallel.posterior_sample(jax.random.key(0), p, y).shape == (1, 3)
    assert lgssm.posterior_sample(jax.random.key(0), p, y).shape == (1, 3)
    np.testing.assert_allclose(lgssm.smoother_gains(p, lgssm.filter(p, y)), np.zeros((1, 3, 3)))
    draw = lgssm.posterior_draw(jax.random.key(0), p, y)
    f = lgssm.filter(p, y)
    want = multivariate_normal(f.filtered_means[0], f.filtered_covs[0]).logpdf(draw.path[0])
    np.testing.assert_allclose(draw.log_prob, want, rtol=1e-12)
    np.testing.assert_allclose(draw.log_prob, -3.6907, atol=5e-5)


def test_sequences_without_steps_and_mixed_dtypes_are_refused():
    params = lgssm.random_params(jax.random.PRNGKey(0), 3, 2)
    for fn in (lgssm.filter, lgssm.smoother, parallel.filter, parallel.smoother):
        with pytest.raises(ValueError, match="at least one time step"):
            fn(params, jnp.zeros((0, 2), params.initial_mean.dtype))
    with jax.enable_x64(True):
        with pytest.raises(TypeError, match="ys has dtype float64 but params are float32"):
            lgssm.filter(params, jnp.zeros((3, 2), jnp.float64))
        with pytest.raises(TypeError, match="params.emission_cov has dtype float64"):
            lgssm.filter(params._replace(emission_cov=jnp.eye(2, dtype=jnp.float64)), jnp.zeros((3, 2), jnp.float32))
    with pytest.raises(ValueError, match="num_timesteps must be a positive int"):
        lgssm.sample(jax.random.PRNGKey(0), params, 0)


# Issue 18, Kind 3: value checks that hold under jit (checkify) and degenerate inputs refused.

def checked(fn):
    return checkify.checkify(jax.jit(fn), errors=checkify.user_checks)


@pytest.mark.parametrize("implementation", [lgssm, parallel], ids=["sequential", "parallel"])
@pytest.mark.parametrize("field", ["transition_cov", "emission_cov", "initial_cov"])
def test_indefinite_covariances_are_refused_under_jit(implementation, field):
    params = lgssm.random_params(jax.random.PRNGKey(0), 3, 2)
    bad = params._replace(**{field: -getattr(params, field)})
    ys = jnp.zeros((4, 2), params.initial_mean.dtype)
    with pytest.raises(ValueError, match=f"params.{field} is not positive semi-definite"):
        implementation.filter(bad, ys)
    err, _ = checked(implementation.filter)(bad, ys)
    assert f"params.{field} is not positive semi-definite" in err.get()
    err, _ = checked(implementation.filter)(params, ys)
    assert err.get() is None
    assert not np.isfinite(jax.jit(implementation.filter)(bad, ys).log_likelihood)  # plain jit drops checks


@pytest.mark.parametrize("implementation", [lgssm, parallel], ids=["sequential", "parallel"])
def test_all_zero_covariances_are_refused(implementation):
    params = lgssm.random_params(jax.random.PRNGKey(0), 3, 2)
    zero = params._replace(initial_cov=jnp.zeros((3, 3)), transition_cov=jnp.zeros((3, 3)),
                           emission_cov=jnp.zeros((2, 2)))
    ys = jnp.zeros((4, 2), params.initial_mean.dtype)
    for fn in (implementation.filter, implementation.smoother):
        with pytest.raises(ValueError, match="innovation covariance .* is not positive definite"):
            fn(zero, ys)
        err, _ = checked(fn)(zero, ys)
        assert "Kalman filter is not finite at step 0" in err.get()
    # Each zero alone is a valid model for the filter; only the path density is undefined.
    for field in lgssm._COVARIANCES:
        one_zero = params._replace(**{field: jnp.zeros_like(getattr(params, field))})
        assert np.isfinite(implementation.smoother(one_zero, ys).log_likelihood)
        with pytest.raises(ValueError, match="posterior of x_1..x_T is degenerate"):
            lgssm.posterior_draw(jax.random.PRNGKey(0), one_zero, ys)
    deterministic = params._replace(initial_cov=jnp.zeros((3, 3)), transition_cov=jnp.zeros((3, 3)))
    with pytest.raises(ValueError, match="smoothing.*step 2"):
        implementation.smoother(deterministic, ys)


@pytest.mark.parametrize("implementation", [lgssm, parallel], ids=["sequential", "parallel"])
def test_nan_in_observed_entries_is_refused(implementation):
    params = lgssm.random_params(jax.random.PRNGKey(0), 3, 2, input_dim=1)
    dtype = params.initial_mean.dtype  # the module's x64 fixture may be active
    ys, inputs = jnp.zeros((4, 2), dtype).at[2, 1].set(jnp.nan), jnp.ones((4, 1), dtype)
    with pytest.raises(ValueError, match=r"ys must be finite where observed, but ys\[2\]"):
        implementation.filter(params, ys, inputs)
    err, _ = checked(implementation.filter)(params, ys, inputs)
    assert "ys[2] holds NaN" in err.get()
    mask = np.ones((4, 2), bool)
    mask[2, 1] = False
    assert np.isfinite(implementation.filter(params, ys, inputs, mask).log_likelihood)
    with pytest.raises(ValueError, match=r"inputs must be finite, but inputs\[3\]"):
        implementation.filter(params, jnp.zeros((4, 2), dtype), inputs.at[3, 0].set(jnp.inf))
    with pytest.raises(ValueError, match="params.transition_matrix has non-finite"):
        implementation.filter(params._replace(transition_matrix=params.transition_matrix.at[0, 0].set(jnp.nan)),
                              jnp.zeros((4, 2), dtype), inputs)


def _constant_velocity(dtype, position=1e4):
    """A track near ``position`` with Q = 1e-10 I and R = 1e-2: float32 holds y only to
    1e-3, a hundredth of the noise's standard deviation."""
    return lgssm.Params(initial_mean=jnp.array([position, 1.0], dtype), initial_cov=jnp.eye(2, dtype=dtype),
                        transition_matrix=jnp.array([[1.0, 1.0], [0.0, 1.0]], dtype),
                        transition_cov=1e-10 * jnp.eye(2, dtype=dtype), emission_matrix=jnp.array([[1.0, 0.0]], dtype),
                        emission_cov=1e-2 * jnp.eye(1, dtype=dtype))


def test_a_float32_filter_that_loses_its_digits_warns_naming_the_step(x64):
    """Not a silent error of 21 nats (T = 5000 here; 200 steps show the warning): the
    sequential and parallel filters and the smoother warn; float64, or the same
    track near 0, do not."""
    import warnings

    _, ys = lgssm.sample(jax.random.PRNGKey(0), _constant_velocity(jnp.float64), 200)
    p32, y32 = _constant_velocity(jnp.float32), ys.astype(jnp.float32)
    for run in (lgssm.filter, parallel.filter, lgssm.smoother):
        with pytest.warns(lgssm.PrecisionWarning, match=r"float32 cannot resolve this Kalman filter from step 0 "
                                                        r"\(0-based\).*run it in float64"):
            run(p32, y32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", lgssm.PrecisionWarning)
        lgssm.filter(_constant_velocity(jnp.float64), ys)
        near_zero = _constant_velocity(jnp.float32, position=0.0)
        lgssm.filter(near_zero, (ys - 1e4).astype(jnp.float32))
