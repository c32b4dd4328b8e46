"""The physics simulators: deterministic per seed, the ball stays inside its walls,
elastic walls keep the speed (and, under gravity, the energy)."""

import numpy as np
import pytest

from seqvi.data import physics
from seqvi.data.physics import PhysicsSpec, generate


@pytest.fixture(scope="module", params=physics.BALL_ENVIRONMENTS)
def ball(request):
    spec = PhysicsSpec(request.param)
    return spec, generate(spec, 30, seed=1)


def test_shapes_and_binary_frames(ball):
    spec, data = ball
    assert data.frames.shape == (30, 20, 32, 32) and data.frames.dtype == np.uint8
    assert set(np.unique(data.frames)) <= {0, 1}
    assert data.positions.shape == data.velocities.shape == (30, 20, 2) and data.inputs.shape == (30, 20, 0)
    # the ball covers about pi r^2 pixels in every frame (a pong frame adds its paddles)
    ball_pixels = data.frames.sum(axis=(2, 3))
    assert ball_pixels.min() >= 20 and (spec.environment == "pong" or ball_pixels.max() <= 37)


def test_the_ball_stays_inside_the_walls(ball):
    spec, data = ball
    # the discrete collision lets the ball reach at most half a pixel into a wall
    assert all(physics.inside_walls(spec, p, spec.radius - 0.5) for p in data.positions.reshape(-1, 2))


def test_deterministic_for_a_seed(ball):
    spec, data = ball
    again = generate(spec, 3, seed=1, start=2)
    np.testing.assert_array_equal(again.frames, data.frames[2:5])
    assert not np.array_equal(generate(spec, 3, seed=2).frames, data.frames[:3])


def test_elastic_walls_preserve_speed_without_gravity():
    for env in ("box", "polygon"):
        v = np.linalg.norm(generate(PhysicsSpec(env), 30, seed=1).velocities, axis=-1)
        np.testing.assert_allclose(v, np.broadcast_to(v[:, :1], v.shape), rtol=1e-3)
        assert np.all((v[:, 0] >= 10) & (v[:, 0] <= 20))


def test_gravity_keeps_the_energy_and_pulls_down():
    data = generate(PhysicsSpec("gravity"), 30, seed=1)
    energy = 0.5 * np.sum(data.velocities**2, -1) + 10.0 * data.positions[..., 1]
    np.testing.assert_allclose(energy, np.broadcast_to(energy[:, :1], energy.shape), rtol=0.05)
    # between bounces the vertical speed drops by g * dt per frame
    assert np.median(np.diff(data.velocities[..., 1], axis=1)) == pytest.approx(-10.0 * 0.2, rel=1e-3)


def test_pendulum():
    spec = PhysicsSpec.pendulum()
    data = generate(spec, 10, seed=0)
    assert data.frames.shape == (10, 15, 16, 16) and data.inputs.shape == (10, 15, 1)
    centre = spec.image_size / 2
    radius = np.linalg.norm(data.positions - centre, axis=-1)
    np.testing.assert_allclose(radius, centre - 3.0, rtol=1e-5)  # the bob stays on its circle
    torques = data.inputs[..., 0]
    assert np.all(np.abs(torques) <= 2) and np.all(torques[:, 0] == torques[:, 2])  # piecewise constant


def test_bad_specs():
    with pytest.raises(ValueError, match="environment"):
        PhysicsSpec("cube")
    with pytest.raises(ValueError, match="num_sequences"):
        generate(PhysicsSpec(), 0)


def test_tfds_builder(tmp_path):
    from seqvi.data.tfds_physics import build

    sources = build("pendulum", tmp_path, num_train=3, num_test=2)
    assert len(sources["train"]) == 3 and len(sources["test"]) == 2
    example = sources["test"][0]
    expected = generate(PhysicsSpec.pendulum(), 1, seed=1, start=int(example["index"]))
    np.testing.assert_array_equal(example["frames"], expected.frames[0])
    np.testing.assert_array_equal(example["inputs"], expected.inputs[0])
