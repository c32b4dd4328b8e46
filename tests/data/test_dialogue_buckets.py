"""Length-bucketed dialogue batches: every pair once an epoch, responses trimmed
to a multiple of the bucket length that holds the batch's longest, few shapes,
deterministic per step."""

import numpy as np
import pytest

from seqvi.data import dialogue


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    return [(" ".join(rng.choice(words, rng.integers(1, 12))), " ".join(rng.choice(words, rng.integers(1, 20))))
            for _ in range(100)]


def test_buckets_cover_the_epoch_and_trim_to_a_multiple(pairs):
    vocab = dialogue.Vocabulary.build(pairs, 40)
    fixed = dialogue.DialogueSchedule(pairs, vocab, 8, 12, 20, seed=1)
    bucketed = dialogue.DialogueSchedule(pairs, vocab, 8, 12, 20, seed=1, length_multiple=7)
    epoch = fixed.batches_per_epoch
    assert epoch == 13
    rows = np.concatenate([bucketed.rows(s) for s in range(epoch)])
    assert set(rows.tolist()) == set(range(100))  # every pair in the epoch (the last bucket wraps)
    shapes = set()
    for step in range(2 * epoch):
        b = bucketed.batch(step)
        longest = int(b["response_length"].max())
        width = b["response_out"].shape[1]
        assert width % 7 == 0 or width == 21
        assert longest <= width < longest + 7
        assert b["context"].shape[1] == 12
        full = fixed.encoded
        np.testing.assert_array_equal(b["response_out"], full.response_out[bucketed.rows(step)][:, :width])
        assert not full.response_out[bucketed.rows(step)][:, width:].any()  # only padding was cut
        shapes.add(width)
    assert shapes <= {7, 14, 21} and len(shapes) > 1
    assert all(fixed.batch(s)["response_out"].shape[1] == 21 for s in range(3))
    np.testing.assert_array_equal(bucketed.batch(5)["response_in"], bucketed.batch(5)["response_in"])
    # sorted buckets: a batch's lengths spread less than the whole set's
    spread = np.mean([np.ptp(bucketed.batch(s)["response_length"]) for s in range(epoch)])
    assert spread < np.ptp(fixed.encoded.response_length) / 2
    with pytest.raises(ValueError, match="length_multiple"):
        dialogue.DialogueSchedule(pairs, vocab, 8, 12, 20, length_multiple=-1)
