"""GTM-SM's first-person 3-D videos (miniworld rooms, rendered headless): the
same seed gives the same videos, each frame is the view from its recorded pose,
the rotating agent turns by 2 pi / 41 a step in place, the walking agent moves
only on 'forward', and the TFDS builder writes what the generator makes."""

import numpy as np
import pytest

from seqvi.data import first_person as fp

TURN = 2 * np.pi / fp.TURNS_PER_CIRCLE


def _heading_steps(poses):
    return np.angle(np.exp(1j * np.diff(poses[:, 2])))  # wrapped differences


def test_videos_are_deterministic_per_seed():
    spec = fp.FirstPersonSpec("rotating", num_steps=6, size=16)
    a, b, c = fp.generate(spec, 2, seed=3), fp.generate(spec, 2, seed=3), fp.generate(spec, 2, seed=4)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.frames, c.frames)
    assert a.frames.shape == (2, 6, 16, 16, 3) and a.frames.dtype == np.uint8
    assert fp.rows(a).shape == (2, 6, 16 * 16 * 3 + 3) and float(fp.rows(a)[..., :-3].max()) <= 1.0


@pytest.mark.parametrize("kind", fp.KINDS)
def test_each_frame_is_the_view_from_its_recorded_pose(kind):
    spec = fp.FirstPersonSpec(kind, num_steps=30, size=16)
    frames, actions, poses = fp.video(spec, seed=11)
    env = fp.room(16)  # still the video's room
    for t in (0, 7, 29):
        env.agent.pos = np.array([poses[t, 0], 0.0, poses[t, 1]])
        env.agent.dir = float(poses[t, 2])
        rendered = env.render_obs().astype(float)
        assert np.abs(rendered - frames[t]).mean() < 1.0, t  # float32 poses: at most edge pixels differ
    assert np.all(np.abs(poses[:, 2]) <= np.pi + 1e-6)


def test_rotating_agent_turns_in_place_by_one_41st_of_a_circle():
    frames, actions, poses = fp.video(fp.FirstPersonSpec("rotating", num_steps=83, size=16), seed=5)
    assert len(set(actions.tolist())) == 1 and actions[0] in (0, 1)
    np.testing.assert_allclose(poses[:, :2], poses[:1, :2].repeat(83, 0))
    sign = 1.0 if actions[0] == 0 else -1.0
    np.testing.assert_allclose(_heading_steps(poses), sign * TURN, atol=1e-5)
    # two full turns later the agent sees the same view
    np.testing.assert_allclose(frames[82].astype(float), frames[0].astype(float), atol=1.0)


def test_walking_agent_moves_only_forward_and_turns_by_15_degrees():
    _, actions, poses = fp.video(fp.FirstPersonSpec("walking", num_steps=120, size=16), seed=2)
    moved = np.linalg.norm(np.diff(poses[:, :2], axis=0), axis=1)
    turned = _heading_steps(poses)
    later = actions[1:]
    assert np.all(moved[later != 2] < 1e-6)
    assert np.all((np.abs(moved[later == 2] - fp.WALK_STEP) < 1e-4) | (moved[later == 2] < 1e-6))  # walls stop it
    assert np.any(moved > 0)
    np.testing.assert_allclose(np.abs(turned[later != 2]), np.deg2rad(fp.WALK_TURN_DEGREES), atol=1e-5)
    assert np.all(turned[later == 2] == 0)


def test_bad_specs_are_refused():
    with pytest.raises(ValueError, match="kind"):
        fp.FirstPersonSpec("flying")
    with pytest.raises(ValueError, match="num_videos"):
        fp.generate(fp.FirstPersonSpec(num_steps=3, size=16), 0, seed=0)


def test_tfds_builder_writes_the_videos_of_the_generator(tmp_path):
    from seqvi.data import tfds_first_person

    sources = tfds_first_person.build(tmp_path, num_steps=5, test_steps=7, size=16, num_train=3, num_valid=2,
                                      num_test=2, seed=9)
    assert {k: len(v) for k, v in sources.items()} == {"train": 3, "valid": 2, "test": 2}
    for split, offset, steps in (("train", 0, 5), ("test", 1, 7)):
        expected = fp.generate(fp.FirstPersonSpec("rotating", steps, 16), 3 if split == "train" else 2, 9 + offset)
        got = tfds_first_person.videos(sources[split])
        for x, y in zip(got, expected):
            np.testing.assert_array_equal(x, y)


def test_agent_displacements_are_in_the_frame_before_each_step():
    """A step forward at heading h (miniworld moves by (cos h, -sin h) in (x, z)) is
    (0.25, 0, 0) in the agent's frame whatever h; a turn is (0, 0, turn), wrapped
    across pi; a sideways shift is leftward when it goes to the agent's left."""
    h = 2.0
    poses = np.array([[1.0, 1.0, h],
                      [1.0 + 0.25 * np.cos(h), 1.0 - 0.25 * np.sin(h), h],  # forward
                      [1.0 + 0.25 * np.cos(h), 1.0 - 0.25 * np.sin(h), np.pi - 0.05]])  # turn left across pi
    poses = np.concatenate([poses, poses[-1:] + np.array([[0.0, 0.0, -2 * np.pi + 0.15]])])  # then by +0.15, wrapped
    d = fp.agent_displacements(poses)
    np.testing.assert_allclose(d[0], 0.0)
    np.testing.assert_allclose(d[1], [0.25, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(d[2], [0.0, 0.0, np.pi - 0.05 - h], atol=1e-6)
    np.testing.assert_allclose(d[3], [0.0, 0.0, 0.15], atol=1e-6)
    left = np.array([[0.0, 0.0, 0.0], [0.0, -0.3, 0.0]])  # heading 0 faces +x; -z is to its left
    np.testing.assert_allclose(fp.agent_displacements(left)[1], [0.0, 0.3, 0.0], atol=1e-6)
    data = fp.FirstPerson(np.zeros((1, 4, 2, 2, 3), np.uint8), np.eye(3, dtype=np.float32)[[0, 2, 0, 0]][None],
                          poses[None].astype(np.float32))
    rows = fp.rows(data, displacements=True)
    assert rows.shape == (1, 4, 12 + 3 + 3)
    np.testing.assert_allclose(rows[0, :, -3:], d, atol=1e-6)


def test_walking_agent_that_avoids_walls_never_walks_into_one():
    """avoid_walls: every recorded 'forward' moves by one step, the blocked ones
    having become turns of 15 degrees; the views still come from the poses."""
    spec = fp.FirstPersonSpec("walking", num_steps=150, size=16, avoid_walls=True)
    frames, actions, poses = fp.video(spec, seed=2)
    _, plain_actions, plain_poses = fp.video(fp.FirstPersonSpec("walking", num_steps=150, size=16), seed=2)
    plain_moved = np.linalg.norm(np.diff(plain_poses[:, :2], axis=0), axis=1)
    assert np.any(plain_moved[plain_actions[1:] == 2] < 1e-6)  # this walk is blocked without avoid_walls
    moved = np.linalg.norm(np.diff(poses[:, :2], axis=0), axis=1)
    later = actions[1:]
    np.testing.assert_allclose(moved[later == 2], fp.WALK_STEP, atol=1e-4)
    np.testing.assert_allclose(np.abs(_heading_steps(poses)[later != 2]), np.deg2rad(fp.WALK_TURN_DEGREES), atol=1e-5)
    assert np.any(actions != plain_actions)
    np.testing.assert_array_equal(frames, fp.video(spec, seed=2)[0])
