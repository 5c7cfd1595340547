"""Counts and sizes the data package takes, refused when they make no sense: a clip of 0 frames,
a frame of -3 pixels, a stride of 0 (one frame repeated) or -1 (the clip reversed) is a mistake
to fix, never replaced by something that runs."""

from numbers import Integral


def check_count(name: str, value, minimum: int = 1) -> int:
    """value as an int, or a ValueError saying what `name` must be and what it got."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)
