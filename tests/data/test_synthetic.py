"""The synthetic suite has the properties the VHRNN paper states for each setting."""

import numpy as np
import pytest

from seqvi.data import synthetic
from seqvi.data.synthetic import NOISE_LEVELS, SyntheticSpec, generate, transition_matrices

SPEC = SyntheticSpec(length=30, num_train=60, num_valid=5, num_test=40, seed=3)


@pytest.fixture(scope="module")
def suite():
    return {s: generate(s, SPEC) for s in synthetic.SETTINGS}


def _switches(sigma):
    """Noise switches among the steps that use noise (t >= 1)."""
    return int(np.sum(sigma[2:] != sigma[1:-1]))


def _standardised_residuals(data, matrices):
    """(x_t - W x_{t-1}) / sigma_t for every sequence's own W, t >= 1."""
    w = matrices[data.matrix[:, 0]]
    pred = np.einsum("nij,ntj->nti", w, data.xs[:, :-1])
    return (data.xs[:, 1:] - pred) / data.noise_scale[:, 1:, None]


def test_training_data_switch_noise_exactly_twice(suite):
    for split in ("train", "valid", "test"):
        data = suite[split]
        assert data.xs.shape == (SPEC.size(split), SPEC.length, 2) and data.xs.dtype == np.float32
        assert set(np.unique(data.noise_scale)) <= set(NOISE_LEVELS)
        assert all(_switches(s) == 2 for s in data.noise_scale)
        assert np.all((data.matrix >= 0) & (data.matrix < SPEC.num_matrices))
        assert np.all(data.matrix == data.matrix[:, :1])  # one W per sequence
        assert np.all(np.abs(data.xs[:, 0]) <= 1.0)  # x_0 ~ U[-1, 1]^2


def test_training_data_follow_their_matrix(suite):
    """Residuals under the sequence's own W are standard normal."""
    r = _standardised_residuals(suite["train"], transition_matrices(SPEC)["train"])
    assert abs(r.mean()) < 0.05 and abs(r.std() - 1.0) < 0.05


def test_matrices_are_stable_and_zero_shot_ones_disjoint():
    m = transition_matrices(SPEC)
    for name in ("train", "zero_shot"):
        radii = np.max(np.abs(np.linalg.eigvals(m[name])), axis=-1)
        assert m[name].shape == (SPEC.num_matrices, 2, 2) and np.all((radii >= 0.9) & (radii <= 0.99))
    distances = np.linalg.norm(m["train"][:, None] - m["zero_shot"][None], axis=(-2, -1))
    assert distances.min() > 1e-3


def test_zero_shot_uses_the_other_matrices(suite):
    m = transition_matrices(SPEC)
    r = _standardised_residuals(suite["zero_shot"], m["zero_shot"])
    assert abs(r.std() - 1.0) < 0.05
    wrong = _standardised_residuals(suite["zero_shot"], m["train"])
    assert wrong.std() > 1.1


def test_noiseless_is_exactly_linear(suite):
    data = suite["noiseless"]
    w = transition_matrices(SPEC)["train"][data.matrix[:, 0]]
    np.testing.assert_allclose(data.xs[:, 1:], np.einsum("nij,ntj->nti", w, data.xs[:, :-1]), rtol=1e-5, atol=1e-6)
    assert np.all(data.noise_scale == 0)


def test_switch_concatenates_three_noiseless_sequences(suite):
    data, t = suite["switch"], SPEC.length
    assert data.xs.shape == (SPEC.num_test, 3 * t, 2)
    w = transition_matrices(SPEC)["train"]
    for n in range(SPEC.num_test):
        blocks = data.matrix[n].reshape(3, t)
        assert np.all(blocks == blocks[:, :1])  # one W per block
        for b in range(3):
            x = data.xs[n, b * t:(b + 1) * t]
            np.testing.assert_allclose(x[1:], x[:-1] @ w[blocks[b, 0]].T, rtol=1e-5, atol=1e-6)
            assert np.all(np.abs(x[0]) <= 1.0)  # a fresh x_0 at each boundary
    # at the boundaries the dynamics do not continue
    jumps = [np.linalg.norm(data.xs[n, b * t] - w[data.matrix[n, b * t - 1]] @ data.xs[n, b * t - 1])
             for n in range(SPEC.num_test) for b in (1, 2)]
    assert np.median(jumps) > 0.1


def test_rand_is_a_random_walk_with_up_to_three_switches(suite):
    data = suite["rand"]
    assert np.all(data.matrix == -1)
    counts = [_switches(s) for s in data.noise_scale]
    assert set(counts) <= {0, 1, 2, 3} and len(set(counts)) > 1
    r = _standardised_residuals(data._replace(matrix=np.zeros_like(data.matrix)), np.eye(2)[None])
    assert abs(r.std() - 1.0) < 0.05


def test_long_doubles_the_length(suite):
    data = suite["long"]
    assert data.xs.shape == (SPEC.num_test, 2 * SPEC.length, 2)
    assert all(_switches(s) == 2 for s in data.noise_scale)


def test_add_is_a_constant_drift(suite):
    xs = suite["add"].xs
    steps = np.diff(xs, axis=1)
    np.testing.assert_allclose(steps, np.broadcast_to(steps[:, :1], steps.shape), atol=1e-4)
    assert np.all((steps[:, 0] >= 0) & (steps[:, 0] <= 1)) and np.all((xs[:, 0] >= 0) & (xs[:, 0] <= 1))


def test_deterministic_in_the_spec():
    a, b = generate("train", SPEC), generate("train", SPEC)
    np.testing.assert_array_equal(a.xs, b.xs)
    other = generate("train", SyntheticSpec(length=30, num_train=60, seed=4))
    assert not np.allclose(a.xs, other.xs)


def test_bad_input():
    with pytest.raises(ValueError, match="setting"):
        generate("bogus", SPEC)
    with pytest.raises(ValueError, match="length"):
        SyntheticSpec(length=2)


def test_tfds_builder_matches_the_generator(tmp_path):
    from seqvi.data.tfds_synthetic import build

    spec = SyntheticSpec(length=6, num_train=4, num_valid=2, num_test=3)
    sources = build(tmp_path, spec)
    assert set(sources) == set(synthetic.SETTINGS)
    assert list(tmp_path.rglob("*.array_record*"))
    for setting in ("train", "switch"):
        data = generate(setting, spec)
        for example in sources[setting]:
            i = int(example["index"])
            np.testing.assert_array_equal(example["x"], data.xs[i])
            np.testing.assert_array_equal(example["noise_scale"], data.noise_scale[i])
            np.testing.assert_array_equal(example["matrix"], data.matrix[i])


def test_true_log_likelihood_against_scipy():
    from scipy.stats import multivariate_normal

    spec = SyntheticSpec(length=12, num_test=3, seed=5)
    for setting in ("test", "rand", "zero_shot"):
        data = generate(setting, spec)
        k = data.matrix[0, 0]
        w = np.eye(2) if k < 0 else transition_matrices(spec)["zero_shot" if setting == "zero_shot" else "train"][k]
        x = data.xs[0].astype(np.float64)
        expected = np.log(0.25) + sum(
            multivariate_normal(w @ x[t - 1], data.noise_scale[0, t] ** 2 * np.eye(2)).logpdf(x[t]) for t in range(1, 12)
        )
        np.testing.assert_allclose(synthetic.true_log_likelihood(setting, spec)[0], expected, rtol=1e-6)
    with pytest.raises(ValueError, match="noiseless"):
        synthetic.true_log_likelihood("switch", spec)
