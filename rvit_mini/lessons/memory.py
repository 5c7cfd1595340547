"""Notebook 03, memory: RViT against CViT: its playground (estimated peak memory along T)."""

import functools

import numpy as np
import torch
from matplotlib.figure import Figure

from ..execution import accelerate
from ..execution.memory import GiB, estimate_peak
from ..model import create_model
from .widgets import checkbox, dropdown, figure, slider
from .widgets import playground as make_playground

SCALES = {"mini (32 px, patch 8)": "mini", "paper (224 px, patch 16)": "paper"}
LONGEST = 128  # frames: the longest clip drawn, and the CViT's time embeddings
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
HEADS = {64: 4, 192: 3, 384: 6, 768: 12}  # the mini width's heads; DeiT-Ti, -S and ViT-B's


SHORT = (4, 6)  # the two clip lengths estimated; the line runs from the first


@functools.cache
def peak_line(name: str, scale: str, depth: int, dim: int, batch: int, dtype: str,
              train: bool, frame_checkpoint: bool) -> tuple[float, float]:
    """estimate_peak (bytes) of a model at T = SHORT[0] and its growth per frame after that:
    from a few frames on, every frame adds the same activations, so the peak is affine in T
    and two short clips give the whole line. A CViT is built for the longest clip."""
    extra = {"num_frames": LONGEST} if name == "cvit" else {}
    with torch.device("meta"):
        model = create_model(name, scale, depth=depth, dim=dim, num_heads=HEADS[dim], **extra)
    if frame_checkpoint and name != "cvit":
        model = accelerate(model, frame_checkpoint=True)
    side = model.cfg.img_size
    lo, hi = (estimate_peak(model, (batch, t, 3, side, side), train=train, dtype=DTYPES[dtype])
              for t in SHORT)
    return float(lo), (hi - lo) / (SHORT[1] - SHORT[0])


def memory_curve(name, lengths, **setting) -> np.ndarray:
    """Estimated peak GiB at each clip length (>= SHORT[0])."""
    start, per_frame = peak_line(name, **setting)
    return (start + per_frame * (np.asarray(lengths) - SHORT[0])) / GiB


def draw_memory(setting: str = "mini (32 px, patch 8)", frames: int = 32, batch: int = 8, depth: int = 3,
                width: int = 64, dtype: str = "fp32", train: bool = False,
                frame_checkpoint: bool = False) -> Figure:
    scale = SCALES[setting]
    common = dict(scale=scale, depth=depth, dim=width, batch=batch, dtype=dtype, train=train)
    lengths = np.arange(SHORT[0], LONGEST + 1)
    rvit = memory_curve("rvit", lengths, frame_checkpoint=frame_checkpoint, **common)
    cvit = memory_curve("cvit", lengths, frame_checkpoint=False, **common)
    fig = figure(7.5, 3.4)
    ax = fig.subplots()
    ax.plot(lengths, cvit, label="CViT (joint space-time)")
    ax.plot(lengths, rvit, label="RViT" + (", frame checkpointing" if frame_checkpoint else ""))
    at = frames - SHORT[0]
    for curve, colour in ((cvit, "C0"), (rvit, "C1")):
        ax.plot(frames, curve[at], "o", color=colour)
        ax.annotate(f"{curve[at]:.3g} GiB", (frames, curve[at]), xytext=(6, -4),
                    textcoords="offset points", fontsize=9, color=colour)
    ax.set_xlabel("clip length T (frames)")
    ax.set_ylabel("estimated peak memory (GiB)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{scale} scale, {depth} layers, width {width}, batch {batch}, {dtype}, "
                 f"{'training' if train else 'inference'}: CViT / RViT at T={frames} = "
                 f"{cvit[at] / rvit[at]:.2f}", fontsize=9)
    ax.legend(loc="upper left", fontsize=9)
    return fig


def playground(live=None):
    """03: choose T, the batch, depth, width, dtype, training and frame checkpointing, at mini
    or paper scale: rm.memory.estimate_peak's figure for CViT and RViT, along all T."""
    return make_playground("memory", draw_memory, {
        "frames": slider("T", SHORT[0], LONGEST), "batch": slider("batch", 1, 32),
        "depth": slider("depth", 1, 12), "width": dropdown("width", list(HEADS)),
        "setting": dropdown("scale", list(SCALES)), "dtype": dropdown("dtype", list(DTYPES)),
        "train": checkbox("training"), "frame_checkpoint": checkbox("frame checkpointing")},
        live)
