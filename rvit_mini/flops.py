"""Floating-point operations per frame, counted by torch's FlopCounterMode on the meta device."""

import torch
from torch.utils.flop_counter import FlopCounterMode

from .models import CViT, RViT, VideoTransformer
from .registry import build_model


def flops_per_frame(model: VideoTransformer) -> int:
    """Forward FLOPs (multiply-add = 2) to process one frame; for CViT, a full clip / num_frames.

    Counted without computing: the model is copied to the meta device.
    """
    cfg = model.cfg
    meta = build_model(cfg).to("meta") if next(model.parameters()).device.type != "meta" else model
    frames = 1 if not isinstance(model, CViT) else cfg.num_frames
    video = torch.empty(1, frames, cfg.in_chans, cfg.img_size, cfg.img_size, device="meta")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        if isinstance(meta, RViT):
            meta.step(video[:, 0], meta.init_state(1, "meta"))
        else:
            meta.forward_features(video)
    return counter.get_total_flops() // frames
