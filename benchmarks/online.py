"""Online recognition on held-out StickStreams: the shipped models against their rivals.

    PYTHONPATH=. python benchmarks/online.py [--streams 8] [--frames 480] [--seed 0]

Prints, and writes to benchmarks/results/online.json with the machine and commit:
0. how fast StickStreams renders at 32x32;
1. the rivals on the same test-split streams (per-frame accuracy, mAP, mcAP, accuracy in the
   first 3 frames of an action and after, cost per frame);
2. the per-frame cost of a CViT's sliding window as it widens, beside the RViT's (untrained
   CViTs: the cost does not depend on the weights; the shipped CViT holds 8 time embeddings);
3. at the boundary of the composite pairs: switch delay per rival, and the change point found
   from the RViT's hidden state, the ViT's features, the pixels, and the middle-frame guess.
All on one CPU thread.
"""

import argparse
import os
import time

import torch
from common import save

import rvit_mini as rm
from rvit_mini import online
from rvit_mini.pretrained import commit

RIVALS = ["majority", "vit", "rvit_s", "rvit", "rvit@reset", "rvit_scratch", "cvit@w4", "cvit@w8"]
SWITCH_RIVALS = ["vit", "rvit", "cvit@w8"]


def render_fps(num_frames: int, seed: int, num_streams: int = 4) -> float:
    """Frames per second rendering StickStreams at 32x32 (one process, numpy)."""
    streams = online.StickStreams("train", num_frames, seed=seed, num_streams=num_streams)
    start = time.perf_counter()
    for i in range(num_streams):
        streams[i]
    return num_streams * num_frames / (time.perf_counter() - start)


def window_costs(frames: torch.Tensor, windows=(8, 16, 32)) -> list[dict]:
    """frames (T, C, H, W) -> cost() of the shipped RViT and of CViT windows of each width."""
    rows = [{"name": "rvit", **online.cost(rm.load_pretrained("rvit"), frames)}]
    for w in windows:
        cvit = rm.create_model("cvit", num_frames=w).eval()
        rows.append({"name": f"cvit w{w}", **online.cost(online.Window(cvit, w), frames)})
    return rows


def _frames(delay) -> str:
    return "never" if delay is None else f"{delay:g}"


def switch_table(rows: dict) -> str:
    """{rival: switch_delays rows} -> markdown: per pair, settled within 3 frames / median."""
    names = list(rows)
    lines = ["| pair | " + " | ".join(f"{n}: settled <= 3 / median" for n in names) + " |",
             "|---" + "|--:" * len(names) + "|"]
    for i, pair in enumerate(r["pair"] for r in rows[names[0]]):
        cells = [f"{rows[n][i]['settled']:.0%} / {_frames(rows[n][i]['median_delay'])}" for n in names]
        lines.append(f"| {pair} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(num_streams: int, num_frames: int, seed: int) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)  # steadiest per-frame timings, above all on a shared machine
    fps = render_fps(num_frames, seed)
    print(f"StickStreams render {fps:,.0f} frames/s at 32x32")
    rows = online.evaluate_streams(RIVALS, num_streams, num_frames, seed)
    print(f"{num_streams} test streams of {num_frames} frames (seed {seed})\n")
    print(online.markdown(rows), "\n")
    print("accuracy by position in the action:")
    for row in rows:
        print(f"  {row['name']:<14}" + "  ".join(f"{k} {v:.0%}" for k, v in row["by_position"].items()))

    frames = online.StickStreams("test", 64, seed=seed, num_streams=1)[0][0]
    costs = window_costs(frames)
    print("\nper-frame cost as the CViT window widens:\n" + online.markdown(costs))

    clips = online.composite_clips(clips_per_pair=8, num_frames=16, seed=seed)
    switch = {name: online.switch_delays(online.rival(name), clips) for name in SWITCH_RIVALS}
    print("\nswitch delay at the composite boundary (8 clips of 16 frames per pair):")
    print(switch_table(switch))
    points = online.change_point_errors(clips, rm.load_pretrained("rvit"), rm.load_pretrained("vit"))
    print("\nchange point, mean |found - true| in frames:")
    for source, err in points.items():
        print(f"  {source:<18} {err:.2f}")

    save("online", {"commit": commit(), "num_streams": num_streams, "num_frames": num_frames,
                    "seed": seed, "split": "test", "render_fps": round(fps), "rivals": rows,
                    "window_costs": costs,
                    "switch_delays": switch, "change_point_error_frames": points,
                    "load_average": os.getloadavg()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--frames", type=int, default=480)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.streams, args.frames, args.seed)
