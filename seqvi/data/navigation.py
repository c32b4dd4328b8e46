"""The image navigation environment of GTM-SM (thesis, sections 7.4.1 and 7.7.1),
on photographs and scans that ship inside matplotlib (its ``sample_data``), so
nothing is downloaded.

An environment is a 32 x 32 grey image in [0, 1] cut from a source image; the
agent stands on a 9 x 9 grid of positions p = (row, col) and sees the 8 x 8 crop
whose top-left pixel is 3 p (crops overlap; 3 * 8 + 8 = 32). Five actions: up,
down, left, right, stay. An action is drawn uniformly and repeated 1 + Poisson
(``repeat_rate``) steps, to favour exploring; a move that would leave the grid
does nothing (walls). Step t records the action a_t that led to the position
p_t and the view x_t from there; every walk starts from the centre (4, 4), so
the walls lie at the same place relative to the start in every walk (GTM-SM's
states start at s_0 = 0 and its wall network sigma_d reads absolute states: with
random starts it could not learn them).

Training environments come from three images (a portrait, an MRI scan, a
pictogram), test environments from two others (a terrain elevation map and a
topography/bathymetry map): disjoint images. Everything is seeded.
"""

import dataclasses
import functools
import gzip
from typing import NamedTuple

import numpy as np

from seqvi._extras import require

SIZE, VIEW, STRIDE = 32, 8, 3
GRID = (SIZE - VIEW) // STRIDE + 1  # 9 positions per axis
ACTIONS = ("up", "down", "left", "right", "stay")
MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1], [0, 0]])
TRAIN_IMAGES = ("grace_hopper", "mri", "pictogram")
TEST_IMAGES = ("elevation", "topobathy")


def _sample(name: str) -> str:
    cbook = require("matplotlib.cbook", "video")
    return cbook.get_sample_data(name, asfileobj=False)


def _downscale(image: np.ndarray, factor: int) -> np.ndarray:
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    return image[:h, :w].reshape(h // factor, factor, w // factor, factor).mean((1, 3))


@functools.cache
def source_image(name: str) -> np.ndarray:
    """A grey float image of matplotlib's sample data, downscaled so that a
    32 x 32 environment holds recognisable structure. Names: ``TRAIN_IMAGES`` and
    ``TEST_IMAGES``."""
    mpimg = require("matplotlib.image", "video")

    if name == "grace_hopper":
        return _downscale(mpimg.imread(_sample("grace_hopper.jpg")).mean(-1) / 255.0, 4)
    if name == "mri":
        with gzip.open(_sample("s1045.ima.gz")) as f:
            return _downscale(np.frombuffer(f.read(), ">u2").reshape(256, 256).astype(np.float64), 2)
    if name == "pictogram":
        return mpimg.imread(_sample("Minduka_Present_Blue_Pack.png"))[..., :3].mean(-1).astype(np.float64)
    if name == "elevation":
        return _downscale(np.load(_sample("jacksboro_fault_dem.npz"))["elevation"].astype(np.float64), 3)
    if name == "topobathy":
        return np.load(_sample("topobathy.npz"))["topo"].astype(np.float64)
    raise ValueError(f"unknown source image {name!r}: one of {TRAIN_IMAGES + TEST_IMAGES}")


def cut_environment(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """A random 32 x 32 patch of ``image``, rescaled to [0, 1] (a flat patch is 0.5)."""
    r = rng.integers(0, image.shape[0] - SIZE + 1)
    c = rng.integers(0, image.shape[1] - SIZE + 1)
    patch = image[r:r + SIZE, c:c + SIZE]
    span = patch.max() - patch.min()
    return ((patch - patch.min()) / span if span > 0 else np.full_like(patch, 0.5)).astype(np.float32)


def view(environment: np.ndarray, position) -> np.ndarray:
    """The 8 x 8 crop seen from grid ``position`` (row, col)."""
    r, c = STRIDE * int(position[0]), STRIDE * int(position[1])
    return environment[r:r + VIEW, c:c + VIEW]


def random_walk(rng: np.random.Generator, num_steps: int, repeat_rate: float, avoid_walls: bool = False
                ) -> tuple[np.ndarray, np.ndarray]:
    """(actions [T] ids into ``ACTIONS``, positions [T, 2]) of the agent (module
    docstring). ``avoid_walls``: a move into a wall is replaced by one of the moves
    that go through, drawn uniformly (a diagnostic variant: the thesis's agent does
    walk into the walls)."""
    actions = np.empty(num_steps, np.int64)
    t = 0
    while t < num_steps:
        repeat = 1 + rng.poisson(repeat_rate)
        actions[t:t + repeat] = rng.integers(0, len(ACTIONS))
        t += repeat
    position = np.array([GRID // 2, GRID // 2])
    positions = np.empty((num_steps, 2), np.int64)
    inside = lambda p: bool(np.all((p >= 0) & (p < GRID)))  # noqa: E731
    for t, a in enumerate(actions):
        if avoid_walls and not inside(position + MOVES[a]):
            free = [b for b in range(len(MOVES)) if np.any(MOVES[b]) and inside(position + MOVES[b])]
            a = actions[t] = rng.choice(free)
        position = np.clip(position + MOVES[a], 0, GRID - 1)
        positions[t] = position
    return actions, positions


class Navigation(NamedTuple):
    frames: np.ndarray  # [N, T, 64] float32 views in [0, 1]
    actions: np.ndarray  # [N, T, 5] float32 one-hot
    positions: np.ndarray  # [N, T, 2] int grid positions (row, col)
    environments: np.ndarray  # [N, 32, 32]


@dataclasses.dataclass(frozen=True)
class NavigationSpec:
    """num_steps T per sequence (thesis: tau = 256 memorised + 32 predicted in
    training, + 256 at test); repeat_rate: the Poisson rate of an action's repeats;
    avoid_walls: the agent never walks into a wall (``random_walk``)."""

    num_steps: int = 288
    repeat_rate: float = 3.0
    avoid_walls: bool = False


def generate(spec: NavigationSpec, num_sequences: int, seed: int, images: tuple[str, ...] = TRAIN_IMAGES
             ) -> Navigation:
    """``num_sequences`` walks, each in its own environment cut from one of ``images``
    (in turn); deterministic for a seed."""
    if num_sequences < 1 or spec.num_steps < 1:
        raise ValueError(f"need num_sequences >= 1 and num_steps >= 1, got {num_sequences} and {spec.num_steps}")
    rng = np.random.default_rng(seed)
    frames, actions, positions, environments = [], [], [], []
    for n in range(num_sequences):
        environment = cut_environment(rng, source_image(images[n % len(images)]))
        a, p = random_walk(rng, spec.num_steps, spec.repeat_rate, spec.avoid_walls)
        frames.append(np.stack([view(environment, q).reshape(-1) for q in p]))
        actions.append(np.eye(len(ACTIONS), dtype=np.float32)[a])
        positions.append(p)
        environments.append(environment)
    return Navigation(np.stack(frames).astype(np.float32), np.stack(actions), np.stack(positions),
                      np.stack(environments))


def rows(data: Navigation) -> np.ndarray:
    """[N, T, 64 + 5]: each step's view and the action that led to it, the
    layout GTM-SM reads (``seqvi.models.gtmsm``)."""
    return np.concatenate([data.frames, data.actions], -1)
