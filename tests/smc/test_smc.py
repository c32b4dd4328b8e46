"""The SMC engine against the exact likelihood of a linear-Gaussian StepModel."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.experimental import checkify

from seqvi import bounds
from linear_gaussian import LinearGaussian, joint_log_likelihood, random_params
from seqvi.models.vrnn import VRNN
from seqvi.smc import resampling, smc

MODEL = LinearGaussian()
T, Z, X = 5, 2, 2


@pytest.fixture
def problem(x64):
    params = random_params(jax.random.key(0), Z, X, jnp.float64)
    xs, _ = MODEL.generate(params, jax.random.key(1), T)
    return params, xs


@pytest.mark.parametrize(
    "resampler, threshold",
    [(None, 0.0), (resampling.systematic, 0.5), (resampling.multinomial, 1.0), (resampling.residual, 0.7)],
)
def test_log_z_hat_is_unbiased(problem, resampler, threshold):
    """E[Z-hat] = p(x_{1:T}): the mean of Z-hat / Z over many runs is 1."""
    params, xs = problem
    exact = joint_log_likelihood(params, xs)
    run = jax.jit(
        jax.vmap(
            lambda k: smc.run(
                MODEL, params, xs, T, k, num_particles=8, resampler=resampler, ess_threshold=threshold
            ).log_z
        )
    )
    ratios = np.exp(np.asarray(run(jax.random.split(jax.random.key(2), 4000))) - float(exact))
    stderr = ratios.std() / np.sqrt(ratios.size)
    assert abs(ratios.mean() - 1.0) < 4 * stderr + 1e-3, (ratios.mean(), stderr)
    # ...and log Z-hat is a lower bound in expectation (Jensen).
    assert np.log(ratios).mean() < 0.0


def test_padded_steps_change_nothing(problem):
    params, xs = problem
    padded = jnp.concatenate([xs, 100.0 * jnp.ones((5, X))])
    kw = dict(num_particles=4, resampler=resampling.systematic, ess_threshold=0.9)
    a = smc.run(MODEL, params, xs, T, jax.random.key(3), **kw)
    b = smc.run(MODEL, params, padded, T, jax.random.key(3), **kw)
    assert float(a.log_z) == pytest.approx(float(b.log_z), abs=1e-12)
    np.testing.assert_allclose(b.log_z_increments[:T], a.log_z_increments, atol=1e-12)
    assert np.all(np.asarray(b.log_z_increments[T:]) == 0.0)
    assert not np.any(np.asarray(b.resampled[T:]))
    assert np.all(np.asarray(b.ancestors[T:]) == np.arange(4))
    assert float(b.log_z_increments.sum()) == pytest.approx(float(b.log_z), abs=1e-10)


def test_resampling_follows_the_ess_threshold(problem):
    params, xs = problem
    always = smc.run(MODEL, params, xs, T, jax.random.key(4), num_particles=4,
                     resampler=resampling.systematic, ess_threshold=1.0)
    never = smc.run(MODEL, params, xs, T, jax.random.key(4), num_particles=4,
                    resampler=resampling.systematic, ess_threshold=0.0)
    assert not np.any(np.asarray(never.resampled))
    # ESS < N whenever the weights are not all equal, so threshold 1 resamples every step.
    assert np.all(np.asarray(always.resampled) == (np.asarray(always.ess) < 4.0))
    assert np.asarray(always.resampled).sum() >= T - 1


def test_gradients_are_finite_through_resampling(problem):
    params, xs = problem

    def f(p):
        return bounds.fivo(MODEL, p, xs, T, jax.random.key(5), num_particles=4, ess_threshold=1.0).bound

    grads = jax.grad(f)(params)
    assert all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads))
    assert float(jnp.abs(grads["A"]).sum()) > 0


def test_bad_arguments(problem):
    params, xs = problem
    with pytest.raises(ValueError, match=r"xs must be one sequence of shape \[T, D\]"):
        smc.run(MODEL, params, xs[None], T, jax.random.key(0), num_particles=2)
    with pytest.raises(ValueError, match="num_particles"):
        smc.run(MODEL, params, xs, T, jax.random.key(0), num_particles=0)
    with pytest.raises(ValueError, match="ess_threshold"):
        smc.run(MODEL, params, xs, T, jax.random.key(0), num_particles=2, ess_threshold=1.5)


# Issue 18. Kind 1: sequences at the length edge (T = 1, length = 1 inside padding,
# length > T refused); Kind 2: all-zero weights give a defined result; Kind 3: checks
# of xs and length that hold under jit (checkify) and inputs no longer accepted silently.

_RUN = jax.jit(smc.run, static_argnames=("model", "num_particles", "resampler", "ess_threshold"))


@dataclasses.dataclass(frozen=True)
class _Impossible(LinearGaussian):
    """LinearGaussian under which any x_t with x_t[0] > 50 has likelihood zero."""

    def step(self, params, state, key, x_t, ctx_t):
        out = super().step(params, state, key, x_t, ctx_t)
        return out._replace(log_px=jnp.where(x_t[0] > 50.0, -jnp.inf, out.log_px))


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_all_zero_weights_give_minus_inf_and_ess_zero(problem, jit):
    params, xs = problem
    xs = xs.at[2, 0].set(100.0)  # every particle's weight is zero from step 2 on
    kw = dict(num_particles=4, resampler=resampling.systematic, ess_threshold=1.0)
    r = (_RUN if jit else smc.run)(_Impossible(), params, xs, T, jax.random.key(0), **kw)
    assert float(r.log_z) == -np.inf
    ess = np.asarray(r.ess)
    assert np.all(np.isfinite(ess)) and np.all(ess[:2] >= 1.0) and np.all(ess[2:] == 0.0)
    np.testing.assert_array_equal(r.all_weights_zero, [False, False, True, True, True])
    inc = np.asarray(r.log_z_increments)
    assert not np.any(np.isnan(inc))
    assert np.all(np.isfinite(inc[:2])) and inc[2] == -np.inf and np.all(inc[3:] == 0.0)
    assert inc.sum() == -np.inf
    assert not np.any(np.asarray(r.resampled)[2:])  # nothing to draw from
    np.testing.assert_array_equal(np.asarray(r.ancestors)[2:], np.broadcast_to(np.arange(4), (T - 2, 4)))
    assert np.all(np.isneginf(np.asarray(r.final_log_weights)))


def _log_z_and_grad(params, seq, length):
    """log Z-hat, its increments, the resampling flags and d log Z / d params."""
    def log_z(p):
        r = smc.run(MODEL, p, seq, length, jax.random.key(2), num_particles=3,
                    resampler=resampling.systematic, ess_threshold=0.9)
        return r.log_z, (r.log_z_increments, r.resampled)

    (value, (increments, resampled)), grad = jax.value_and_grad(log_z, has_aux=True)(params)
    return value, increments, resampled, grad


_LOG_Z_AND_GRAD = jax.jit(_log_z_and_grad)


@settings(max_examples=8, deadline=None, derandomize=True, database=None)
@given(length=st.sampled_from([1, 2, 5]), pad=st.sampled_from([0.0, 1e3, np.nan, np.inf]))
def test_padding_of_any_content_changes_nothing(length, pad):
    """A sequence of length L (1, 2 or 5) padded to T = 6 with anything (NaN and
    inf included) gives the log Z-hat, increments and gradients of the unpadded one."""
    with jax.enable_x64(True):
        params = random_params(jax.random.key(0), Z, X, jnp.float64)
        xs, _ = MODEL.generate(params, jax.random.key(1), length)
        padded_xs = jnp.concatenate([xs, jnp.full((6 - length, X), pad)])
        short = _LOG_Z_AND_GRAD(params, xs, length)
        padded = _LOG_Z_AND_GRAD(params, padded_xs, length)
        np.testing.assert_allclose(padded[0], short[0], rtol=1e-12)
        np.testing.assert_allclose(padded[1][:length], short[1], rtol=1e-12, atol=1e-12)
        assert np.all(np.asarray(padded[1][length:]) == 0.0)
        assert not np.any(np.asarray(padded[2][length:]))
        for a, b in zip(jax.tree.leaves(short[3]), jax.tree.leaves(padded[3])):
            assert np.all(np.isfinite(b))
            np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("num_steps, length", [(1, 1), (5, 1)], ids=["T=1", "length=1_of_5"])
def test_log_z_hat_is_unbiased_for_one_step(x64, num_steps, length):
    params = random_params(jax.random.key(0), Z, X, jnp.float64)
    xs, _ = MODEL.generate(params, jax.random.key(1), num_steps)
    exact = float(joint_log_likelihood(params, xs[:1]))
    run = jax.jit(jax.vmap(lambda k: smc.run(MODEL, params, xs, length, k, num_particles=4,
                                             resampler=resampling.systematic, ess_threshold=0.5).log_z))
    ratios = np.exp(np.asarray(run(jax.random.split(jax.random.key(2), 4000))) - exact)
    assert abs(ratios.mean() - 1.0) < 4 * ratios.std() / np.sqrt(ratios.size) + 1e-3


def test_bounds_at_one_step(x64):
    """elbo, iwae and fivo at T = 1 and at length 1 inside padding: finite, the
    same for both, and ordered ELBO <= IWAE in expectation."""
    params = random_params(jax.random.key(0), Z, X, jnp.float64)
    xs, _ = MODEL.generate(params, jax.random.key(1), 1)
    padded = jnp.concatenate([xs, jnp.full((4, X), jnp.nan)])
    for name in ("elbo", "iwae", "fivo"):
        bound = bounds.get_bound(name, num_particles=4)
        one = bound(MODEL, params, xs, 1, jax.random.key(3))
        pad = bound(MODEL, params, padded, 1, jax.random.key(3))
        assert np.isfinite(float(one.bound)) and one.increments.shape == (1,)
        np.testing.assert_allclose(pad.bound, one.bound, rtol=1e-12)
        assert np.all(np.asarray(pad.increments[1:]) == 0.0)


def test_length_and_xs_are_validated(problem):
    params, xs = problem
    key = jax.random.key(0)
    run = lambda seq, length: smc.run(MODEL, params, seq, length, key, num_particles=2)  # noqa: E731
    with pytest.raises(ValueError, match=r"length must lie in \[0, T\] = \[0, 5\].*got 6"):
        run(xs, T + 1)
    with pytest.raises(ValueError, match=r"length must lie in \[0, T\].*got -1"):
        run(xs, jnp.asarray(-1))
    with pytest.raises(TypeError, match="length must be an integer"):
        run(xs, 2.0)
    with pytest.raises(ValueError, match="length must be a scalar"):
        run(xs, jnp.array([T, T]))
    with pytest.raises(ValueError, match="at least one time step"):
        run(xs[:0], 0)
    with pytest.raises(ValueError, match="inputs must have a leading time axis T = 5"):
        smc.run(MODEL, params, xs, T, key, num_particles=2, inputs=jnp.zeros((T - 1, 1)))
    with pytest.raises(ValueError, match=r"step 2 \(0-based\) holds NaN or inf"):
        run(xs.at[2, 1].set(jnp.nan), T)
    assert np.isfinite(float(run(xs.at[3, 1].set(jnp.nan), 3).log_z))  # padding may hold NaN
    assert float(run(xs, 0).log_z) == 0.0  # an empty (all-padding) sequence


def test_value_checks_hold_under_jit_with_checkify(problem):
    params, xs = problem
    run = jax.jit(lambda seq, length: smc.run(MODEL, params, seq, length, jax.random.key(0), num_particles=2).log_z)
    checked = checkify.checkify(run, errors=checkify.user_checks)
    err, _ = checked(xs, jnp.asarray(T + 1))
    assert "length must lie in [0, T] = [0, 5]" in err.get() and "got 6" in err.get()
    err, _ = checked(xs.at[4, 0].set(jnp.inf), jnp.asarray(T))
    assert "step 4 (0-based) holds NaN or inf" in err.get()
    err, _ = checked(xs.at[4, 0].set(jnp.inf), jnp.asarray(4))  # padding: fine
    assert err.get() is None
    # Under vmap too (a padded batch, one bad length).
    batch = jax.jit(jax.vmap(lambda seq, length: smc.run(MODEL, params, seq, length, jax.random.key(0),
                                                         num_particles=2).log_z))
    err, _ = checkify.checkify(batch, errors=checkify.user_checks)(jnp.stack([xs, xs]), jnp.array([1, T + 3]))
    assert "got 8" in err.get()
    # Plain jit drops the checks (documented): no error, no cost.
    assert run(xs, jnp.asarray(T + 1)).shape == ()


@pytest.mark.parametrize("name", ["elbo", "iwae", "fivo"])
def test_bounds_refuse_nan_and_the_wrong_width(problem, name):
    params, xs = problem
    bound = bounds.get_bound(name, num_particles=2)
    with pytest.raises(ValueError, match=r"xs must be finite.*step 1"):
        bound(MODEL, params, xs.at[1, 0].set(jnp.nan), T, jax.random.key(0))
    err, _ = checkify.checkify(jax.jit(lambda s: bound(MODEL, params, s, T, jax.random.key(0)).bound),
                               errors=checkify.user_checks)(xs.at[1, 0].set(jnp.nan))
    assert "step 1 (0-based) holds NaN" in err.get()
    vrnn = VRNN(data_dim=4, latent_dim=2, rnn_dim=4, hidden_dim=4)
    with pytest.raises(ValueError, match=r"xs has width D = 2 .* data_dim = 4"):
        bound(vrnn, None, xs, T, jax.random.key(0))
    with pytest.raises((TypeError, ValueError)) as info:  # a model without data_dim: the error names xs
        bound(MODEL, params, jnp.zeros((T, 3)), T, jax.random.key(0))
    assert any("xs of shape (5, 3)" in note or "x_t of shape (3,)" in note for note in info.value.__notes__)
