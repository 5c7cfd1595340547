"""Checks of arguments: a count (an integer, not a bool, at least `minimum`), and a batch of
clips that must fit in this machine's memory."""

import os
from numbers import Integral


def check_count(name: str, value, minimum: int = 1) -> int:
    """value as an int, or a ValueError saying what `name` must be and what it got: a clip of 0
    frames, a stride of 0 (one frame repeated) or -1 (the clip reversed) is a mistake to fix,
    never replaced by something that runs."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def check_batch_fits(dataset, batch_size: int) -> None:
    """Raise ValueError when one batch of the data set's clips, (B, T, 3, S, S) in float32,
    would need more than this machine's memory. A frame size or clip length mistyped (100000
    for 100) is then refused at once, not after minutes of swapping. Only the input is counted,
    so nothing that could run is refused; data sets without `num_frames` and `size` (or with
    size None: frames as stored) are not checked."""
    frames, size = getattr(dataset, "num_frames", None), getattr(dataset, "size", None)
    memory = physical_memory()
    if not (frames and size and memory):
        return
    clips = min(batch_size, len(dataset))  # the last (or only) batch may be smaller
    need = clips * frames * 3 * size * size * 4
    if need > memory:
        batch = "one clip" if clips == 1 else f"a batch of {clips} clips"
        raise ValueError(
            f"{batch} of {frames} frames at {size}x{size} pixels needs {need / 2**30:,.0f} GiB, "
            f"more than this machine's {memory / 2**30:.0f} GiB of memory; give a smaller frame "
            "size, fewer frames or a smaller batch")


def physical_memory() -> int | None:
    """This machine's memory in bytes, or None where the system does not say (os.sysconf is
    POSIX only)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
