import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# Kind 2 of issue 18: no scheme may return an ancestor of weight zero, in float32 and
# float64, under jit, with weights over many orders of magnitude; all-zero weights are defined.

BELOW_ONE = {jnp.float32: np.nextafter(np.float32(1), np.float32(0)), jnp.float64: np.nextafter(1.0, 0.0)}
# Jitted once (num_samples static), with the log-weights as an argument so XLA cannot fold them.
_DRAW = {
    name: jax.jit(jax.vmap(scheme, in_axes=(0, None, None)), static_argnums=2)
    for name, scheme in resampling.RESAMPLERS.items()
}
_INVERT = jax.jit(resampling._invert_cdf)


@pytest.mark.parametrize("scheme", ["systematic", "stratified"])
def test_float32_half_zero_weights_never_draw_a_zero_weight(scheme):
    """The issue's input: N = M = 1000 float32 log-weights, the second half -inf,
    passed into the jitted scheme as an argument, 20,000 calls."""
    log_w = jnp.where(jnp.arange(1000) < 500, 0.0, -jnp.inf).astype(jnp.float32)
    draw = jax.jit(jax.vmap(lambda k, lw: resampling.RESAMPLERS[scheme](k, lw, 1000), in_axes=(0, None)))
    keys = jax.random.split(jax.random.key(0), 20000)
    ancestors = np.concatenate([np.asarray(draw(k, log_w)) for k in np.split(keys, 10)])
    assert ancestors.max() < 500  # index 999 (weight 0) was drawn in about 9 (17) of 20,000 calls
    assert abs(np.bincount(ancestors.reshape(-1), minlength=500).mean() / 20000 - 2.0) < 1e-9


def test_cdf_that_sums_below_one_never_reaches_a_zero_weight():
    """The fault itself: float32 cumulative sums of normalised weights that end
    below 1 (the issue's 0.999999285), with uniforms in [F_N, 1] and a zero-weight
    tail: the old inversion clipped to the last particle whatever its weight."""
    rng = np.random.default_rng(0)
    below = 0
    for _ in range(60):
        log_w = rng.normal(size=1000).astype(np.float32) * 3
        log_w[-rng.integers(1, 500):] = -np.inf
        cdf = np.asarray(jnp.cumsum(resampling.normalise(jnp.asarray(log_w))))
        below += cdf[-1] < 1
        uniforms = jnp.array([0.0, cdf[-1], BELOW_ONE[jnp.float32], 1.0], jnp.float32)
        idx = np.asarray(_INVERT(jnp.asarray(log_w), uniforms))
        assert np.all(np.isfinite(log_w[idx])), (idx, cdf[-1])
    assert below > 10  # the case the old code got wrong does occur


@st.composite
def log_weights(draw):
    """Log-weights over up to ~40 orders of magnitude (float32's range) or 300
    (float64's), some -inf, sometimes all -inf, sometimes one finite."""
    n = draw(st.sampled_from([1, 5, 33]))
    dtype = draw(st.sampled_from([jnp.float32, jnp.float64]))
    spread = draw(st.sampled_from([0.0, 1.0, 30.0, 80.0, 700.0]))
    if dtype == jnp.float32:
        spread = min(spread, 80.0)
    zero = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    seed = draw(st.integers(0, 2**31 - 1))
    values = np.random.default_rng(seed).uniform(-spread, 0.0, n) + draw(st.sampled_from([0.0, -1e4, 50.0]))
    values[zero] = -np.inf
    return values, dtype, seed


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(case=log_weights(), num_samples=st.sampled_from([1, 33]))
def test_no_scheme_ever_draws_a_zero_weight(case, num_samples):
    values, dtype, seed = case
    with jax.enable_x64(dtype == jnp.float64):
        log_w = jnp.asarray(values, dtype)
        for name, draw in _DRAW.items():
            idx = np.asarray(draw(jax.random.split(jax.random.key(seed), 50), log_w, num_samples))
            assert idx.dtype == np.int32 and idx.shape == (50, num_samples)
            if np.all(np.isneginf(values)):
                np.testing.assert_array_equal(idx, np.broadcast_to(np.arange(num_samples) % len(values), idx.shape))
            else:
                assert np.all(np.isfinite(values[idx])), (name, values, idx)
            # The inversion itself at the extreme uniforms, where rounding bites.
            extremes = jnp.array([0.0, BELOW_ONE[dtype], 1.0], dtype)
            edge = np.asarray(_INVERT(log_w, extremes))
            if not np.all(np.isneginf(values)):
                assert np.all(np.isfinite(values[edge])), (values, edge)


def test_all_zero_weights_are_defined():
    log_w = jnp.full((4,), -jnp.inf)
    assert float(resampling.effective_sample_size(log_w)) == 0.0
    grad = jax.grad(resampling.effective_sample_size)(log_w)
    assert np.all(np.isfinite(grad))
    for scheme in SCHEMES:
        idx = jax.jit(resampling.RESAMPLERS[scheme], static_argnums=2)(jax.random.key(0), log_w, 6)
        np.testing.assert_array_equal(idx, [0, 1, 2, 3, 0, 1])


def test_nan_log_weights_count_as_zero():
    log_w = jnp.array([jnp.nan, 0.0, -jnp.inf, 1.0])
    for scheme in SCHEMES:
        idx = np.asarray(resampling.RESAMPLERS[scheme](jax.random.key(1), log_w, 64))
        assert set(idx.tolist()) <= {1, 3}, (scheme, idx)
