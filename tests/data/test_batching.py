import numpy as np
import pytest

from seqvi.data.batching import BatchSchedule, chop, eval_batches, pad_batch, padded_length, shifted_inputs


def _seqs(lengths, d=3):
    return [np.full((n, d), i + 1, np.uint8) for i, n in enumerate(lengths)]


def test_pad_batch_fills_and_masks():
    b = pad_batch(_seqs([3, 5]), batch_size=4)
    assert b["xs"].shape == (4, 16, 3) and b["xs"].dtype == np.float32
    np.testing.assert_array_equal(b["lengths"], [3, 5, 0, 0])
    assert b["xs"][0, 3:].sum() == 0 and b["xs"][1, :5].min() == 2
    with pytest.raises(ValueError, match="do not fit"):
        pad_batch(_seqs([1, 1, 1]), batch_size=2)
    with pytest.raises(ValueError, match="shape"):
        pad_batch([np.zeros((2, 3)), np.zeros((2, 4))])


def test_padded_lengths_come_from_a_short_ladder():
    assert padded_length(1) == 16 and padded_length(17) == 24 and padded_length(129) == 192
    assert padded_length(10, pad_multiple=8) == 16
    assert len({padded_length(n) for n in range(1, 4000)}) < 20


def test_schedule_is_deterministic_and_covers_each_epoch():
    seqs = _seqs(list(range(1, 24)))
    a, b = BatchSchedule(seqs, 4, seed=3), BatchSchedule(seqs, 4, seed=3)
    for step in range(14):
        np.testing.assert_array_equal(a.batch(step)["xs"], b.batch(step)["xs"])
    seen = sorted(int(x) for s in range(a.batches_per_epoch) for x in a.batch(s)["xs"][:, 0, 0] if x > 0)
    assert seen == list(range(1, 24))
    assert not np.array_equal(a.batch(0)["lengths"], BatchSchedule(seqs, 4, seed=4).batch(0)["lengths"])


def test_buckets_group_similar_lengths():
    seqs = _seqs(list(np.random.default_rng(0).integers(1, 200, 64)))
    schedule = BatchSchedule(seqs, 4, bucket_batches=16)
    spread = [np.ptp(schedule.batch(s)["lengths"]) for s in range(schedule.batches_per_epoch)]
    assert np.mean(spread) < 40


def test_shifted_inputs_and_chop():
    xs = np.arange(6, dtype=np.float32).reshape(1, 3, 2)
    u = shifted_inputs(xs, mean=np.array([1.0, 1.0]))
    np.testing.assert_array_equal(u[0, 0], [0, 0])
    np.testing.assert_array_equal(u[0, 1:], xs[0, :2] - 1)
    assert [len(c) for c in chop(_seqs([5, 2]), 2)] == [2, 2, 1, 2]


def test_eval_batches_cover_every_sequence_once():
    seqs = _seqs([4, 1, 7, 3, 2])
    batches = list(eval_batches(seqs, 2))
    assert sum(int(b["lengths"].sum()) for b in batches) == 17
    assert sum(int((b["lengths"] > 0).sum()) for b in batches) == 5
