"""Online recognition on held-out StickStreams: the shipped models against their rivals.

    PYTHONPATH=. python benchmarks/online.py [--streams 8] [--frames 480] [--seed 0] [--pairs 20]

Prints, and writes to rvit_mini/results/online.json with the machine, commit and load:
0. how fast StickStreams renders at 32x32;
1. the rivals on the same test-split streams of 8-frame actions (the goal's setup: 60 actions in
   480 frames) and of 6- to 20-frame actions: per-frame accuracy, mAP, mcAP, accuracy in the
   first 3 frames of an action and after, the share of composite clips settled on the second
   action within 3 frames (all pairs, worst pair), cost per frame; the same table as
   `python -m rvit_mini evaluate-stream`; TRecViT's rows (trecvit, trecvit_online and their
   oracle resets) are printed in the same table and saved apart, as "trecvit_rivals";
2. the per-frame cost of the RViT and of a CViT's sliding window as it widens, measured after 8
   and after 400 frames of a stream (constant in the stream's length);
3. at the boundary of the composite pairs: switch delay per pair and rival, and the change
   point found from the RViTs' hidden states, the ViTs' features, the pixels, and the
   middle-frame guess;
4. the goals, as measured.
All on one CPU thread.
"""

import argparse
import os
import time

import torch
from common import save

from rvit_mini import online
from rvit_mini.cli.evaluate import DEFAULT_RIVALS, STREAM_RIVALS
from rvit_mini.data import StickStreams
from rvit_mini.training.cards import commit
from rvit_mini.training.loading import load_pretrained

SWITCH_RIVALS = ["majority", "vit", "vit_online", "rvit", "cvit_online@w8", "cvit_online@w16",
                 "cvit_online@w32", "rvit_online", "trecvit", "trecvit_online"]
COST_RIVALS = ["rvit", "rvit_online", "cvit_online@w8", "cvit_online@w16", "cvit_online@w32",
               "trecvit_online"]


def render_fps(num_frames: int, seed: int, num_streams: int = 4) -> float:
    """Frames per second rendering StickStreams at 32x32 (one process, numpy)."""
    streams = StickStreams("train", num_frames, seed=seed, num_streams=num_streams)
    start = time.perf_counter()
    for i in range(num_streams):
        streams[i]
    return num_streams * num_frames / (time.perf_counter() - start)


def window_costs(frames: torch.Tensor) -> list[dict]:
    """frames (T > 401, C, H, W) -> cost() of each of COST_RIVALS after 8 and after 400 frames."""
    rows = []
    for name in COST_RIVALS:
        for after in (8, 400):
            rows.append({"name": f"{name}, frame {after}",
                         **online.cost(online.rival(name), frames, after=after)})
    return rows


def main(num_streams: int, num_frames: int, seed: int, pairs: int) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)  # steadiest per-frame timings, above all on a shared machine
    fps = render_fps(num_frames, seed)
    print(f"StickStreams render {fps:,.0f} frames/s at 32x32")
    tables, trecvit_tables = {}, {}
    for kind, action_frames in (("8-frame actions", (8, 8)), ("6- to 20-frame actions", (6, 20))):
        rows = online.evaluate_streams(
            DEFAULT_RIVALS, num_streams, num_frames, seed,
            action_frames=action_frames, clips_per_pair=pairs)
        tables[kind], trecvit_tables[kind] = rows[:len(STREAM_RIVALS)], rows[len(STREAM_RIVALS):]
        print(f"\n{num_streams} test streams of {num_frames} frames, {kind} (seed {seed}); "
              f"{pairs} clips of each composite pair\n")
        print(online.markdown(rows), "\n")
        print("accuracy by position in the action:")
        for row in rows:
            print(f"  {row['name']:<18}" + "  ".join(f"{k} {v:.0%}" for k, v in
                                                     row["by_position"].items()))

    frames = StickStreams("test", 420, seed=seed, num_streams=1)[0][0]
    costs = window_costs(frames)
    print("\nper-frame cost, after 8 and after 400 frames of a stream:\n" + online.markdown(costs))

    clips = online.composite_clips(clips_per_pair=pairs, num_frames=16, seed=seed)
    majority = online.majority_class(num_frames, (8, 8), seed)
    switch = {name: online.switch_delays(online.rival(name, majority), clips)
              for name in SWITCH_RIVALS}
    switch["shown"] = online.shown_switch_delays(clips, seed)
    print(f"\nswitch delay at the composite boundary ({pairs} clips of 16 frames per pair):")
    print(online.switch_table(switch))
    points = online.change_point_errors(clips, {name: load_pretrained(name) for name in
                                                ("rvit", "rvit_online", "vit", "vit_online")})
    print("\nchange point, mean |found - true| in frames:")
    for source, err in points.items():
        print(f"  {source:<18} {err:.2f}")

    goal = {row["name"]: row for row in tables["8-frame actions"]}
    rvit = goal["rvit_online"]
    cvit_best = max((goal[f"cvit_online@w{w}"] for w in (8, 16, 32)), key=lambda r: r["accuracy"])
    worst = min(switch["rvit_online"], key=lambda r: r["settled"])
    trecvit = {row["name"]: row for row in trecvit_tables["8-frame actions"]}["trecvit_online"]
    print(f"\nTRecViT: trecvit_online per-frame accuracy {trecvit['accuracy']:.1%} against "
          f"rvit_online's {rvit['accuracy']:.1%}, settled within 3 frames in "
          f"{min(r['settled'] for r in switch['trecvit_online']):.0%} of clips in its worst pair, "
          f"{trecvit['mflops']:.1f} MFLOPs and {trecvit['state_bytes'] / 1024:.1f} KiB of state "
          f"per frame against {rvit['mflops']:.1f} and {rvit['state_bytes'] / 1024:.1f}")
    print(f"\ngoals: rvit_online per-frame accuracy {rvit['accuracy']:.1%} (goal 85 %; the frames "
          f"show their own action in {goal['shown']['accuracy']:.1%}); settled within 3 frames in "
          f"{worst['settled']:.0%} of clips in its worst pair, {worst['pair']} (goal 90 % in every "
          f"pair); best CViT window {cvit_best['name']} {cvit_best['accuracy']:.1%} at "
          f"{cvit_best['mflops'] / rvit['mflops']:.1f}x the MFLOPs per frame")

    save("online", {"commit": commit(), "num_streams": num_streams, "num_frames": num_frames,
                    "seed": seed, "split": "test", "clips_per_pair": pairs,
                    "render_fps": round(fps), "rivals": tables, "trecvit_rivals": trecvit_tables,
                    "costs": costs,
                    "switch_delays": switch, "change_point_error_frames": points,
                    "load_average": os.getloadavg()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--frames", type=int, default=480)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs", type=int, default=20)
    args = parser.parse_args()
    main(args.streams, args.frames, args.seed, args.pairs)
