"""Batching of variable-length sequences: padding with lengths, length bucketing,
and a schedule that makes the batch of every training step a pure function of
(seed, step), so a resumed run sees exactly the batches an uninterrupted one would.
"""

import functools

import numpy as np

# Padded lengths: 16 * {1, 1.5} * 2^k, so at most ~20 shapes are ever compiled
# and padding wastes less than a third of a batch.
_LADDER = sorted({int(16 * f * 2**k) for k in range(12) for f in (1.0, 1.5)})


def padded_length(length: int, pad_multiple: int | None = None) -> int:
    """The padded length for a batch whose longest sequence is ``length``:
    the next multiple of ``pad_multiple`` if given, else the next ladder value."""
    if pad_multiple:
        return int(-(-length // pad_multiple) * pad_multiple)
    for value in _LADDER:
        if value >= length:
            return value
    return int(-(-length // 1024) * 1024)


def pad_batch(
    sequences: list[np.ndarray], batch_size: int | None = None, pad_to: int | None = None
) -> dict[str, np.ndarray]:
    """Stack [T_n, D] sequences into {'xs': [B, T, D] float32, 'lengths': [B] int32}.

    Rows past ``len(sequences)`` (up to ``batch_size``) are empty (length 0), so
    every batch has the same leading size; they add nothing to any bound.
    """
    if not sequences:
        raise ValueError("pad_batch needs at least one sequence")
    batch_size = batch_size or len(sequences)
    if len(sequences) > batch_size:
        raise ValueError(f"{len(sequences)} sequences do not fit in batch_size={batch_size}")
    dim = sequences[0].shape[1]
    longest = max(s.shape[0] for s in sequences)
    num_steps = pad_to or padded_length(longest)
    if num_steps < longest:
        raise ValueError(f"pad_to={pad_to} is shorter than the longest sequence ({longest})")
    xs = np.zeros((batch_size, num_steps, dim), np.float32)
    lengths = np.zeros((batch_size,), np.int32)
    for i, s in enumerate(sequences):
        if s.ndim != 2 or s.shape[1] != dim:
            raise ValueError(f"sequence {i} has shape {s.shape}; expected [T, {dim}]")
        xs[i, : s.shape[0]] = s
        lengths[i] = s.shape[0]
    return {"xs": xs, "lengths": lengths}


def shifted_inputs(xs: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """u_t = x_{t-1} - mean (u_0 = 0) along axis -2, for models that take inputs."""
    centred = xs if mean is None else xs - mean
    pad = [(0, 0)] * xs.ndim
    pad[-2] = (1, 0)
    return np.pad(centred, pad)[..., :-1, :]


def chop(sequences: list[np.ndarray], max_length: int) -> list[np.ndarray]:
    """Split every sequence into consecutive pieces of at most ``max_length`` steps."""
    if max_length < 1:
        raise ValueError(f"max_length must be positive, got {max_length}")
    return [s[i : i + max_length] for s in sequences for i in range(0, s.shape[0], max_length)]


class BatchSchedule:
    """Shuffled, length-bucketed training batches; ``batch(step)`` is deterministic.

    Each epoch (seed, epoch) permutes the sequences, cuts the permutation into
    chunks of ``bucket_batches * batch_size``, sorts each chunk by length (so a
    batch holds similar lengths and little padding), cuts batches and shuffles
    their order. The last batch of an epoch may be part-empty (length-0 rows).
    """

    def __init__(
        self,
        sequences: list[np.ndarray],
        batch_size: int,
        seed: int = 0,
        bucket_batches: int = 8,
        pad_multiple: int | None = None,
    ):
        if not sequences:
            raise ValueError("BatchSchedule needs at least one sequence")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.sequences = sequences
        self.batch_size = batch_size
        self.seed = seed
        self.bucket_batches = max(1, bucket_batches)
        self.pad_multiple = pad_multiple
        self.lengths = np.array([s.shape[0] for s in sequences])

    @property
    def batches_per_epoch(self) -> int:
        return -(-len(self.sequences) // self.batch_size)

    @functools.lru_cache(maxsize=2)
    def _epoch_plan(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.sequences))
        chunk = self.bucket_batches * self.batch_size
        batches = []
        for start in range(0, len(order), chunk):
            part = order[start : start + chunk]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            batches += [part[i : i + self.batch_size] for i in range(0, len(part), self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def batch(self, step: int) -> dict[str, np.ndarray]:
        """The batch of training step ``step`` (0-based)."""
        epoch, index = divmod(step, self.batches_per_epoch)
        members = self._epoch_plan(epoch)[index]
        seqs = [self.sequences[i] for i in members]
        longest = max(s.shape[0] for s in seqs)
        return pad_batch(seqs, self.batch_size, padded_length(longest, self.pad_multiple))


def eval_batches(sequences: list[np.ndarray], batch_size: int):
    """Fixed-order batches covering every sequence once (sorted by length)."""
    order = np.argsort([s.shape[0] for s in sequences], kind="stable")
    for start in range(0, len(order), batch_size):
        yield pad_batch([sequences[i] for i in order[start : start + batch_size]], batch_size)
