"""Drawing a stick figure with props: anti-aliased capsules rasterised with numpy.

World units: the figure is about 1 unit tall, feet on the ground at y = 0, facing +x in its own
frame; `facing` = -1 mirrors it. A pose is a vector of 11 numbers (POSE_KEYS); limb angles are
absolute, in radians from straight down, positive = forward. The torso angle is from straight up.
"""

from dataclasses import dataclass

import numpy as np

POSE_KEYS = ("x", "y", "torso", "thigh_b", "shin_b", "thigh_f", "shin_f",
             "upper_b", "fore_b", "upper_f", "fore_f")
LIMB = dict(torso=0.32, neck=0.05, head=0.085, thigh=0.25, shin=0.25, upper=0.17, fore=0.16)
SEAT_HEIGHT = 0.25


def pose(**values) -> np.ndarray:
    """A pose vector from named values (missing ones are 0)."""
    unknown = set(values) - set(POSE_KEYS)
    if unknown:
        raise ValueError(f"unknown pose keys {sorted(unknown)}; known: {POSE_KEYS}")
    return np.array([values.get(k, 0.0) for k in POSE_KEYS], dtype=np.float64)


def _down(angle):
    """Unit vector at `angle` from straight down, positive = forward (+x)."""
    return np.array([np.sin(angle), -np.cos(angle)])


def joints(p: np.ndarray) -> dict:
    """Joint positions (2,) in the figure's own frame for pose vector p."""
    x, y, torso, thb, shb, thf, shf, upb, fob, upf, fof = p
    hip = np.array([x, y])
    neck = hip + LIMB["torso"] * np.array([np.sin(torso), np.cos(torso)])
    head = neck + (LIMB["neck"] + LIMB["head"]) * np.array([np.sin(torso), np.cos(torso)])
    j = dict(hip=hip, neck=neck, head=head)
    for side, thigh, shin, upper, fore in (("b", thb, shb, upb, fob), ("f", thf, shf, upf, fof)):
        j["knee_" + side] = hip + LIMB["thigh"] * _down(thigh)
        j["foot_" + side] = j["knee_" + side] + LIMB["shin"] * _down(shin)
        j["elbow_" + side] = neck + LIMB["upper"] * _down(upper)
        j["hand_" + side] = j["elbow_" + side] + LIMB["fore"] * _down(fore)
    return j


BONES = [("hip", "neck"), ("hip", "knee_b"), ("knee_b", "foot_b"), ("hip", "knee_f"),
         ("knee_f", "foot_f"), ("neck", "elbow_b"), ("elbow_b", "hand_b"),
         ("neck", "elbow_f"), ("elbow_f", "hand_f")]


def body_segments(p: np.ndarray, thickness: float):
    """Capsules (S, 2), (S, 2), radii (S,) for the figure in pose p: bones and the head."""
    j = joints(p)
    a = np.array([j[s] for s, _ in BONES] + [j["head"]])
    b = np.array([j[e] for _, e in BONES] + [j["head"]])
    r = np.full(len(a), thickness)
    r[-1] = LIMB["head"]
    return a, b, r


def chair_segments(seat_x: float, thickness: float):
    """A chair whose seat is centred at seat_x, back rest behind (-x)."""
    h, w = SEAT_HEIGHT, 0.14
    pts = [((seat_x - w, h), (seat_x + w, h)),  # seat
           ((seat_x - w, h), (seat_x - w, h + 0.35)),  # back rest
           ((seat_x - w, h), (seat_x - w, 0.0)), ((seat_x + w, h), (seat_x + w, 0.0))]  # legs
    a, b = (np.array([s[i] for s in pts]) for i in (0, 1))
    return a, b, np.full(len(a), thickness)


def table_segments(center_x: float, height: float, thickness: float):
    """A small table (top and one leg) whose top is at `height`."""
    a = np.array([(center_x - 0.12, height), (center_x, height)])
    b = np.array([(center_x + 0.12, height), (center_x, 0.0)])
    return a, b, np.full(2, thickness)


def cup_segments(bottom: np.ndarray, thickness: float):
    """A cup standing on `bottom` (2,): one short, thick upright capsule."""
    r = max(thickness * 1.3, 0.035)
    a = (bottom + [0, r])[None]
    return a, a + [[0, 0.05]], np.array([r])


@dataclass
class Camera:
    """Maps world units to pixels: x_px = cx + facing * scale * x, y_px = ground - scale * y."""

    size: int
    scale: float  # pixels per world unit
    cx: float
    ground: float
    facing: int

    def __post_init__(self):
        c = np.arange(self.size) + 0.5
        self.grid_x, self.grid_y = c[None, :], c[:, None]  # (1, W), (H, 1)

    def to_px(self, pts: np.ndarray) -> np.ndarray:
        return np.stack([self.cx + self.facing * self.scale * pts[..., 0],
                         self.ground - self.scale * pts[..., 1]], axis=-1)

    def coverage(self, a, b, r):
        """Anti-aliased coverage of the union of capsules a->b (S, 2), radius r (S,), in world
        units -> (alpha (h, w) in [0, 1], (rows, cols) slices of the image it covers)."""
        a, b, r = self.to_px(a), self.to_px(b), np.maximum(r * self.scale, 0.6)
        lo = np.floor(np.minimum(a, b).min(0) - r.max() - 1).astype(int).clip(0, self.size)
        hi = np.ceil(np.maximum(a, b).max(0) + r.max() + 1).astype(int).clip(0, self.size)
        rows, cols = slice(lo[1], hi[1]), slice(lo[0], hi[0])
        ab = b - a  # (S, 2)
        ax = self.grid_x[:, cols][None] - a[:, 0, None, None]  # (S, 1, w)
        ay = self.grid_y[rows][None] - a[:, 1, None, None]  # (S, h, 1)
        denom = np.maximum((ab ** 2).sum(-1), 1e-9)[:, None, None]
        t = np.clip((ax * ab[:, 0, None, None] + ay * ab[:, 1, None, None]) / denom, 0, 1)
        dist = np.hypot(ax - t * ab[:, 0, None, None], ay - t * ab[:, 1, None, None])
        return np.clip(r[:, None, None] - dist + 0.5, 0, 1).max(axis=0), (rows, cols)


def paint(image: np.ndarray, coverage, color: np.ndarray) -> None:
    """Blend `color` (3,) over image (H, W, 3) with the alpha from Camera.coverage, in place."""
    alpha, region = coverage
    image[region] += alpha[..., None] * (color - image[region])
