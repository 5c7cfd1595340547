"""Step time and peak memory of frame checkpointing at paper scale, measured on a GPU.

    python benchmarks/frame_checkpoint.py

RViT-XL (ViT-B/16 width, 12 layers), 224x224, batch 2, 32 frames, bf16 autocast, one training
step with and without `frame_checkpoint=True`. Prints the two and their ratio.
"""

import torch
import torch.nn.functional as F
from common import machine, seconds

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
    step_time = {}
    for ckpt in (False, True):
        model = rm.accelerate(rm.create_model("rvit_xl", scale="paper"),
                              frame_checkpoint=ckpt).cuda()
        step = training_step(model, video, target)
        step_time[ckpt] = seconds(step, 5, torch.cuda.synchronize)
        torch.cuda.reset_peak_memory_stats()
        step()
        print(f"frame_checkpoint={ckpt}: {step_time[ckpt] * 1e3:.1f} ms, "
              f"peak {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
        del model, step
        torch.cuda.empty_cache()
    print(f"frame checkpointing step-time ratio (RViT-XL, batch 2, T=32, bf16): "
          f"{step_time[True] / step_time[False]:.3f}")
    print(machine())


if __name__ == "__main__":
    main()
