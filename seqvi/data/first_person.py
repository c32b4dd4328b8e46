"""First-person 3-D navigation for GTM-SM (thesis, sections 7.4.2 and 7.7.2), in
place of DeepMind Lab's Labyrinth: rooms rendered by Farama's ``miniworld``
(headless, through EGL; Mesa's software rasteriser suffices, see docs/how-to/building.md).

A room is a rectangle of 6-10 units a side with a wall, floor and ceiling
texture drawn from miniworld's, and six boxes and balls of random colours and
places, so that each heading sees a different view. The agent sees an RGB view
of ``size`` x ``size`` pixels. Actions, one-hot: turn left, turn right, move
forward. Step t records the action a_t that led to the pose and the view x_t
from there. Two kinds of video:

- 'rotating' (section 7.4.2.1): the agent stands at a random place and turns
  the same way (left or right, drawn per video) by 360/41 degrees every step,
  from a random heading: two full turns take 82 steps.
- 'walking' (section 7.4.2.2): an action drawn uniformly is repeated 1 +
  Poisson(``repeat_rate``) steps; turns are 15 degrees, moves 0.25 units, and a
  move into a wall or a box does nothing; with ``avoid_walls`` such a move is
  replaced by a turn (one direction, drawn when the blocking starts, kept until a
  move goes through) and recorded as that turn, so that, like the thesis's
  pre-trained agent, it never walks into a wall.

Poses are (x, z, heading) with the heading in radians, wrapped to (-pi, pi].
Every video has its own room, drawn from the video's seed; the same seed always
gives the same frames and poses.
"""

import dataclasses
import functools
import math
import sys
from typing import NamedTuple

import numpy as np

from seqvi._extras import MissingExtraError, require

ACTIONS = ("turn_left", "turn_right", "forward")
KINDS = ("rotating", "walking")
TURNS_PER_CIRCLE = 41  # the thesis's rotational period (section 7.4.2.1)
WALK_TURN_DEGREES = 15.0
WALK_STEP = 0.25
NUM_OBJECTS = 6
WALL_TEXTURES = ("brick_wall", "cinder_blocks", "concrete", "drywall", "marble", "stucco", "wood_planks", "wood")
FLOOR_TEXTURES = ("asphalt", "floor_tiles_bw", "grass", "concrete_tiles", "wood", "water")
COLOURS = ("red", "green", "blue", "purple", "yellow", "grey")


class MiniworldUnavailable(RuntimeError):
    """The EGL libraries miniworld renders with are missing (a missing miniworld or
    pyglet raises ``seqvi.MissingExtraError`` naming the ``video`` extra)."""


@functools.cache
def _miniworld():
    """Import miniworld for headless rendering: pyglet's headless option must be
    set before miniworld is imported (PYOPENGL_PLATFORM alone is not enough)."""
    pyglet = require("pyglet", "video")
    pyglet.options["headless"] = True
    try:
        require("miniworld.entity", "video")
        require("miniworld.miniworld", "video")
    except MissingExtraError:
        raise
    except ImportError as e:
        raise MiniworldUnavailable(
            f"first-person navigation renders through EGL: install libegl1, libegl-mesa0, libgl1-mesa-dri and "
            f"libgl1 (`make system-packages`): {e}") from e
    return sys.modules["miniworld"]


def _room_class():
    mw = _miniworld()

    class Room(mw.miniworld.MiniWorldEnv):
        """One textured room with ``NUM_OBJECTS`` coloured boxes and balls; all drawn
        from the reset's seed (``self.np_random``)."""

        def _gen_world(self):
            rng = self.np_random
            width, depth = rng.uniform(6.0, 10.0, size=2)
            self.add_rect_room(0.0, float(width), 0.0, float(depth),
                               wall_tex=str(rng.choice(WALL_TEXTURES)), floor_tex=str(rng.choice(FLOOR_TEXTURES)),
                               ceil_tex="ceiling_tiles")
            for _ in range(NUM_OBJECTS):
                colour = str(rng.choice(COLOURS))
                entity = (mw.entity.Box(color=colour, size=float(rng.uniform(0.5, 1.0))) if rng.random() < 0.5
                          else mw.entity.Ball(color=colour, size=float(rng.uniform(0.5, 1.0))))
                self.place_entity(entity)
            margin = 1.5  # the agent stands away from the walls
            self.place_agent(min_x=margin, max_x=float(width) - margin, min_z=margin, max_z=float(depth) - margin)

    return Room


@functools.cache
def room(size: int):
    """The (cached) miniworld environment rendering ``size`` x ``size`` views.
    MiniworldUnavailable when no OpenGL context can be made (EGL missing)."""
    cls = _room_class()
    try:
        return cls(obs_width=size, obs_height=size, max_episode_steps=10**6)
    except Exception as e:  # pyglet raises its own types when it finds no display or EGL device
        raise MiniworldUnavailable(f"miniworld could not open a headless OpenGL context ({type(e).__name__}: {e}); "
                                   "it needs the EGL libraries: `make system-packages`") from e


class FirstPerson(NamedTuple):
    frames: np.ndarray  # [N, T, size, size, 3] uint8 views
    actions: np.ndarray  # [N, T, 3] float32 one-hot (ACTIONS)
    poses: np.ndarray  # [N, T, 3] float32 (x, z, heading in (-pi, pi])


@dataclasses.dataclass(frozen=True)
class FirstPersonSpec:
    """kind ('rotating' or 'walking'); num_steps T per video; size (view pixels per
    side); repeat_rate (the walking agent's Poisson rate of an action's repeats);
    avoid_walls (the walking agent turns instead of walking into a wall)."""

    kind: str = "rotating"
    num_steps: int = 49
    size: int = 32
    repeat_rate: float = 3.0
    avoid_walls: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown first-person kind {self.kind!r}: one of {KINDS}")
        if self.num_steps < 1 or self.size < 8:
            raise ValueError(f"need num_steps >= 1 and size >= 8, got {self.num_steps} and {self.size}")


def wrap(angle):
    """The angle in (-pi, pi]."""
    return math.pi - (math.pi - angle) % (2 * math.pi)


def _actions(rng: np.random.Generator, spec: FirstPersonSpec) -> np.ndarray:
    if spec.kind == "rotating":
        return np.full(spec.num_steps, rng.integers(0, 2))  # turn left or right throughout
    actions = np.empty(spec.num_steps, np.int64)
    t = 0
    while t < spec.num_steps:
        repeat = 1 + rng.poisson(spec.repeat_rate)
        actions[t:t + repeat] = rng.integers(0, len(ACTIONS))
        t += repeat
    return actions


def video(spec: FirstPersonSpec, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames [T, size, size, 3] uint8, action ids [T], poses [T, 3]) of one video."""
    rng = np.random.default_rng(seed)
    env = room(spec.size)
    env.reset(seed=int(rng.integers(2**31)))
    turn = 360.0 / TURNS_PER_CIRCLE if spec.kind == "rotating" else WALK_TURN_DEGREES
    actions = _actions(rng, spec)
    frames = np.empty((spec.num_steps, spec.size, spec.size, 3), np.uint8)
    poses = np.empty((spec.num_steps, 3), np.float32)
    agent = env.agent
    detour = None  # the turn that replaces blocked moves (avoid_walls)
    for t, a in enumerate(actions):
        if a == 2:
            moved = env.move_agent(WALK_STEP, 0.0)
            if moved or not spec.avoid_walls:
                detour = None
            else:
                detour = int(rng.integers(0, 2)) if detour is None else detour
                a = actions[t] = detour
        if a != 2:
            env.turn_agent(turn if a == 0 else -turn)
        agent.dir = wrap(agent.dir)
        frames[t] = env.render_obs()
        poses[t] = (agent.pos[0], agent.pos[2], agent.dir)
    return frames, actions, poses


def generate(spec: FirstPersonSpec, num_videos: int, seed: int) -> FirstPerson:
    """``num_videos`` videos, each in its own room; deterministic for a seed."""
    if num_videos < 1:
        raise ValueError(f"need num_videos >= 1, got {num_videos}")
    seeds = np.random.default_rng(seed).integers(2**31, size=num_videos)
    frames, actions, poses = zip(*(video(spec, int(s)) for s in seeds))
    return FirstPerson(np.stack(frames), np.eye(len(ACTIONS), dtype=np.float32)[np.stack(actions)], np.stack(poses))


def agent_displacements(poses: np.ndarray) -> np.ndarray:
    """[..., T, 3] float32: each step's displacement in the agent's frame before it
    (forward, leftward, heading change wrapped to (-pi, pi]), from poses [..., T, 3]
    (x, z, heading). With miniworld's heading h the forward direction is
    (cos h, -sin h) in (x, z), so in (x, -z) a displacement is rotated by -h_{t-1}.
    Step 1 has no pose before it: its entry is 0."""
    poses = np.asarray(poses, np.float64)
    dx, dz = np.diff(poses[..., 0], axis=-1), -np.diff(poses[..., 1], axis=-1)
    h = poses[..., :-1, 2]
    forward = np.cos(h) * dx + np.sin(h) * dz
    leftward = -np.sin(h) * dx + np.cos(h) * dz
    turn = np.vectorize(wrap)(np.diff(poses[..., 2], axis=-1)) if dx.size else dx
    out = np.stack([forward, leftward, turn], -1)
    return np.concatenate([np.zeros_like(out[..., :1, :]), out], -2).astype(np.float32)


def rows(data: FirstPerson, displacements: bool = False) -> np.ndarray:
    """[N, T, size * size * 3 + 3 (+ 3)] float32: each step's view in [0, 1] and the
    action that led to it, the layout GTM-SM reads (``seqvi.models.gtmsm``); with
    ``displacements``, then the true ``agent_displacements`` (the walking agent's
    regression targets, thesis section 7.4.2.2)."""
    n, t = data.frames.shape[:2]
    parts = [data.frames.reshape(n, t, -1).astype(np.float32) / 255.0, data.actions]
    if displacements:
        parts.append(agent_displacements(data.poses))
    return np.concatenate(parts, -1)
