import jax
import jax.numpy as jnp
import numpy as np
import pytest

from seqvi.smc import resampling

SCHEMES = sorted(resampling.RESAMPLERS)
LOG_W = jnp.log(jnp.array([0.05, 0.4, 0.15, 0.3, 0.1]))


def _counts(scheme, key, num_draws=4000, n=5):
    keys = jax.random.split(key, num_draws)
    idx = jax.jit(jax.vmap(lambda k: resampling.RESAMPLERS[scheme](k, LOG_W, n)))(keys)
    return np.asarray(jax.vmap(lambda a: jnp.bincount(a, length=n))(idx))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_counts_are_unbiased(scheme):
    counts = _counts(scheme, jax.random.key(0))
    expected = 5 * np.exp(np.asarray(LOG_W))
    mean = counts.mean(0)
    stderr = counts.std(0) / np.sqrt(counts.shape[0]) + 1e-3
    assert np.all(np.abs(mean - expected) < 5 * stderr), (mean, expected)
    assert np.all(counts.sum(1) == 5)


@pytest.mark.parametrize("scheme", ["systematic", "stratified", "residual"])
def test_variance_no_larger_than_multinomial(scheme):
    var = _counts(scheme, jax.random.key(1)).var(0)
    var_multinomial = _counts("multinomial", jax.random.key(2)).var(0)
    assert np.all(var <= var_multinomial * 1.05 + 1e-3), (var, var_multinomial)
    assert var.sum() < 0.8 * var_multinomial.sum()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_shapes_dtype_and_unnormalised_weights(scheme):
    fn = resampling.RESAMPLERS[scheme]
    idx = jax.jit(fn, static_argnums=2)(jax.random.key(3), LOG_W + 123.0, 7)
    assert idx.shape == (7,) and idx.dtype == jnp.int32
    assert int(idx.min()) >= 0 and int(idx.max()) < 5


@pytest.mark.parametrize("scheme", SCHEMES)
def test_degenerate_weights_pick_the_one_particle(scheme):
    log_w = jnp.array([-jnp.inf, 0.0, -jnp.inf])
    idx = resampling.RESAMPLERS[scheme](jax.random.key(4), log_w, 3)
    assert np.all(np.asarray(idx) == 1)


def test_effective_sample_size():
    assert float(resampling.effective_sample_size(jnp.zeros(8))) == pytest.approx(8.0)
    assert float(resampling.effective_sample_size(jnp.array([0.0, -1e9, -1e9]))) == pytest.approx(1.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="log_weights"):
        resampling.systematic(jax.random.key(0), jnp.zeros((2, 2)), 2)
    with pytest.raises(ValueError, match="num_samples"):
        resampling.multinomial(jax.random.key(0), jnp.zeros(3), 0)
    with pytest.raises(ValueError, match="resampling must be one of"):
        resampling.get_resampler("bogus")
