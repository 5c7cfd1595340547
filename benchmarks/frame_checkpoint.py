"""Step time and peak memory of frame checkpointing at paper scale, measured on a GPU.

    python benchmarks/frame_checkpoint.py

RViT-XL (ViT-B/16 width, 12 layers), 224x224, batch 2, 32 frames, bf16 autocast, one training
step with and without `frame_checkpoint=True`. Prints the two and their ratio, and writes them
to rvit_mini/results/frame_checkpoint.json.
"""

import torch
import torch.nn.functional as F
from common import machine, save, seconds

import rvit_mini as rm


def training_step(model, video, target):
    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(video)
        F.cross_entropy(logits.float(), target).backward()
        model.zero_grad(set_to_none=True)
    return step


def main() -> None:
    if not torch.cuda.is_available():
        raise SystemExit("this benchmark measures a GPU; on a CPU, benchmarks/memory.py times "
                         "frame checkpointing at mini scale")
    video = torch.rand(2, 32, 3, 224, 224, device="cuda")
    target = torch.zeros(2, dtype=torch.long, device="cuda")
    step_time, peak = {}, {}
    for ckpt in (False, True):
        model = rm.accelerate(rm.create_model("rvit_xl", scale="paper"),
                              frame_checkpoint=ckpt).cuda()
        step = training_step(model, video, target)
        step_time[ckpt] = seconds(step, 5, torch.cuda.synchronize)
        torch.cuda.reset_peak_memory_stats()
        step()
        peak[ckpt] = torch.cuda.max_memory_allocated() / 2**30
        print(f"frame_checkpoint={ckpt}: {step_time[ckpt] * 1e3:.1f} ms, peak {peak[ckpt]:.2f} GiB")
        del model, step
        torch.cuda.empty_cache()
    print(f"frame checkpointing step-time ratio (RViT-XL, batch 2, T=32, bf16): "
          f"{step_time[True] / step_time[False]:.3f}")
    print(machine())
    save("frame_checkpoint", {
        "what": "RViT-XL, batch 2, 32 frames, bf16",
        "step_ms": {"plain": round(step_time[False] * 1e3, 1),
                    "frame_checkpoint": round(step_time[True] * 1e3, 1)},
        "peak_gib": {"plain": round(peak[False], 2), "frame_checkpoint": round(peak[True], 2)},
        "ratio": round(step_time[True] / step_time[False], 3)})


if __name__ == "__main__":
    main()
