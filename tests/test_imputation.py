import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi import imputation
from seqvi.models.linear_gaussian import LinearGaussian, joint_log_likelihood, random_params
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
