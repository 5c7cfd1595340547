"""Peak memory against clip length at paper scale (ViT-B/16 width, 224x224, bf16): RViT vs CViT.

    python benchmarks/memory.py            # estimated on the CPU in a few minutes
    python benchmarks/memory.py --quick    # T = 8, 32, 128 only

Estimated with `rvit_mini.memory.estimate_peak` on every machine; on a CUDA machine the same
runs are also measured with `measure_peak`. Writes rvit_mini/results/memory.json and memory.png.
The step-time cost of frame checkpointing is timed for real at mini scale on this machine.
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import RESULTS, machine, save, seconds  # noqa: E402

import rvit_mini as rm  # noqa: E402
from rvit_mini.execution.memory import GiB, estimate_peak, measure_peak  # noqa: E402

SHAPE = (3, 224, 224)
# label -> (model, rm.accelerate options, estimate_peak options)
BF16_WEIGHTS = {"weights_dtype": torch.bfloat16}
INFERENCE = {  # batch 8; fp32 weights under bf16 autocast, or weights stored in bf16
    "CViT (joint)": ("cvit", {}, {}),
    "CViT (divided)": ("cvit_divided", {}, {}),
    "RViT-XL, whole clip": ("rvit_xl", {}, {}),
    "RViT-XL, streaming": ("rvit_xl", {}, {"streaming": True}),
    "CViT (joint), bf16 weights": ("cvit", {}, BF16_WEIGHTS),
    "RViT-XL, streaming, bf16 weights": ("rvit_xl", {}, {"streaming": True, **BF16_WEIGHTS}),
}
TRAINING = {  # batch 2
    "CViT (joint)": ("cvit", {}, {}),
    "CViT (divided)": ("cvit_divided", {}, {}),
    "RViT-XL": ("rvit_xl", {}, {}),
    "RViT-XL, frame checkpointing": ("rvit_xl", {"frame_checkpoint": True}, {}),
}


def peaks(runs: dict, lengths, batch: int, train: bool, measure: bool) -> dict:
    """{label: {"estimated": [GiB per T], "measured": [...]}}."""
    out = {}
    for label, (name, run_options, options) in runs.items():
        row = {"estimated": [], "measured": []}
        for t in lengths:
            cfg = {"num_frames": max(t, 32)} if name.startswith("cvit") else {}
            with torch.device("meta"):
                model = rm.accelerate(rm.create_model(name, scale="paper", **cfg), **run_options)
            args = ((batch, t, *SHAPE), train, torch.bfloat16)
            row["estimated"].append(estimate_peak(model, *args, **options) / GiB)
            if measure:
                model = rm.accelerate(rm.create_model(name, scale="paper", **cfg), **run_options)
                row["measured"].append(measure_peak(model, *args, **options) / GiB)
            print(f"{label:<30} T={t:<4} " + "  ".join(
                f"{k} {v[-1]:6.2f} GiB" for k, v in row.items() if v), flush=True)
        out[label] = {k: [round(x, 3) for x in v] for k, v in row.items() if v}
    return out


def step_seconds(frame_checkpoint: bool, repeats: int = 5) -> float:
    """Median seconds of one training step of the mini RViT, batch 8, 32 frames, on this machine."""
    torch.manual_seed(0)
    model = rm.accelerate(rm.create_model("rvit"), frame_checkpoint=frame_checkpoint)
    video, target = torch.rand(8, 32, 3, 32, 32), torch.randint(0, 9, (8,))
    return seconds(lambda: F.cross_entropy(model(video), target).backward(), repeats)


def plot(results: dict, path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (key, title) in zip(axes, [("inference", "inference, batch 8"),
                                       ("training", "training, batch 2")]):
        lengths = results["lengths"]
        for label, row in results[key].items():
            line, = ax.plot(lengths, row["estimated"], "o-", label=label)
            if "measured" in row:
                ax.plot(lengths, row["measured"], "x--", color=line.get_color())
        ax.set_xscale("log", base=2)
        ax.set_xticks(lengths, [str(t) for t in lengths])
        ax.set_xlabel("clip length T (frames)")
        ax.set_ylabel("peak memory (GiB)")
        ax.set_title(f"{title} (o estimated{', x measured' if 'measured' in row else ''})")
        ax.legend(fontsize=8)
    fig.suptitle(f"ViT-B/16 width, 224x224, bf16 - {results['machine']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    lengths = [8, 32, 128] if args.quick else [8, 16, 32, 64, 128]
    measure = torch.cuda.is_available()
    results = {"lengths": lengths, "machine": machine(),
               "inference": peaks(INFERENCE, lengths, 8, False, measure),
               "training": peaks(TRAINING, lengths, 2, True, measure)}
    plain, ckpt = step_seconds(False), step_seconds(True)
    results["frame_checkpoint_step_time"] = {
        "what": "mini RViT (3 layers), batch 8, 32 frames, one training step",
        "plain_s": round(plain, 4), "checkpointed_s": round(ckpt, 4), "ratio": round(ckpt / plain, 3)}
    inf, tr = results["inference"], results["training"]
    i32 = lengths.index(32)
    results["summary"] = {
        "cvit_over_rvit_streaming_T128": round(inf["CViT (joint)"]["estimated"][-1]
                                               / inf["RViT-XL, streaming"]["estimated"][-1], 2),
        "cvit_over_rvit_streaming_T128_bf16_weights": round(
            inf["CViT (joint), bf16 weights"]["estimated"][-1]
            / inf["RViT-XL, streaming, bf16 weights"]["estimated"][-1], 2),
        "rvit_streaming_T128_over_T8": round(inf["RViT-XL, streaming"]["estimated"][-1]
                                             / inf["RViT-XL, streaming"]["estimated"][0], 3),
        "rvit_ckpt_over_cvit_train_T32": round(tr["RViT-XL, frame checkpointing"]["estimated"][i32]
                                               / tr["CViT (joint)"]["estimated"][i32], 3),
        "frame_checkpoint_step_time_ratio": round(ckpt / plain, 3),
    }
    for key, value in results["summary"].items():
        print(f"{key:<36} {value}")
    save("memory", results)
    plot(results, RESULTS / "memory.png")


if __name__ == "__main__":
    main()
