"""The image navigation environment: deterministic per seed, views that agree
with the recorded positions, walls, and disjoint training and test images."""

import numpy as np
import pytest

from seqvi.data import navigation as nav


def test_walks_are_deterministic_and_agree_with_their_positions():
    spec = nav.NavigationSpec(num_steps=60, repeat_rate=2.0)
    a, b = nav.generate(spec, 3, seed=4), nav.generate(spec, 3, seed=4)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.frames, nav.generate(spec, 3, seed=5).frames)
    assert a.frames.shape == (3, 60, 64) and a.actions.shape == (3, 60, 5) and a.positions.shape == (3, 60, 2)
    for n in range(3):
        for t in range(60):
            np.testing.assert_array_equal(a.frames[n, t], nav.view(a.environments[n], a.positions[n, t]).ravel())
        steps = np.diff(a.positions[n], axis=0)
        moves = nav.MOVES[a.actions[n, 1:].argmax(-1)]
        inside = np.all((a.positions[n, :-1] + moves >= 0) & (a.positions[n, :-1] + moves < nav.GRID), axis=1)
        np.testing.assert_array_equal(steps[inside], moves[inside])  # the action's move where no wall stops it
        assert np.all(steps[~inside] == 0) and a.positions[n].min() >= 0 and a.positions[n].max() < nav.GRID
    assert 0.0 <= a.frames.min() and a.frames.max() <= 1.0


def test_an_agent_that_avoids_walls_always_moves_by_its_action():
    """avoid_walls: every recorded move goes through (no step into a wall), 'stay'
    stays, and the same seed without it gives the walls-bumping walk."""
    spec = nav.NavigationSpec(num_steps=200, avoid_walls=True)
    a = nav.generate(spec, 2, seed=4)
    plain = nav.generate(nav.NavigationSpec(num_steps=200), 2, seed=4)
    start = np.array([[nav.GRID // 2, nav.GRID // 2]])
    for n in range(2):
        moves = nav.MOVES[a.actions[n].argmax(-1)]
        np.testing.assert_array_equal(np.diff(np.concatenate([start, a.positions[n]]), axis=0), moves)
        plain_moves = nav.MOVES[plain.actions[n].argmax(-1)]
        assert np.any(np.diff(np.concatenate([start, plain.positions[n]]), axis=0) != plain_moves)  # bumps
    np.testing.assert_array_equal(a.environments[0], plain.environments[0])  # later ones: the rng moved on


def test_training_and_test_images_are_disjoint_and_load():
    assert not set(nav.TRAIN_IMAGES) & set(nav.TEST_IMAGES)
    for name in nav.TRAIN_IMAGES + nav.TEST_IMAGES:
        image = nav.source_image(name)
        assert image.ndim == 2 and min(image.shape) >= nav.SIZE and np.isfinite(image).all()
    with pytest.raises(ValueError, match="unknown source image"):
        nav.source_image("nothing")
    with pytest.raises(ValueError, match="num_sequences"):
        nav.generate(nav.NavigationSpec(), 0, seed=0)
    assert nav.rows(nav.generate(nav.NavigationSpec(num_steps=5), 1, 0)).shape == (1, 5, 69)


def test_tfds_builder_writes_the_walks_of_the_loader(tmp_path):
    from seqvi.data import tfds_navigation

    sources = tfds_navigation.build(tmp_path, num_train=3, num_test=2, num_steps=12, test_steps=20, seed=7)
    train = nav.generate(nav.NavigationSpec(12, 3.0), 3, 7, nav.TRAIN_IMAGES)
    test = nav.generate(nav.NavigationSpec(20, 3.0), 2, 8, nav.TEST_IMAGES)
    assert len(sources["train"]) == 3 and len(sources["test"]) == 2
    for split, data in (("train", train), ("test", test)):
        for record in sources[split]:
            i = int(record["index"])
            np.testing.assert_array_equal(record["frames"].reshape(-1, 64), data.frames[i])
            np.testing.assert_array_equal(record["positions"], data.positions[i])
            np.testing.assert_array_equal(record["actions"], data.actions[i])
