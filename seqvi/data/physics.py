"""Simulated physics videos for the KVAE (thesis, chapter 6): binary frames of a
ball moving in an environment, simulated with pymunk, and a torque-controlled
pendulum.

Ball environments (frames 32x32, 20 steps of dt = 0.2, ball radius 3, elastic
walls and ball, no friction; coordinates in pixels, y up):

  box       the ball in a square box
  gravity   the same under gravity (g = 10 pixels/s^2, downwards)
  polygon   the ball in an irregular convex polygon
  pong      the box with two paddles (left and right) that follow the ball's height
            at a limited speed, as in Pong

The ball starts uniformly inside the walls with speed ~ U[10, 20] pixels/s in a
uniformly random direction. The simulation takes 10 pymunk sub-steps per frame.

pendulum  16x16 frames, 15 steps of dt = 0.2: theta'' = -(g/l) sin(theta)
          - c theta' + u_t with g/l = 10, damping c = 0.1 and a piecewise-constant
          random torque u_t ~ U[-2, 2] (redrawn every 3 steps), the control input
          the KVAE receives. theta_0 ~ U[-pi, pi], theta'_0 ~ U[-1, 1]; RK4 with 10
          sub-steps; the bob (radius 2) at 5 pixels from the pivot is drawn.

A pixel is on when its centre lies inside a ball, bob or paddle. Every sequence
comes from ``numpy.random.default_rng([seed, index])``, so a sequence does not
depend on how many others are generated.
"""

import dataclasses
from typing import NamedTuple

import numpy as np

from seqvi._extras import require

BALL_ENVIRONMENTS = ("box", "gravity", "polygon", "pong")
ENVIRONMENTS = BALL_ENVIRONMENTS + ("pendulum",)
# An irregular convex polygon inside the 32x32 frame (counter-clockwise).
POLYGON = ((4.0, 2.0), (26.0, 1.0), (31.0, 14.0), (24.0, 30.0), (9.0, 29.0), (1.0, 17.0))
SUBSTEPS = 10
PADDLE_HALF_HEIGHT, PADDLE_X, PADDLE_SPEED = 5.0, (2.0, 30.0), 12.0


@dataclasses.dataclass(frozen=True)
class PhysicsSpec:
    """What to simulate; defaults follow the thesis (the pendulum's: 16x16, 15 steps)."""

    environment: str = "box"
    num_steps: int = 20
    image_size: int = 32
    dt: float = 0.2
    radius: float = 3.0
    gravity: float = 10.0

    def __post_init__(self):
        if self.environment not in ENVIRONMENTS:
            raise ValueError(f"environment must be one of {ENVIRONMENTS}, got {self.environment!r}")
        if not isinstance(self.num_steps, int) or self.num_steps < 1:
            raise ValueError(f"num_steps must be a positive int, got {self.num_steps!r}")
        if not isinstance(self.image_size, int) or self.image_size < 8:
            raise ValueError(f"image_size must be an int >= 8, got {self.image_size!r}")

    @classmethod
    def pendulum(cls) -> "PhysicsSpec":
        return cls("pendulum", num_steps=15, image_size=16, radius=2.0)

    @classmethod
    def default(cls, environment: str) -> "PhysicsSpec":
        """The thesis's settings for ``environment`` (the pendulum's differ)."""
        return cls.pendulum() if environment == "pendulum" else cls(environment)


class PhysicsSet(NamedTuple):
    """frames [N, T, H, W] uint8 in {0, 1}; positions [N, T, 2] (ball or bob centre,
    pixels, y up); velocities [N, T, 2]; inputs [N, T, U] (U = 1 for the pendulum's
    torque, else 0)."""

    frames: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    inputs: np.ndarray


def walls(spec: PhysicsSpec) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The static wall segments of a ball environment."""
    s = float(spec.image_size)
    corners = POLYGON if spec.environment == "polygon" else ((0.0, 0.0), (s, 0.0), (s, s), (0.0, s))
    return [(corners[i], corners[(i + 1) % len(corners)]) for i in range(len(corners))]


def inside_walls(spec: PhysicsSpec, point: np.ndarray, margin: float) -> bool:
    """Whether ``point`` lies inside the walls (a convex polygon), ``margin`` away from each."""
    for (x0, y0), (x1, y1) in walls(spec):
        # counter-clockwise walls: inside is to the left of each edge
        edge = np.array([x1 - x0, y1 - y0])
        normal = np.array([-edge[1], edge[0]]) / np.linalg.norm(edge)
        if np.dot(point - np.array([x0, y0]), normal) < margin:
            return False
    return True


def _render(spec: PhysicsSpec, centre: np.ndarray, paddles=()) -> np.ndarray:
    """Binary [H, W] frame: row 0 at the top, pixel (i, j) centred at (j + .5, H - i - .5)."""
    size = spec.image_size
    grid = np.arange(size) + 0.5
    x, y = np.meshgrid(grid, grid[::-1])
    on = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 <= spec.radius**2
    for px, py in paddles:
        on |= (np.abs(x - px) <= 1.0) & (np.abs(y - py) <= PADDLE_HALF_HEIGHT)
    return on.astype(np.uint8)


def simulate_ball(spec: PhysicsSpec, rng: np.random.Generator):
    """One ball sequence: (frames [T, H, W], positions [T, 2], velocities [T, 2])."""
    pymunk = require("pymunk", "video")

    space = pymunk.Space()
    space.collision_slop = 0.01  # allowed overlap with a wall, pixels
    space.gravity = (0.0, -spec.gravity if spec.environment == "gravity" else 0.0)
    for a, b in walls(spec):
        wall = pymunk.Segment(space.static_body, a, b, 0.0)
        wall.elasticity, wall.friction = 1.0, 0.0
        space.add(wall)
    while True:
        start = rng.uniform(0.0, spec.image_size, 2)
        if inside_walls(spec, start, spec.radius + 1.0):
            break
    angle, speed = rng.uniform(0.0, 2 * np.pi), rng.uniform(10.0, 20.0)
    ball = pymunk.Body(1.0, float("inf"))
    ball.position = tuple(start)
    ball.velocity = (speed * np.cos(angle), speed * np.sin(angle))
    shape = pymunk.Circle(ball, spec.radius)
    shape.elasticity, shape.friction = 1.0, 0.0
    space.add(ball, shape)
    paddles = []
    if spec.environment == "pong":
        for x in PADDLE_X:
            body = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
            body.position = (x, spec.image_size / 2)
            seg = pymunk.Segment(body, (0.0, -PADDLE_HALF_HEIGHT), (0.0, PADDLE_HALF_HEIGHT), 1.0)
            seg.elasticity, seg.friction = 1.0, 0.0
            space.add(body, seg)
            paddles.append(body)
    frames, positions, velocities = [], [], []
    for _ in range(spec.num_steps):
        centre = np.array(ball.position)
        frames.append(_render(spec, centre, [tuple(p.position) for p in paddles]))
        positions.append(centre)
        velocities.append(np.array(ball.velocity))
        for _ in range(SUBSTEPS):
            for paddle in paddles:  # follow the ball's height at a limited speed
                gap = ball.position.y - paddle.position.y
                paddle.velocity = (0.0, float(np.clip(gap / (spec.dt / SUBSTEPS), -PADDLE_SPEED, PADDLE_SPEED)))
            space.step(spec.dt / SUBSTEPS)
    return np.stack(frames), np.stack(positions), np.stack(velocities)


def _pendulum_rhs(state, torque):
    theta, omega = state
    return np.array([omega, -10.0 * np.sin(theta) - 0.1 * omega + torque])


def simulate_pendulum(spec: PhysicsSpec, rng: np.random.Generator):
    """One pendulum sequence: (frames, bob positions, bob velocities, torques [T, 1])."""
    state = np.array([rng.uniform(-np.pi, np.pi), rng.uniform(-1.0, 1.0)])
    torques = np.repeat(rng.uniform(-2.0, 2.0, -(-spec.num_steps // 3)), 3)[: spec.num_steps]
    h = spec.dt / SUBSTEPS
    centre, length = spec.image_size / 2, spec.image_size / 2 - 3.0
    frames, positions, velocities = [], [], []
    for t in range(spec.num_steps):
        theta, omega = state
        bob = np.array([centre + length * np.sin(theta), centre - length * np.cos(theta)])
        frames.append(_render(spec, bob))
        positions.append(bob)
        velocities.append(length * omega * np.array([np.cos(theta), np.sin(theta)]))
        for _ in range(SUBSTEPS):
            k1 = _pendulum_rhs(state, torques[t])
            k2 = _pendulum_rhs(state + h / 2 * k1, torques[t])
            k3 = _pendulum_rhs(state + h / 2 * k2, torques[t])
            k4 = _pendulum_rhs(state + h * k3, torques[t])
            state = state + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return np.stack(frames), np.stack(positions), np.stack(velocities), torques[:, None]


def generate(spec: PhysicsSpec, num_sequences: int, seed: int = 0, start: int = 0) -> PhysicsSet:
    """Sequences ``start .. start + num_sequences - 1`` of ``spec`` for ``seed``."""
    if num_sequences < 1:
        raise ValueError(f"num_sequences must be positive, got {num_sequences}")
    out = []
    for i in range(start, start + num_sequences):
        rng = np.random.default_rng([seed, i])
        if spec.environment == "pendulum":
            out.append(simulate_pendulum(spec, rng))
        else:
            out.append(simulate_ball(spec, rng) + (np.zeros((spec.num_steps, 0)),))
    frames, positions, velocities, inputs = (np.stack(x) for x in zip(*out))
    return PhysicsSet(frames.astype(np.uint8), positions.astype(np.float32), velocities.astype(np.float32),
                      inputs.astype(np.float32))
