"""Frames per second of RViT (each execution mode) and CViT against clip length, and the image
ViT's (run eagerly) as the reference for streaming; training and inference, in one run.

    python benchmarks/speed.py                  # mini models on this machine (CPU or GPU)
    python benchmarks/speed.py --scale paper    # ViT-B/16 width, 224x224, bf16 (for a GPU)
    python benchmarks/speed.py --scale paper --batch 2 --lengths 32 --whole-clip

Writes rvit_mini/results/speed_<scale>_batch<B>.json and .png.
"""

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from common import RESULTS, machine, save, seconds_each  # noqa: E402

import rvit_mini as rm  # noqa: E402
from rvit_mini.execution.timing import clip_run  # noqa: E402

# label -> (model, rm.accelerate options, modes); CUDA graphs replay the step in inference only
VIDEO_MODELS = {
    "RViT-XL, sequential": ("rvit_xl", {}, ("train", "inference")),
    "RViT-XL, wavefront": ("rvit_xl", {"execution": "wavefront"}, ("train", "inference")),
    "RViT-XL, compiled step": ("rvit_xl", {"compile": True}, ("train", "inference")),
    "RViT-XL, compiled wavefront": ("rvit_xl", {"execution": "wavefront", "compile": True},
                                    ("train", "inference")),
    "RViT-XL, CUDA graphs": ("rvit_xl", {"cuda_graphs": True}, ("inference",)),
    "CViT (joint)": ("cvit", {}, ("train", "inference")),
}
# torch.compile of the whole model, fullgraph: the clip's T + L - 1 diagonals unrolled into one
# graph (one per clip length and mode, minutes to compile), so only with --whole-clip; on a GPU
# with mode="reduce-overhead", which replays forward and backward as CUDA graphs
WHOLE_CLIP = {"RViT-XL, whole clip compiled": ("rvit_xl", {"execution": "wavefront"},
                                               ("train", "inference"))}
# streamed label -> the clip model above whose step it streams through
STREAMING = {"RViT-XL, streaming": "RViT-XL, sequential",
             "RViT-XL, streaming, CUDA graphs": "RViT-XL, CUDA graphs"}


def autocast(device, dtype):
    return torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)


def streaming_run(model, video, dtype):
    """The clip's frames fed one at a time to a StreamingClassifier."""
    def run():
        stream = rm.StreamingClassifier(model)
        with autocast(video.device, dtype):
            for t in range(video.shape[1]):
                stream.update(video[:, t])
    return run


def image_run(model, images, dtype):
    def run():
        with torch.no_grad(), autocast(images.device, dtype):
            model.eval().forward_image(images)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=["mini", "paper"], default="mini")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lengths", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--whole-clip", action="store_true",
                        help="also time torch.compile of the whole wavefront model (slow to compile)")
    parser.add_argument("--plot-only", metavar="JSON", help="redraw the plot of a results file")
    args = parser.parse_args()
    if args.plot_only:
        return plot(json.loads(Path(args.plot_only).read_text()),
                    Path(args.plot_only).with_suffix(".png"))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    variants = {**VIDEO_MODELS, **(WHOLE_CLIP if args.whole_clip else {})}
    def video_model(name, options):
        clip = {"num_frames": max(args.lengths)} if name.startswith("cvit") else {}
        return rm.accelerate(rm.create_model(name, scale=args.scale, **clip), **options)

    models = {label: video_model(name, options).to(device)
              for label, (name, options, _) in variants.items()
              if device.type == "cuda" or not options.get("cuda_graphs")}
    for label in WHOLE_CLIP.keys() & models.keys():
        models[label] = torch.compile(models[label], fullgraph=True,
                                      mode="reduce-overhead" if device.type == "cuda" else None)
    vit = rm.create_model("vit", scale=args.scale).to(device)
    size = vit.cfg.img_size
    images = torch.rand(args.batch, 3, size, size, device=device)
    fps = {}
    for mode in ("train", "inference"):
        for t in args.lengths:
            video = torch.rand(args.batch, t, 3, size, size, device=device)
            runs = {f"{label}, {mode}": clip_run(model, video, mode == "train", dtype)
                    for label, model in models.items() if mode in variants[label][2]}
            if mode == "inference":
                runs.update({label: streaming_run(models[clip], video, dtype)
                             for label, clip in STREAMING.items() if clip in models})
                runs["image ViT"] = image_run(vit, images, dtype)
            for label, s in seconds_each(runs, args.repeats, sync).items():
                frames = args.batch if label == "image ViT" else args.batch * t
                fps.setdefault(label, []).append(round(frames / s, 1))
                print(f"{mode}, T = {t:<3} {label:<40} {fps[label][-1]:>9.1f} frames/s", flush=True)
    image_fps = fps["image ViT"]  # measured beside the inference runs at every length
    results = {"scale": args.scale, "batch": args.batch, "lengths": args.lengths,
               "dtype": str(dtype), "machine": machine(),
               "image_vit_fps": round(sorted(image_fps)[len(image_fps) // 2], 1), "fps": fps}
    t_ref = 32 if 32 in args.lengths else args.lengths[-1]
    i = args.lengths.index(t_ref)
    results["summary"] = {
        f"rvit_train_over_cvit_at_T{t_ref}": {
            label.split(", ")[1]: round(row[i] / fps["CViT (joint), train"][i], 3)
            for label, row in fps.items() if label.startswith("RViT-XL, ")
            and label.endswith(", train")},
        f"streaming_over_image_vit_at_T{t_ref}": {
            label: round(fps[label][i] / image_fps[i], 3) for label in STREAMING if label in fps},
        "wavefront_over_sequential": {
            mode: [round(w / s, 3) for w, s in zip(fps[f"RViT-XL, wavefront, {mode}"],
                                                   fps[f"RViT-XL, sequential, {mode}"])]
            for mode in ("train", "inference")},
    }
    for key, value in results["summary"].items():
        print(f"{key:<36} {value}")
    name = f"speed_{args.scale}_batch{args.batch}"
    save(name, results)
    plot(results, RESULTS / f"{name}.png")


def plot(results: dict, path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, mode in zip(axes, ("train", "inference")):
        for label, row in results["fps"].items():
            if label.endswith(", " + mode):
                ax.plot(results["lengths"], row, "o-", label=label.rsplit(",", 1)[0])
            elif mode == "inference" and "streaming" in label:
                ax.plot(results["lengths"], row, "s:", label=label)
        if mode == "inference":
            ax.axhline(results["image_vit_fps"], color="gray", ls="--", label="image ViT, eager")
        ax.set_xscale("log", base=2)
        ax.set_xticks(results["lengths"], [str(t) for t in results["lengths"]])
        ax.set_xlabel("clip length T (frames)")
        ax.set_ylabel("frames per second")
        ax.set_title(f"{mode}, batch {results['batch']}, {results['scale']} scale")
        ax.legend(fontsize=8)
    fig.suptitle(results["machine"], fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
