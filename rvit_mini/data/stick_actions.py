"""StickActions: a seeded, procedurally rendered action data set, and composite clips.

Every clip is drawn from its seed alone (numpy's PCG64), so the same seed gives the same uint8
frames on any machine with the same numpy. Nuisances vary per clip: background, colours,
position, scale, facing, timing (start and speed), action parameters, pixel noise.
"""

from dataclasses import replace

import numpy as np
import torch
from torch.utils.data import Dataset

from ..common.checks import check_count
from .actions import ACTION, CLASSES, Context, Drink, Jump, PickUpCup, SitDown, Walk, Wave
from .render import (
    Camera,
    body_segments,
    chair_segments,
    cup_segments,
    joints,
    paint,
    table_segments,
)
from .video import to_tensor

SPLITS = ("train", "val", "test")
DEFAULT_CLIPS = {"train": 27000, "val": 450, "test": 450}


def _motion_params(motion: type, rng: np.random.Generator) -> dict:
    """Per-clip parameters of a motion (and whether it starts seated or holding the cup)."""
    if motion is Wave:
        return dict(cycles=int(rng.integers(2, 4)), seated=bool(rng.integers(2)))
    if motion is Drink:
        a = rng.uniform(0.2, 0.35)
        return dict(sip=(a, a + rng.uniform(0.25, 0.45)), seated=bool(rng.integers(2)))
    if motion is Walk:
        return dict(steps=rng.choice([1.5, 2.0, 2.5]), distance=rng.uniform(0.4, 0.8),
                    holding=bool(rng.integers(2)))
    if motion is SitDown:
        return dict(holding=bool(rng.integers(2)))
    if motion is Jump:
        return dict(height=rng.uniform(0.15, 0.3))
    return {}


def _start_context(motion: type, params: dict) -> Context:
    ctx = Context(seated=params.get("seated", False), holding=params.get("holding", False))
    return replace(ctx, **motion.NEEDS)


class Segment:
    """One action in a clip: its motion, direction and frame window [start, start + length]."""

    def __init__(self, name: str, ctx: Context, params: dict, start: float, length: float):
        action = ACTION[name]
        self.name, self.reverse = name, action.reverse
        fwd_ctx = replace(ctx, **action.motion.NEEDS) if action.reverse else ctx
        self.motion = action.motion(fwd_ctx, params)
        if action.reverse and self.motion.end() != ctx:
            raise ValueError(f"{name} cannot start from {ctx}")
        if not action.reverse and any(getattr(ctx, k) != v for k, v in action.motion.NEEDS.items()):
            raise ValueError(f"{name} needs {action.motion.NEEDS} but starts from {ctx}")
        self.start, self.length = start, max(length, 1e-6)

    def progress(self, frame: int) -> float:
        u = float(np.clip((frame - self.start) / self.length, 0, 1))
        return 1 - u if self.reverse else u

    def end(self) -> Context:
        return self.motion.ctx if self.reverse else self.motion.end()


def _scene(rng: np.random.Generator, size: int, facing: int, x_range: tuple,
           same_draws: bool = False) -> dict:
    """Camera, colours and noise for one clip. same_draws: draw the same count of numbers
    whatever the action, so that one seed gives one background to every action."""
    lo, hi = x_range[0] - 0.35, x_range[1] + 0.6  # world extent: chair behind, table ahead
    frac = min(rng.uniform(0.55, 0.7), 1 / (hi - lo))  # figure height / image height
    scale = frac * size
    span = (hi - lo) * scale
    drawn = rng.uniform(0, max(size - span, 0)) if span < size or same_draws else None
    left = drawn if span < size else (size - span) / 2
    cx = left - lo * scale if facing > 0 else left + hi * scale
    dark = bool(rng.integers(2))  # dark figure on a light scene, or the other way round
    bg_top = rng.uniform(0.55, 1, 3) if dark else rng.uniform(0, 0.45, 3)
    bg_bottom = np.clip(bg_top + rng.uniform(-0.15, 0.15, 3), 0, 1)
    body = rng.uniform(0, 0.25, 3) if dark else rng.uniform(0.75, 1, 3)
    return dict(camera=Camera(size, scale, cx, size * rng.uniform(0.88, 0.96), facing),
                bg_top=bg_top, bg_bottom=bg_bottom, floor=bg_bottom * rng.uniform(0.5, 0.8),
                body=body, chair=rng.uniform(0, 1, 3), table=rng.uniform(0, 1, 3),
                cup=rng.uniform(0, 1, 3), noise=rng.uniform(0, 0.03),
                thickness=rng.uniform(0.07, 0.09))


def _background(scene: dict, size: int) -> np.ndarray:
    ramp = np.linspace(0, 1, size)[:, None, None]
    image = scene["bg_top"] + ramp * (scene["bg_bottom"] - scene["bg_top"])
    image = np.broadcast_to(image, (size, size, 3)).copy()
    image[int(round(scene["camera"].ground)):] = scene["floor"]
    return image


def render_segments(segments: list, num_frames: int, size: int, rng, scene_rng=None) -> np.ndarray:
    """Frames (T, H, W, 3) uint8 of a figure performing `segments` one after another; the scene
    (camera, colours, pixel noise) is drawn from `scene_rng`, by default from `rng`."""
    check_count("size", size)
    per_frame = [next(s for s in reversed(segments) if t >= s.start or s is segments[0])
                 for t in range(num_frames)]
    poses = [s.motion.pose(s.progress(t)) for t, s in zip(range(num_frames), per_frame)]
    in_hand = [s.motion.cup_in_hand(s.progress(t)) for t, s in zip(range(num_frames), per_frame)]
    facing = next((ACTION[s.name].facing for s in segments if ACTION[s.name].facing), 0)
    facing = facing or int(rng.choice([-1, 1]))
    xs = [p[0] for p in poses]
    own = scene_rng is not None  # a scene of its own: the same draws for every action
    scene_rng = scene_rng if own else rng
    scene = _scene(scene_rng, size, facing, (min(xs), max(xs)), same_draws=own)
    cam, th = scene["camera"], scene["thickness"]
    background = _background(scene, size)
    seated = [c for s in segments for c in (s.motion.ctx, s.motion.end()) if c.seated]
    chair = cam.coverage(*chair_segments(seated[0].x - 0.12, th)) if seated else None
    pickups = [s.motion for s in segments if isinstance(s.motion, PickUpCup)]
    table_top = pickups[0].table_top() if pickups else None
    table = cam.coverage(*table_segments(table_top[0], table_top[1], th)) if pickups else None
    has_cup = pickups or any(in_hand)
    noise = scene_rng.normal(0, scene["noise"], (num_frames, size, size, 3))
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    for t, p in enumerate(poses):
        image = background.copy()
        for cover, color in ((table, scene["table"]), (chair, scene["chair"])):
            if cover is not None:
                paint(image, cover, color)
        paint(image, cam.coverage(*body_segments(p, th)), scene["body"])
        if has_cup:
            cup_at = joints(p)["hand_f"] - [0, 0.03] if in_hand[t] else table_top
            paint(image, cam.coverage(*cup_segments(np.asarray(cup_at), th)), scene["cup"])
        frames[t] = np.clip((image + noise[t]) * 255 + 0.5, 0, 255).astype(np.uint8)
    return frames


def render_clip(action: str, num_frames: int = 16, size: int = 32, seed: int = 0,
                scene_seed=None) -> np.ndarray:
    """One clip of `action`: frames (T, H, W, 3) uint8. A reversed action (stand_up) is its twin
    (sit_down) with the same seed, played backwards. scene_seed: draw the scene (background,
    colours, the figure's place and size, pixel noise) from a seed of its own, so that clips of
    different actions can share one scene; by default it comes from `seed`, after the motion."""
    if action not in ACTION:
        raise ValueError(f"unknown action {action!r}; choose one of {CLASSES}")
    check_count("num_frames", num_frames)
    check_count("size", size)
    a = ACTION[action]
    rng = np.random.default_rng(seed)
    params = _motion_params(a.motion, rng)
    length = rng.uniform(0.55, 1.0) * (num_frames - 1)
    start = rng.uniform(0, num_frames - 1 - length)
    forward = next(b.name for b in ACTION.values() if b.motion is a.motion and not b.reverse
                   and b.facing == a.facing)
    seg = Segment(forward, _start_context(a.motion, params), params, start, length)
    scene_rng = None if scene_seed is None else np.random.default_rng(scene_seed)
    frames = render_segments([seg], num_frames, size, rng, scene_rng)
    return frames[::-1].copy() if a.reverse else frames


def _subset(classes) -> list:
    """StickActions' classes=: at least one action, each known and listed once."""
    classes = list(classes)
    if not classes:
        raise ValueError(f"classes must name at least one action, got []; choose from {CLASSES}")
    unknown = set(classes) - set(CLASSES)
    if unknown:
        raise ValueError(f"unknown actions {sorted(unknown)}; choose from {CLASSES}")
    twice = next((name for i, name in enumerate(classes) if name in classes[:i]), None)
    if twice:
        raise ValueError(f"classes lists {twice!r} twice; list each action once")
    return classes


class StickActions(Dataset):
    """StickActions(split, num_frames, size, seed)[i] -> (video (T, 3, H, W) float, label).

    Clip i has class i % K of `classes` (all 9 actions by default, or a subset for a quick
    lesson) and is rendered from the seed (seed, split, i), so splits never share a clip.
    Rendered clips are kept (uint8, T x 3 x size^2 bytes each) after first use, for training
    several epochs; keep=False renders a clip on every access and keeps none (for one pass, as
    make-data's export of 27,000 clips, which would keep 5.3 GB at 64x64).
    """

    def __init__(self, split: str = "train", num_frames: int = 16, size: int = 32, seed: int = 0,
                 num_clips: int | None = None, classes: list | None = None, keep: bool = True):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        self.split, self.seed = split, check_count("seed", seed, 0)
        self.num_frames, self.size = check_count("num_frames", num_frames), check_count("size", size)
        self.classes = list(CLASSES if classes is None else _subset(classes))
        self.num_clips = DEFAULT_CLIPS[split] if num_clips is None else \
            check_count("num_clips", num_clips, 0)
        self._kept = {} if keep else None

    def __len__(self) -> int:
        return self.num_clips

    def label(self, index: int) -> int:
        return index % len(self.classes)

    def clip_seed(self, index: int) -> np.random.SeedSequence:
        return np.random.SeedSequence([self.seed, SPLITS.index(self.split), index])

    def frames(self, index: int) -> np.ndarray:
        """Clip `index` as uint8 frames (T, H, W, 3)."""
        if not 0 <= index < len(self):
            raise IndexError(f"clip {index} out of range for {len(self)} clips")
        if self._kept is not None and index in self._kept:
            return self._kept[index]
        frames = render_clip(self.classes[self.label(index)], self.num_frames, self.size,
                             self.clip_seed(index))
        if self._kept is not None:
            self._kept[index] = frames
        return frames

    def __getitem__(self, index: int):
        return to_tensor(self.frames(index)), self.label(index)


COMPOSITES = [("sit_down", "drink"), ("pick_up_cup", "drink"), ("walk_right", "sit_down"),
              ("stand_up", "walk_left"), ("drink", "put_down_cup"), ("sit_down", "wave")]


def _chain(names: list) -> list:
    """Start contexts that let `names` run one after another."""
    for seated in (False, True):
        for holding in (False, True):
            ctx, ctxs = Context(seated=seated, holding=holding), []
            try:
                for name in names:
                    ctxs.append(ctx)
                    ctx = Segment(name, ctx, {}, 0, 1).end()
            except ValueError:
                continue
            return ctxs
    raise ValueError(f"the actions {names} cannot follow one another; try one of {COMPOSITES}")


def action_chain(length: int, seed: int = 0) -> list:
    """`length` random actions that can follow one another (each differs from the last), for
    long composite clips: composite_clip(action_chain(60), num_frames=480). No walking, so the
    figure stays by its one chair and table and the camera need not widen."""
    check_count("length", length)
    rng = np.random.default_rng(seed)
    stationary = [c for c in CLASSES if not c.startswith("walk")]
    chain = [str(rng.choice(stationary))]
    while len(chain) < length:
        for name in rng.permutation(stationary):
            if name != chain[-1] and _follows(chain, str(name)):
                chain.append(str(name))
                break
    return chain


def _follows(chain: list, name: str) -> bool:
    try:
        _chain(chain + [name])
    except ValueError:
        return False
    return True


def plan_composite(actions: list, num_frames: int, rng, lengths: list | None = None):
    """composite_clip's plan, drawn from rng before the frames are: each action's Segment (its
    start context, motion parameters, and the frame where its figure starts to move, `start`,
    and for how many frames) and the bounds [0, first frame of each later action, ..., T]."""
    if not actions:
        raise ValueError(f"actions must name at least one action, got {list(actions)!r}")
    for name in actions:
        if name not in ACTION:
            raise ValueError(f"unknown action {name!r}; choose one of {CLASSES}")
    if check_count("num_frames", num_frames) < len(actions):
        raise ValueError(f"num_frames must be at least {len(actions)} (a frame for each of the "
                         f"{len(actions)} actions), got {num_frames!r}")
    ctxs = _chain(actions)
    if lengths is not None:
        if len(lengths) != len(actions) or sum(lengths) != num_frames or min(lengths) < 1:
            raise ValueError(f"lengths must give each of the {len(actions)} actions at least one "
                             f"frame and sum to num_frames={num_frames}, got {list(lengths)}")
        bounds = [0] + np.cumsum(lengths).tolist()
    else:
        cuts = np.sort(rng.uniform(0.35, 0.65, len(actions) - 1)) if len(actions) == 2 else \
            np.linspace(0, 1, len(actions) + 1)[1:-1]
        bounds = [0] + [int(round(c * num_frames)) for c in cuts] + [num_frames]
    segments, x = [], 0.0
    for name, ctx, lo, hi in zip(actions, ctxs, bounds, bounds[1:]):
        params = _motion_params(ACTION[name].motion, rng)
        params = {k: v for k, v in params.items() if k not in ("seated", "holding")}
        room = hi - lo - 1
        length = rng.uniform(0.7, 0.9) * room
        start = lo + rng.uniform(0, room - length)
        seg = Segment(name, replace(ctx, x=x), params, start, length)
        segments.append(seg)
        x = seg.end().x
    return segments, bounds


def composite_clip(actions: list, num_frames: int = 32, size: int = 32, seed: int = 0,
                   lengths: list | None = None):
    """Two (or more) actions back to back -> video (T, 3, H, W), per-frame labels (T,), the
    boundary frames (the first frame of each later action; an int for two actions).

    `lengths` gives each action's frames (summing to num_frames); by default two actions split
    the clip at a random point in its middle third, more actions share it equally.
    """
    rng = np.random.default_rng(seed)
    segments, bounds = plan_composite(actions, num_frames, rng, lengths)
    frames = render_segments(segments, num_frames, size, rng)
    labels = torch.zeros(num_frames, dtype=torch.long)
    for name, lo, hi in zip(actions, bounds, bounds[1:]):
        labels[lo:hi] = CLASSES.index(name)
    boundary = bounds[1:-1]
    return to_tensor(frames), labels, boundary[0] if len(boundary) == 1 else boundary
