"""StickActions rendering speed: frames per second on one core, per frame size.

    python benchmarks/render.py
"""

import time

from common import save

from rvit_mini.data import CLASSES, render_clip


def frames_per_second(size: int, clips_per_class: int = 6, num_frames: int = 16) -> float:
    start, n = time.perf_counter(), 0
    for seed in range(clips_per_class):
        for name in CLASSES:
            n += len(render_clip(name, num_frames, size, seed))
    return n / (time.perf_counter() - start)


if __name__ == "__main__":
    render_clip("wave", 4, 32, 0)  # warm up
    rows = {size: round(frames_per_second(size)) for size in (32, 64, 128)}
    for size, fps in rows.items():
        print(f"{size:>4}x{size:<4} {fps:>7,} frames/s")
    save("render", {"frames_per_second": rows, "note": "numpy, one core, 16-frame clips"})
