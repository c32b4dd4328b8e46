import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from seqvi import imputation
from linear_gaussian import LinearGaussian, joint_log_likelihood, random_params
from seqvi.models.srnn import SRNN
from seqvi.models.storn import VOSP, VRAE
from seqvi.models.vrnn import VRNN

T = 6
OBSERVED = np.array([True, True, False, False, True, False])


def test_smc_imputation_estimates_the_likelihood_of_the_observed_steps(x64):
    """E[Z-hat] = p(x_obs) for the linear-Gaussian model (exact by brute force),
    and observed steps come back unchanged."""
    model = LinearGaussian()
    params = random_params(jax.random.key(0), 2, 2, jnp.float64)
    xs, _ = model.generate(params, jax.random.key(1), T)
    exact = joint_log_likelihood(params, xs, OBSERVED)
    run = jax.jit(jax.vmap(lambda k: imputation.smc_impute(model, params, xs, OBSERVED, T, k, num_particles=8)))
    result = run(jax.random.split(jax.random.key(2), 3000))
    ratios = np.exp(np.asarray(result.log_likelihood) - float(exact))
    stderr = ratios.std() / np.sqrt(ratios.size)
    assert abs(ratios.mean() - 1.0) < 4 * stderr + 1e-3, (ratios.mean(), stderr)
    np.testing.assert_array_equal(np.asarray(result.samples)[:, :, OBSERVED], np.broadcast_to(xs[OBSERVED], (3000, 8, 3, 2)))
    missing = np.asarray(result.samples)[:, :, ~OBSERVED]
    assert missing.std() > 0.1  # sampled, not copied
    np.testing.assert_allclose(np.exp(np.asarray(result.log_weights)).sum(-1), 1.0, rtol=1e-9)


def test_smc_imputation_of_a_vrnn_and_errors():
    model = VRNN(4, latent_dim=2, rnn_dim=4, hidden_dim=4)
    xs = (jax.random.uniform(jax.random.key(0), (T, 4)) < 0.5).astype(jnp.float32)
    params = model.init(jax.random.key(1), xs.mean(0))
    r = imputation.smc_impute(model, params, xs, OBSERVED, T, jax.random.key(2), num_particles=4)
    assert r.samples.shape == (4, T, 4) and r.mean().shape == (T, 4)
    assert set(np.unique(np.asarray(r.samples))) <= {0.0, 1.0}
    with pytest.raises(ValueError, match=r"observed must be a \[T\] mask"):
        imputation.smc_impute(model, params, xs, OBSERVED[:3], T, jax.random.key(2))
    srnn = SRNN(4, latent_dim=2, rnn_dim=4, hidden_dim=4)
    with pytest.raises(ValueError, match="cannot be sampled per particle"):
        imputation.smc_impute(srnn, srnn.init(jax.random.key(0)), xs, OBSERVED, T, jax.random.key(2))
    with pytest.raises(TypeError, match="use iterative_impute"):
        vrae = VRAE(4, 2, 4, 4)
        imputation.smc_impute(vrae, vrae.init(jax.random.key(0)), xs, OBSERVED, T, jax.random.key(2))
    with pytest.raises(TypeError, match="no reconstruct"):
        imputation.iterative_impute(model, params, xs, OBSERVED, T)


@pytest.mark.parametrize("cls", [VRAE, VOSP])
def test_iterative_imputation_clamps_observed_steps(cls):
    model = cls(4, latent_dim=2, rnn_dim=4, hidden_dim=4)
    xs = (jax.random.uniform(jax.random.key(0), (T, 4)) < 0.5).astype(jnp.float32)
    params = model.init(jax.random.key(1), xs.mean(0))
    out = imputation.iterative_impute(model, params, xs, OBSERVED, T, num_iterations=3)
    np.testing.assert_array_equal(out[OBSERVED], xs[OBSERVED])
    one = imputation.iterative_impute(model, params, xs, OBSERVED, T, num_iterations=1)
    expected = model.reconstruct(params, imputation.fill_missing(params, xs, jnp.asarray(OBSERVED)), T)
    np.testing.assert_allclose(one[~OBSERVED], expected[~OBSERVED], rtol=1e-5)


def test_corruption_and_error_fraction():
    xs = jnp.zeros((100, 50))
    noisy = imputation.corrupt_binary(jax.random.key(0), xs, 0.2)
    assert 0.15 < float(noisy.mean()) < 0.25
    assert float(imputation.incorrect_fraction(xs, noisy, jnp.ones((100, 1), bool))) == pytest.approx(float(noisy.mean()))
    where = jnp.arange(100)[:, None] < 10
    np.testing.assert_allclose(imputation.incorrect_fraction(xs, noisy, where), noisy[:10].mean(), rtol=1e-6)
    with pytest.raises(ValueError, match="flip_prob"):
        imputation.corrupt_binary(jax.random.key(0), xs, 1.5)


# Issue 18: T = 1, length 1 inside padding, every step missing (Kind 1); values checked
# eagerly and under jit (Kind 3).

@pytest.mark.parametrize("num_steps, length", [(1, 1), (T, 1)], ids=["T=1", "length=1_of_6"])
def test_smc_imputation_of_one_step_is_unbiased(x64, num_steps, length):
    model = LinearGaussian()
    params = random_params(jax.random.key(0), 2, 2, jnp.float64)
    xs, _ = model.generate(params, jax.random.key(1), num_steps)
    xs = xs.at[length:].set(jnp.nan)  # padding may hold anything
    observed = np.ones(num_steps, bool)
    exact = float(joint_log_likelihood(params, xs[:1]))
    run = jax.jit(jax.vmap(lambda k: imputation.smc_impute(model, params, xs, observed, length, k, num_particles=4)))
    result = run(jax.random.split(jax.random.key(2), 2000))
    ratios = np.exp(np.asarray(result.log_likelihood) - exact)
    assert abs(ratios.mean() - 1.0) < 4 * ratios.std() / np.sqrt(ratios.size) + 1e-3
    assert np.all(np.isfinite(np.asarray(result.samples)[:, :, :length]))


def test_every_step_missing(x64):
    """No observed step: log p(x_obs) = 0, equal weights, draws from the model."""
    model = LinearGaussian()
    params = random_params(jax.random.key(0), 2, 2, jnp.float64)
    xs = jnp.full((T, 2), jnp.nan)
    r = imputation.smc_impute(model, params, xs, np.zeros(T, bool), T, jax.random.key(3), num_particles=16)
    assert float(r.log_likelihood) == 0.0
    np.testing.assert_allclose(r.log_weights, -np.log(16.0))
    assert np.all(np.isfinite(r.samples)) and np.asarray(r.samples).std() > 0.1
    assert np.all(np.isfinite(r.mean()))


def test_values_are_checked_eagerly_and_under_jit(x64):
    model = LinearGaussian()
    params = random_params(jax.random.key(0), 2, 2, jnp.float64)
    xs, _ = model.generate(params, jax.random.key(1), T)
    key = jax.random.key(2)
    missing_nan = jnp.where(OBSERVED[:, None], xs, jnp.nan)
    assert np.isfinite(float(imputation.smc_impute(model, params, missing_nan, OBSERVED, T, key,
                                                   num_particles=4).log_likelihood))
    with pytest.raises(ValueError, match=r"observed valid steps, but step 4 \(0-based\) holds NaN"):
        imputation.smc_impute(model, params, xs.at[4, 0].set(jnp.nan), OBSERVED, T, key)
    with pytest.raises(ValueError, match=r"length must lie in \[0, T\] = \[0, 6\], got 7"):
        imputation.smc_impute(model, params, xs, OBSERVED, T + 1, key)
    def run(x, n):
        return imputation.smc_impute(model, params, x, OBSERVED, n, key, num_particles=4).log_likelihood

    checked = checkify.checkify(jax.jit(run), errors=checkify.user_checks)
    err, _ = checked(xs.at[4, 0].set(jnp.nan), jnp.asarray(T))
    assert "step 4 (0-based) holds NaN" in err.get()
    err, _ = checked(xs, jnp.asarray(T + 1))
    assert "got 7" in err.get()
    err, _ = checked(xs.at[4, 0].set(jnp.nan), jnp.asarray(4))  # past length: padding
    assert err.get() is None


@pytest.mark.parametrize("cls", [VRAE, VOSP])
def test_iterative_imputation_ignores_nan_at_missing_steps(cls):
    model = cls(4, latent_dim=2, rnn_dim=4, hidden_dim=4)
    xs = (jax.random.uniform(jax.random.key(0), (T, 4)) < 0.5).astype(jnp.float32)
    params = model.init(jax.random.key(1), xs.mean(0))
    clean = imputation.iterative_impute(model, params, xs, OBSERVED, T, num_iterations=2)
    dirty = imputation.iterative_impute(model, params, jnp.where(OBSERVED[:, None], xs, jnp.nan), OBSERVED, T,
                                        num_iterations=2)
    np.testing.assert_array_equal(dirty, clean)
    with pytest.raises(ValueError, match="num_iterations"):
        imputation.iterative_impute(model, params, xs, OBSERVED, T, num_iterations=-1)
