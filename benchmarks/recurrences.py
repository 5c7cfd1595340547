"""Two recurrences against no recurrence: TRecViT (a parallel scan over time), RViT (T x L
sequential steps, or the wavefront's T + L - 1) and CViT (the whole clip at once), against clip
length: frames per second on this machine at mini scale, training and inference, as ratios
against CViT measured in the same run; and the estimated peak memory, at mini and paper scale.

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/recurrences.py      # T = 8, 32, 128
    PYTHONPATH=. python benchmarks/recurrences.py --plot-only rvit_mini/results/recurrences.json

Every model has the same depth at a scale (mini: 3 layers of width 64, as the shipped rvit and
trecvit; paper: 12 of width 768, TRecViT-B, RViT-XL and ViT-B/16's CViT), so that what differs
is how time is mixed. Speed: batch 8 (as benchmarks/speed.py), fp32, the four variants timed
round-robin (rm.execution.timing.frames_per_second), so a slow spell of a shared machine slows
them all alike. Memory: rm.memory.estimate_peak, without computing; mini scale fp32 with batch
8, paper scale bf16 with batch 2 in training and 8 in inference (as benchmarks/memory.py);
CViT is built with num_frames = T. Writes rvit_mini/results/recurrences.json and .png.
The committed run took 10 minutes on one thread of a 2-core machine that other jobs loaded
(load average 11 to 12): 6 for the speed, 4 for the estimates.
"""

import argparse
import json
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from common import RESULTS, machine, save  # noqa: E402

import rvit_mini as rm  # noqa: E402
from rvit_mini.execution.memory import GiB, estimate_peak  # noqa: E402
from rvit_mini.execution.timing import clip_run, frames_per_second  # noqa: E402
from rvit_mini.training.cards import commit, load_average  # noqa: E402

DEPTH = {"mini": 3, "paper": 12}
# label -> (architecture's variant, rm.accelerate options); CViT is the reference
VARIANTS = {
    "TRecViT, scan": ("trecvit", {}),
    "RViT, sequential": ("rvit", {}),
    "RViT, wavefront": ("rvit", {"execution": "wavefront"}),
    "CViT (joint)": ("cvit", {}),
}
REFERENCE = "CViT (joint)"
# memory: label -> (variant label above, estimate_peak options); streaming in inference only
MEMORY = {**{label: (label, {}) for label in VARIANTS},
          "TRecViT, streaming": ("TRecViT, scan", {"streaming": True}),
          "RViT, streaming": ("RViT, sequential", {"streaming": True})}
SCALES = {"mini": {"dtype": torch.float32, "train_batch": 8, "inference_batch": 8},
          "paper": {"dtype": torch.bfloat16, "train_batch": 2, "inference_batch": 8}}


def build(label: str, scale: str, frames: int, device="cpu"):
    """The variant `label` at `scale`, DEPTH layers; CViT with num_frames = frames."""
    name, options = VARIANTS[label]
    clip = {"num_frames": frames} if name == "cvit" else {}
    with torch.device(device):
        model = rm.create_model(name, scale=scale, depth=DEPTH[scale], **clip)
    return rm.accelerate(model, **options)


def speed(lengths, batch: int, repeats: int) -> dict:
    """{mode: {label: [frames/s per T]}}: the variants round-robin at each length and mode."""
    torch.manual_seed(0)
    models = {label: build(label, "mini", max(lengths)) for label in VARIANTS}
    fps = {"train": {}, "inference": {}}
    for mode in fps:
        for t in lengths:
            video = torch.rand(batch, t, 3, 32, 32)
            runs = {label: (clip_run(model, video, mode == "train"), batch * t)
                    for label, model in models.items()}
            for label, f in frames_per_second(runs, repeats).items():
                fps[mode].setdefault(label, []).append(round(f, 1))
                print(f"{mode:<9} T = {t:<4} {label:<18} {f:>9.1f} frames/s", flush=True)
    return fps


def ratios(fps: dict) -> dict:
    """{mode: {label: [frames/s over CViT's, per T]}}."""
    return {mode: {label: [round(f / ref, 3) for f, ref in zip(row, rows[REFERENCE])]
                   for label, row in rows.items() if label != REFERENCE}
            for mode, rows in fps.items()}


def memory(scale: str, lengths) -> dict:
    """{"training"|"inference": {label: [estimated peak GiB per T]}} at `scale`."""
    settings = SCALES[scale]
    out = {"training": {}, "inference": {}}
    for part, train in (("training", True), ("inference", False)):
        batch = settings["train_batch" if train else "inference_batch"]
        for label, (variant, options) in MEMORY.items():
            if train and options.get("streaming"):
                continue
            for t in lengths:
                model = build(variant, scale, t, "meta")
                shape = (batch, t, 3, *[model.cfg.img_size] * 2)
                gib = estimate_peak(model, shape, train, settings["dtype"], **options) / GiB
                out[part].setdefault(label, []).append(round(gib, 4 if scale == "mini" else 3))
                print(f"{scale} {part:<9} T = {t:<4} {label:<20} {gib:8.3f} GiB", flush=True)
    return out


def scan_state_gib(scale: str, t: int) -> float:
    """What TRecViT's doubling scan holds for backward in training, by hand: 2 log2(T) tensors
    of (B N, T, D) fp32 per layer (tests/test_trecvit.py checks the count)."""
    cfg = rm.model_config("trecvit", scale=scale)
    tokens = (cfg.img_size // cfg.patch_size) ** 2 + 1
    batch = SCALES[scale]["train_batch"]
    return 2 * math.ceil(math.log2(t)) * batch * tokens * t * cfg.dim * 4 * DEPTH[scale] / GiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--plot-only", metavar="JSON", help="redraw the figure of a results file")
    args = parser.parse_args()
    if args.plot_only:
        return plot(json.loads(Path(args.plot_only).read_text()),
                    Path(args.plot_only).with_suffix(".png"))
    started, load_before = time.perf_counter(), load_average()
    fps = speed(args.lengths, args.batch, args.repeats)
    timed = time.perf_counter() - started
    mem = {scale: memory(scale, args.lengths) for scale in SCALES}
    results = {
        "lengths": args.lengths, "batch": args.batch, "repeats": args.repeats,
        "depth": DEPTH, "machine": machine(), "commit": commit(),
        "fps": fps, "over_cvit": ratios(fps),
        "memory_settings": {scale: {k: str(v) if k == "dtype" else v for k, v in s.items()}
                            for scale, s in SCALES.items()},
        "memory_gib": mem,
        "trecvit_scan_state_gib_by_hand": {
            scale: [round(scan_state_gib(scale, t), 4) for t in args.lengths] for scale in SCALES},
        "seconds": {"speed": round(timed), "memory": round(time.perf_counter() - started - timed)},
        "load_average": {"before": load_before, "after": load_average()},
    }
    for mode, rows in results["over_cvit"].items():
        for label, row in rows.items():
            print(f"{mode:<9} {label:<18} x CViT's frames/s at T = {args.lengths}: {row}")
    save("recurrences", results)
    plot(results, RESULTS / "recurrences.png")


def plot(results: dict, path) -> None:
    lengths = results["lengths"]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    panels = [(axes[0, 0], "fps", "train", "frames per second",
               f"training, mini scale, batch {results['batch']}, fp32"),
              (axes[0, 1], "fps", "inference", "frames per second",
               f"inference, mini scale, batch {results['batch']}, fp32"),
              (axes[1, 0], "paper", "training", "estimated peak memory (GiB)",
               "training, paper scale, batch 2, bf16"),
              (axes[1, 1], "paper", "inference", "estimated peak memory (GiB)",
               "inference, paper scale, batch 8, bf16")]
    for ax, source, part, ylabel, title in panels:
        rows = results["fps"][part] if source == "fps" else results["memory_gib"]["paper"][part]
        for label, row in rows.items():
            ax.plot(lengths, row, ":s" if "streaming" in label else "o-", label=label)
        if source == "paper" and part == "training":
            ax.plot(lengths, results["trecvit_scan_state_gib_by_hand"]["paper"], "--", color="gray",
                    label="of which TRecViT's scan keeps\n2 log2 T copies of its states")
        ax.set_xscale("log", base=2)
        if source != "fps":
            ax.set_yscale("log")
        ax.set_ylim(bottom=0 if source == "fps" else None)
        ax.set_xticks(lengths, [str(t) for t in lengths])
        ax.set_xlabel("clip length T (frames)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(fontsize=8)
    depth, load = results["depth"], results["load_average"]
    fig.suptitle(f"TRecViT, RViT and CViT of {depth['mini']} (mini) and {depth['paper']} (paper) "
                 f"layers; memory estimated (rm.memory.estimate_peak)\nframes/s measured "
                 f"round-robin on {results['machine']}, load average {load['before'][0]} to "
                 f"{load['after'][0]}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
