"""The StickActions classes: each action is a pose as a function of its progress u in [0, 1].

An action starts from a context (seated? holding the cup? which x?) and leaves one behind, so
two actions chain into a composite clip. A time-reversed action is its twin played backwards.
"""

from dataclasses import dataclass, replace

import numpy as np

from .render import joints, pose

# Arms (upper_b, fore_b, upper_f, fore_f): at rest, holding the cup, and drinking from it.
REST_ARMS = dict(upper_b=-0.12, fore_b=-0.08, upper_f=0.12, fore_f=0.1)
HOLD_ARMS = dict(upper_b=-0.12, fore_b=-0.08, upper_f=0.35, fore_f=1.35)
DRINK_ARMS = dict(upper_b=-0.12, fore_b=-0.08, upper_f=1.05, fore_f=2.75)
STAND_LEGS = dict(y=0.5, thigh_b=-0.08, shin_b=-0.08, thigh_f=0.08, shin_f=0.08)
SEAT_LEGS = dict(x=-0.12, y=0.27, torso=-0.08, thigh_b=1.45, shin_b=0.05, thigh_f=1.6, shin_f=0.1)
# Bent over a low table, front hand down at the cup.
BEND = dict(y=0.44, torso=1.15, thigh_b=0.3, shin_b=-0.15, thigh_f=0.4, shin_f=-0.1,
            upper_b=0.2, fore_b=0.3, upper_f=0.25, fore_f=0.15)
CROUCH = dict(y=0.41, torso=0.35, thigh_b=0.75, shin_b=-0.4, thigh_f=0.8, shin_f=-0.35,
              upper_b=-0.6, fore_b=-0.3, upper_f=-0.5, fore_f=-0.2)


@dataclass(frozen=True)
class Context:
    """What is true between actions, in the figure's own frame."""

    x: float = 0.0  # where the action starts (hip x when standing)
    seated: bool = False
    holding: bool = False


def base(ctx: Context, arms: dict | None = None, **changes) -> np.ndarray:
    """Standing or seated pose at ctx.x, arms at rest or holding, with `changes` applied."""
    legs = SEAT_LEGS if ctx.seated else STAND_LEGS
    arms = arms if arms is not None else (HOLD_ARMS if ctx.holding else REST_ARMS)
    values = {**legs, **arms, **changes}
    values["x"] = ctx.x + values.get("x", 0.0)
    return pose(**values)


def smoothstep(u):
    return u * u * (3 - 2 * u)


def keyframes(u: float, keys: list) -> np.ndarray:
    """Interpolate [(u_0, pose_0), ...] at u with an ease-in-out between neighbours."""
    for (u0, p0), (u1, p1) in zip(keys, keys[1:]):
        if u <= u1:
            return p0 + smoothstep(np.clip((u - u0) / (u1 - u0), 0, 1)) * (p1 - p0)
    return keys[-1][1]


@dataclass(frozen=True)
class Motion:
    """One action's pose track for a given start context and nuisance parameters."""

    NEEDS = {}  # conditions on the start context, e.g. {"seated": False}

    ctx: Context
    params: dict

    def pose(self, u: float) -> np.ndarray: ...

    def cup_in_hand(self, u: float) -> bool:
        return self.ctx.holding

    def end(self) -> Context:
        return self.ctx


class SitDown(Motion):
    NEEDS = {"seated": False}

    def pose(self, u):
        seated = replace(self.ctx, seated=True)
        half = base(self.ctx, x=-0.06, y=0.37, torso=0.5, thigh_b=0.8, shin_b=-0.15,
                    thigh_f=0.9, shin_f=-0.1)
        return keyframes(u, [(0, base(self.ctx)), (0.5, half), (1, base(seated))])

    def end(self):
        return replace(self.ctx, seated=True)


class PickUpCup(Motion):
    NEEDS = {"seated": False, "holding": False}

    def pose(self, u):
        held = replace(self.ctx, holding=True)
        return keyframes(u, [(0, base(self.ctx)), (0.5, base(self.ctx, arms={}, **BEND)),
                             (1, base(held))])

    def cup_in_hand(self, u):
        return u >= 0.5

    def end(self):
        return replace(self.ctx, holding=True)

    def table_top(self) -> np.ndarray:
        """Where the cup stands: under the hand at the bottom of the bend."""
        return joints(base(self.ctx, arms={}, **BEND))["hand_f"] - [0, 0.02]


class Drink(Motion):
    NEEDS = {"holding": True}

    def pose(self, u):
        hold, drink = base(self.ctx), base(self.ctx, arms=DRINK_ARMS, torso=-0.1)
        a, b = self.params.get("sip", (0.3, 0.7))
        return keyframes(u, [(0, hold), (a, drink), (b, drink), (1, hold)])


class Wave(Motion):
    NEEDS = {"holding": False}

    def pose(self, u):
        k = self.params.get("cycles", 2)
        envelope = smoothstep(np.clip(min(u, 1 - u) / 0.2, 0, 1))
        swing = 0.45 * np.sin(2 * np.pi * k * u)
        up = base(self.ctx, arms=dict(REST_ARMS, upper_f=2.5, fore_f=2.9 + swing))
        return base(self.ctx) + envelope * (up - base(self.ctx))


class Jump(Motion):
    NEEDS = {"seated": False, "holding": False}

    def pose(self, u):
        stand, crouch = base(self.ctx), base(self.ctx, arms={}, **CROUCH)
        h = self.params.get("height", 0.25)
        air = base(self.ctx, arms=dict(upper_b=2.4, fore_b=2.6, upper_f=2.6, fore_f=2.8),
                   y=0.5 + h, thigh_b=-0.15, shin_b=-0.1, thigh_f=0.1, shin_f=-0.05)
        return keyframes(u, [(0, stand), (0.25, crouch), (0.45, air), (0.65, stand),
                             (0.8, crouch), (1, stand)])


class Walk(Motion):
    """Walking forward in the figure's own frame; facing decides left or right on screen."""

    NEEDS = {"seated": False}

    def pose(self, u):
        k, dist = self.params.get("steps", 2), self.params.get("distance", 0.6)
        s = np.sin(2 * np.pi * k * u)
        return base(self.ctx, x=dist * u, thigh_b=-0.4 * s, shin_b=-0.4 * s - 0.2 * abs(s),
                    thigh_f=0.4 * s, shin_f=0.4 * s - 0.2 * abs(s),
                    **({} if self.ctx.holding else dict(upper_b=0.35 * s, upper_f=-0.35 * s)))

    def end(self):
        return replace(self.ctx, x=self.ctx.x + self.params.get("distance", 0.6))


@dataclass(frozen=True)
class Action:
    """A class of StickActions: a motion, played forwards or backwards, facing a given way."""

    name: str
    motion: type
    reverse: bool = False
    facing: int = 0  # 0: either way; +1 / -1: screen right / left


ACTIONS = [
    Action("sit_down", SitDown),
    Action("stand_up", SitDown, reverse=True),
    Action("pick_up_cup", PickUpCup),
    Action("put_down_cup", PickUpCup, reverse=True),
    Action("drink", Drink),
    Action("wave", Wave),
    Action("jump", Jump),
    Action("walk_left", Walk, facing=-1),
    Action("walk_right", Walk, facing=+1),
]
CLASSES = [a.name for a in ACTIONS]
ACTION = {a.name: a for a in ACTIONS}
# Pairs that differ only in the direction of time: no single frame separates them.
REVERSED_PAIRS = [("sit_down", "stand_up"), ("pick_up_cup", "put_down_cup")]
