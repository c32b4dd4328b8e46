"""The VHRNN synthetic generalisation suite (Deng et al. 2020, section 4).

Training data are 2-D linear dynamical systems whose noise level switches:

  x_0 ~ U[-1, 1]^2,   x_t = W x_{t-1} + sigma_t eps_t,   eps_t ~ N(0, I),

with W drawn per sequence from ``num_matrices`` fixed random matrices and
sigma_t in {0.25, 1, 4} switching exactly twice per sequence. The test settings
probe generalisation:

  test       as training (fresh sequences)
  noiseless  sigma_t = 0
  switch     three noiseless sequences (each with its own W and x_0) concatenated
  rand       W = I (a random walk), sigma_t switching 0 to 3 times
  long       as test, twice as long
  zero_shot  as test, W from ``num_matrices`` other random matrices
  add        x_t = x_{t-1} + b with b, x_0 ~ U[0, 1]^2, no noise

Choices the paper leaves open (documented here and in docs/vhrnn.md):
  * length T = 100 (``long``: 200, ``switch``: 300);
  * each matrix is A * (rho / rho(A)) with A's entries i.i.d. N(0, 1), rho(A)
    its spectral radius and rho ~ U[0.9, 0.99], so every system is stable and
    its eigenvalues are real or complex (decaying or rotating dynamics);
  * the two switch times are distinct and uniform in 2..T-1 (so every noise
    segment scores at least one step), each new level uniform among the two
    levels that differ from the current one; ``rand`` uses 0-3 switches likewise;
  * every setting has its own numpy random stream, seeded by (seed, setting),
    and the zero-shot matrices their own stream, disjoint from the training ones.

Each sequence comes with the noise level sigma_t [T] used for x_t (sigma_0, for
the uniform x_0, repeats the first segment's level; 0 where there is no noise)
and the index of its matrix per step ([T], -1 for W = I or the additive drift).
"""

import dataclasses
from typing import NamedTuple

import numpy as np

NOISE_LEVELS = (0.25, 1.0, 4.0)
TRAIN_SPLITS = ("train", "valid", "test")
TEST_SETTINGS = ("noiseless", "switch", "rand", "long", "zero_shot", "add")
SETTINGS = TRAIN_SPLITS + TEST_SETTINGS
DIM = 2
_STREAMS = {name: i for i, name in enumerate(SETTINGS + ("matrices", "zero_shot_matrices"))}


@dataclasses.dataclass(frozen=True)
class SyntheticSpec:
    """Sizes and seed of the suite (defaults: the paper's 800/100/100 split)."""

    length: int = 100
    num_train: int = 800
    num_valid: int = 100
    num_test: int = 100
    num_matrices: int = 10
    seed: int = 0

    def __post_init__(self):
        for name in ("length", "num_train", "num_valid", "num_test", "num_matrices"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"SyntheticSpec.{name} must be a positive int, got {value!r}")
        if self.length < 3:
            raise ValueError(f"SyntheticSpec.length must be at least 3 (two noise switches), got {self.length}")

    def size(self, setting: str) -> int:
        return {"train": self.num_train, "valid": self.num_valid}.get(setting, self.num_test)


class SyntheticSet(NamedTuple):
    """One setting: xs [N, T, 2] float32, noise_scale [N, T] float32, matrix [N, T] int32."""

    xs: np.ndarray
    noise_scale: np.ndarray
    matrix: np.ndarray


def _rng(spec: SyntheticSpec, stream: str) -> np.random.Generator:
    return np.random.default_rng([spec.seed, _STREAMS[stream]])


def random_stable_matrices(rng: np.random.Generator, num: int) -> np.ndarray:
    """[num, 2, 2] matrices A * rho / rho(A), A_ij ~ N(0, 1), rho ~ U[0.9, 0.99]."""
    out = np.empty((num, DIM, DIM))
    for k in range(num):
        a = rng.standard_normal((DIM, DIM))
        out[k] = a * rng.uniform(0.9, 0.99) / np.max(np.abs(np.linalg.eigvals(a)))
    return out


def transition_matrices(spec: SyntheticSpec) -> dict[str, np.ndarray]:
    """{'train': [M, 2, 2], 'zero_shot': [M, 2, 2]}: the two fixed matrix sets."""
    return {
        "train": random_stable_matrices(_rng(spec, "matrices"), spec.num_matrices),
        "zero_shot": random_stable_matrices(_rng(spec, "zero_shot_matrices"), spec.num_matrices),
    }


def switching_noise(rng: np.random.Generator, length: int, num_switches: int) -> np.ndarray:
    """sigma [length] from NOISE_LEVELS, switching exactly ``num_switches`` times
    within steps 1..length-1 (times distinct, uniform in 2..length-1)."""
    times = np.sort(rng.choice(np.arange(2, length), size=num_switches, replace=False))
    level = rng.choice(NOISE_LEVELS)
    sigma = np.full(length, level)
    for t in times:
        level = rng.choice([v for v in NOISE_LEVELS if v != level])
        sigma[t:] = level
    return sigma


def linear_sequence(rng: np.random.Generator, w: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """x_0 ~ U[-1, 1]^2, x_t = W x_{t-1} + sigma_t eps_t: [len(sigma), 2]."""
    xs = np.empty((len(sigma), DIM))
    xs[0] = rng.uniform(-1.0, 1.0, DIM)
    noise = rng.standard_normal((len(sigma), DIM))
    for t in range(1, len(sigma)):
        xs[t] = w @ xs[t - 1] + sigma[t] * noise[t]
    return xs


def _switching_set(rng, matrices, num, length, switches) -> SyntheticSet:
    """Sequences with a random matrix each and noise from ``switches(rng)`` switches."""
    xs, sigmas, index = [], [], []
    for _ in range(num):
        k = int(rng.integers(len(matrices)))
        sigma = switching_noise(rng, length, switches(rng))
        xs.append(linear_sequence(rng, matrices[k], sigma))
        sigmas.append(sigma)
        index.append(np.full(length, k))
    return _stack(xs, sigmas, index)


def _stack(xs, sigmas, index) -> SyntheticSet:
    return SyntheticSet(
        np.asarray(xs, np.float32), np.asarray(sigmas, np.float32), np.asarray(index, np.int32)
    )


def generate(setting: str, spec: SyntheticSpec = SyntheticSpec()) -> SyntheticSet:
    """The sequences of one setting (see the module docstring); deterministic in ``spec``."""
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {SETTINGS}, got {setting!r}")
    rng, n, length = _rng(spec, setting), spec.size(setting), spec.length
    matrices = transition_matrices(spec)
    two = lambda r: 2  # noqa: E731
    if setting in TRAIN_SPLITS:
        return _switching_set(rng, matrices["train"], n, length, two)
    if setting == "long":
        return _switching_set(rng, matrices["train"], n, 2 * length, two)
    if setting == "zero_shot":
        return _switching_set(rng, matrices["zero_shot"], n, length, two)
    if setting == "rand":
        identity = np.eye(DIM)[None]
        data = _switching_set(rng, identity, n, length, lambda r: int(r.integers(0, 4)))
        return data._replace(matrix=np.full_like(data.matrix, -1))
    if setting in ("noiseless", "switch"):
        pieces = 1 if setting == "noiseless" else 3
        xs, index = [], []
        for _ in range(n):
            ks = rng.integers(len(matrices["train"]), size=pieces)
            xs.append(np.concatenate([linear_sequence(rng, matrices["train"][k], np.zeros(length)) for k in ks]))
            index.append(np.repeat(ks, length))
        return _stack(xs, np.zeros((n, pieces * length)), index)
    # add: x_t = x_{t-1} + b
    xs = []
    for _ in range(n):
        b, x0 = rng.uniform(0.0, 1.0, DIM), rng.uniform(0.0, 1.0, DIM)
        xs.append(x0 + np.arange(length)[:, None] * b)
    return _stack(xs, np.zeros((n, length)), np.full((n, length), -1))


def true_log_likelihood(setting: str, spec: SyntheticSpec = SyntheticSpec()) -> np.ndarray:
    """log p(x) [N] of each sequence of a noisy setting under the process that drew it:

      log p(x) = log U(x_0; [-1, 1]^2) + sum_{t>=1} log N(x_t; W x_{t-1}, sigma_t^2 I),

    the ceiling a model of the suite can reach on average. Noiseless settings
    have no density (sigma_t = 0) and raise ValueError."""
    if setting in ("noiseless", "switch", "add"):
        raise ValueError(f"setting {setting!r} is noiseless: its sequences have no density")
    data = generate(setting, spec)
    matrices = np.eye(DIM)[None] if setting == "rand" else transition_matrices(spec)[
        "zero_shot" if setting == "zero_shot" else "train"]
    xs = data.xs.astype(np.float64)
    w = matrices[np.maximum(data.matrix[:, 0], 0)]
    residual = xs[:, 1:] - np.einsum("nij,ntj->nti", w, xs[:, :-1])
    var = np.square(data.noise_scale[:, 1:, None].astype(np.float64))
    log_normal = -0.5 * (np.log(2 * np.pi * var) + np.square(residual) / var)
    return np.log(1.0 / 2**DIM) + log_normal.sum(axis=(1, 2))


def load_synthetic(spec: SyntheticSpec = SyntheticSpec()) -> dict[str, list[np.ndarray]]:
    """Every setting as a list of [T, 2] float32 sequences, keyed by setting name."""
    return {setting: list(generate(setting, spec).xs) for setting in SETTINGS}
