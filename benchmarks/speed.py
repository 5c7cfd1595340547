"""Frames per second of RViT (each execution mode) and CViT against clip length, with the image
ViT's throughput as the ceiling for streaming; training and inference, in one run.

    python benchmarks/speed.py                  # mini models on this machine (CPU or GPU)
    python benchmarks/speed.py --scale paper    # ViT-B/16 width, 224x224, bf16 (for a GPU)

Writes results/speed_<scale>.json and results/speed_<scale>.png.
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import RESULTS, machine, save, seconds  # noqa: E402

import rvit_mini as rm  # noqa: E402

# label -> (model, config overrides)
VIDEO_MODELS = {
    "RViT-XL, sequential": ("rvit_xl", {}),
    "RViT-XL, wavefront": ("rvit_xl", {"execution": "wavefront"}),
    "RViT-XL, compiled step": ("rvit_xl", {"compile": True}),
    "CViT (joint)": ("cvit", {}),
}


def video_fps(model, batch, t, train, device, dtype, repeats, sync) -> float:
    video = torch.rand(batch, t, 3, model.cfg.img_size, model.cfg.img_size, device=device)
    target = torch.zeros(batch, dtype=torch.long, device=device)

    def run():
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32), \
                torch.set_grad_enabled(train):
            logits = model(video)
        if train:
            F.cross_entropy(logits.float(), target).backward()
            model.zero_grad(set_to_none=True)
    return batch * t / seconds(run, repeats, sync)


def streaming_fps(model, batch, t, device, dtype, repeats, sync) -> float:
    frames = torch.rand(t, batch, 3, model.cfg.img_size, model.cfg.img_size, device=device)

    def run():
        stream = rm.StreamingClassifier(model)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            for frame in frames:
                stream.update(frame)
    return batch * t / seconds(run, repeats, sync)


def image_fps(model, batch, device, dtype, repeats, sync) -> float:
    images = torch.rand(batch, 3, model.cfg.img_size, model.cfg.img_size, device=device)

    def run():
        with torch.no_grad(), torch.autocast(device.type, dtype=dtype,
                                             enabled=dtype != torch.float32):
            model.forward_image(images)
    return batch / seconds(run, repeats, sync)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=["mini", "paper"], default="mini")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lengths", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.manual_seed(0)

    def build(name, **overrides):
        model = rm.create_model(name, scale=args.scale, num_frames=max(args.lengths), **overrides)
        return model.to(device)

    results = {"scale": args.scale, "batch": args.batch, "lengths": args.lengths,
               "dtype": str(dtype), "machine": machine(), "fps": {}}
    vit = build("vit").eval()
    results["image_vit_fps"] = round(image_fps(vit, args.batch, device, dtype, args.repeats, sync), 1)
    print(f"image ViT: {results['image_vit_fps']:.1f} frames/s", flush=True)
    for label, (name, overrides) in VIDEO_MODELS.items():
        model = build(name, **overrides)
        for mode in ("train", "inference"):
            model.train(mode == "train")
            row = [round(video_fps(model, args.batch, t, mode == "train", device, dtype,
                                   args.repeats, sync), 1) for t in args.lengths]
            results["fps"][f"{label}, {mode}"] = row
            print(f"{label + ', ' + mode:<34}" + "".join(f"{x:>10.1f}" for x in row), flush=True)
    rvit = build("rvit_xl").eval()
    row = [round(streaming_fps(rvit, args.batch, t, device, dtype, args.repeats, sync), 1)
           for t in args.lengths]
    results["fps"]["RViT-XL, streaming"] = row
    fps, i32 = results["fps"], args.lengths.index(32) if 32 in args.lengths else -1
    results["summary"] = {
        "rvit_train_over_cvit_at_T": {
            mode: round(fps[f"RViT-XL, {mode}, train"][i32] / fps["CViT (joint), train"][i32], 3)
            for mode in ("sequential", "wavefront", "compiled step")},
        "streaming_over_image_vit": round(row[-1] / results["image_vit_fps"], 3),
        "wavefront_over_sequential_inference": round(
            fps["RViT-XL, wavefront, inference"][i32] / fps["RViT-XL, sequential, inference"][i32], 3),
    }
    for key, value in results["summary"].items():
        print(f"{key:<40} {value}")
    save(f"speed_{args.scale}", results)
    plot(results, RESULTS / f"speed_{args.scale}.png")


def plot(results: dict, path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, mode in zip(axes, ("train", "inference")):
        for label, row in results["fps"].items():
            if label.endswith(mode) or (mode == "inference" and label.endswith("streaming")):
                ax.plot(results["lengths"], row, "o-", label=label.rsplit(",", 1)[0]
                        if label.endswith(mode) else label)
        if mode == "inference":
            ax.axhline(results["image_vit_fps"], color="gray", ls="--", label="image ViT (ceiling)")
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
